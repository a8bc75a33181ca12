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

describe('graphql-armor: depth, aliases and cost', () => {
  const ask = async (query: string) => (await (await post(JSON.stringify({ query }), server.adminToken)).json()) as { errors?: { message: string }[] };
  /** `levels` fields nested in one another (namespace → members → edges → node → user → memberships → …), the last a scalar. */
  const nested = (levels: number) => {
    const cycle = ['members(first: 1)', 'edges', 'node', 'user', 'memberships(first: 1)', 'edges', 'node', 'namespace'];
    const path = ['namespace(name: "deep")', ...Array.from({ length: levels - 2 }, (_, i) => cycle[i % cycle.length])];
    return `{ ${path.map((field) => `${field} { `).join('')}__typename${' }'.repeat(path.length)} }`;
  };

  it('12 levels are answered; a 13th is refused', async () => {
    expect((await ask(nested(12))).errors).toBeUndefined();
    expect((await ask(nested(13))).errors?.[0].message).toMatch(/Query depth limit of 12 exceeded/);
  });

  it('20 aliases are answered; 21 are refused', async () => {
    const aliases = (n: number) => `{ viewer { ${Array.from({ length: n }, (_, i) => `a${i}: kind`).join(' ')} } }`;
    expect((await ask(aliases(20))).errors).toBeUndefined();
    expect((await ask(aliases(21))).errors?.[0].message).toMatch(/aliases/i);
  });

  it('a page of 100 credentials with their registries is answered; 100 namespaces with 100 credentials each is refused by cost', async () => {
    const dashboard = (registries: string) => `{ namespace(name: "nothing-here") { credentials(first: 100) { edges { node { name type
      ... on RegistryCredential { username ${registries} { edges { node { name url kind } } } } } } } } }`;
    expect((await ask(dashboard('registries(first: 10)'))).errors).toBeUndefined();
    // Asked without a page, each gives 20 at most: counted so, and still answered.
    expect((await ask(dashboard('registries'))).errors).toBeUndefined();
    const wide = '{ namespaces(first: 100) { edges { node { name credentials(first: 100) { edges { node { name type } } } } } } }';
    expect((await ask(wide)).errors?.[0].message).toMatch(/Cost limit of 400000 exceeded/);
  });

  it('the same page sizes passed as variables are counted as large as they may be', async () => {
    const askWith = async (query: string, variables: Record<string, unknown>) =>
      (await (await post(JSON.stringify({ query, variables }), server.adminToken)).json()) as { errors?: { message: string }[] };
    const wide = 'query($n: Int, $m: Int) { namespaces(first: $n) { edges { node { name credentials(last: $m) { edges { node { name type } } } } } } }';
    expect((await askWith(wide, { n: 100, m: 100 })).errors?.[0].message).toMatch(/Cost limit of 400000 exceeded, found 549725/);
    // Pages not asked for count as the default 20 each: three levels of them are 8,000 objects.
    const defaults = '{ namespaces { edges { node { name credentials { edges { node { name ... on RegistryCredential { registries { edges { node { name url } } } } } } } } } } }';
    expect((await askWith(defaults, {})).errors?.[0].message).toMatch(/Cost limit of 400000 exceeded/);
    // What is small stays answered: a variable page of a flat list.
    expect((await askWith('query($n: Int) { namespaces(first: $n) { edges { node { name } } } }', { n: 100 })).errors).toBeUndefined();
  });
});
