/**
 * What every response carries (probes, refusals and GraphQL answers alike), and CORS that
 * answers only the origins it lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

const APP = 'https://app.example.com';
const ADMIN_APP = 'https://admin.example.com';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SCOPEGATE_CORS_ORIGINS: `${APP},${ADMIN_APP}` });
});
afterAll(() => server?.close());

const post = (headers: Record<string, string>, body: string) =>
  fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('security headers on every response', () => {
  const cases: [string, () => Promise<Response>][] = [
    ['a probe', () => fetch(`${server.url}/healthz`)],
    ['a 401', () => post({ authorization: 'Bearer sgt_not-a-token' }, '{"query":"{ viewer { kind } }"}')],
    ['a GraphQL answer', () => post({ authorization: `Bearer ${server.adminToken}` }, '{"query":"{ viewer { kind } }"}')],
    ['a 413', () => post({}, JSON.stringify({ query: `{ ${'a'.repeat(2.5 * 1024 * 1024)} }` }))],
    ['the GraphiQL page', () => fetch(server.graphqlUrl, { headers: { accept: 'text/html' } })],
  ];
  it.each(cases)('%s', async (_label, send) => {
    const res = await send();
    await res.arrayBuffer();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('CORS with two origins configured', () => {
  const query = '{"query":"{ __typename }"}';

  it.each([APP, ADMIN_APP])('answers the listed origin %s with itself', async (origin) => {
    const res = await post({ origin, authorization: `Bearer ${server.adminToken}` }, query);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it.each(['https://evil.example.com', 'null'])('gives an unlisted origin (%s) no Access-Control-Allow-Origin at all', async (origin) => {
    const res = await post({ origin, authorization: `Bearer ${server.adminToken}` }, query);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(server.graphqlUrl, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('a listed origin passes the preflight with the headers it may send', async () => {
    const preflight = await fetch(server.graphqlUrl, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-request-id');
  });
});

describe('the server\'s address', () => {
  it('sends a person to GraphiQL', async () => {
    const res = await fetch(`${server.url}/`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/graphql');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });
});
