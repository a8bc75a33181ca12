/**
 * A body near the 2 MB limit costs about what reading and parsing it costs, for anyone: it
 * reaches Yoga's Node adapter before any token is checked. The adapter decides whether it was
 * handed a body with Object.keys(body): for a Buffer, a string per byte (about 200 ms of one
 * thread and 70 MB of garbage for 2 MB), so twenty anonymous requests stopped the server for
 * seconds. Measured here as the longest the event loop stays blocked.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const nearLimit = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(2 * 1024 * 1024 - 100) } });

describe('a body near the limit', () => {
  it('is answered without blocking the server for longer than parsing it takes', async () => {
    // Warm up (JIT, the first request's lazy work), then measure only the big bodies.
    for (let i = 0; i < 2; i++) await fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: nearLimit });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    for (let i = 0; i < 5; i++) {
      const res = await fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: nearLimit });
      expect(res.status).toBe(401); // anonymous: refused, but only after the body was handed over
      await res.text();
    }
    delay.disable();
    // JSON.parse of 2 MB is some 10 ms here; Object.keys of it was 150–250 ms.
    expect(delay.max / 1e6).toBeLessThan(100);
  });

  it('is still GraphQL: the same body with a token is answered', async () => {
    const res = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` },
      body: nearLimit,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('an empty body is a 400, with a JSON content type or none that Yoga reads', async () => {
    const post = (contentType: string) =>
      fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${server.adminToken}` }, body: '' });
    const json = await post('application/json');
    expect(json.status).toBe(400);
    expect((await json.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
    const multipart = await post('multipart/form-data; boundary=x');
    expect(multipart.status).toBe(400);
  });
});
