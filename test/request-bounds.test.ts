/**
 * What one request can make the server do or say is bounded before any resolver runs: the
 * size of its variables, the nesting of its query, the length of every error message, and
 * what a malformed body or query string gets back (a 400, never a 500, never the body).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const post = (body: string, token?: string) =>
  fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });

const LOGIN = 'mutation($a: LoginInput!) { login(input: $a) { token } }';
const manyFields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 1]));

describe('bounded before execution', () => {
  it('an anonymous login with 170 000 variables is refused small, and the server keeps answering', async () => {
    const res = await post(JSON.stringify({ query: LOGIN, variables: { a: manyFields(170_000) } }));
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text.length).toBeLessThan(1000);
    expect(JSON.parse(text).errors[0]).toMatchObject({ message: expect.stringMatching(/^variables: more than \d+ values/), extensions: { code: 'BAD_USER_INPUT' } });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('error messages that quote a refused value are cut', async () => {
    const res = await post(JSON.stringify({ query: LOGIN, variables: { a: manyFields(1500) } }));
    const body = await res.json();
    expect(body.errors.length).toBeGreaterThan(0);
    for (const error of body.errors) expect(error.message.length).toBeLessThanOrEqual(1001);
    expect(JSON.stringify(body).length).toBeLessThan(60_000);
  });

  it('a query nested thousands deep is a bad request, not an internal error', async () => {
    const deep = `{${'viewer{'.repeat(2400)}kind${'}'.repeat(2401)}`;
    const body = await (await post(JSON.stringify({ query: deep }), server.adminToken)).json();
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0].message).toBe('query: nested too deeply to parse');
  });
});

describe('malformed requests get a 400 that does not quote them', () => {
  it('a body that is not JSON: its password is not echoed', async () => {
    const res = await post(`{"query": "${LOGIN}", "variables": {"a": {"username": "admin", "password": "hunter2-never-echoed"`);
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).not.toContain('hunter2-never-echoed');
    expect(JSON.parse(text).errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it.each(['variables=%7B', 'extensions=%5B'])('a GET with %s', async (param) => {
    const res = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}&${param}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});
