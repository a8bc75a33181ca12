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

describe('Content-Security-Policy', () => {
  it('API answers may be nothing but data: no framing, no loading', async () => {
    for (const res of [
      await post({ authorization: `Bearer ${server.adminToken}` }, '{"query":"{ viewer { kind } }"}'),
      await post({}, '{"query":"{ viewer { kind } }"}'),
      await fetch(`${server.graphqlUrl}?query=%7B__typename%7D`, { headers: { authorization: `Bearer ${server.adminToken}` } }),
    ]) {
      await res.arrayBuffer();
      expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    }
  });

  it('the GraphiQL page loads from this server only, and runs no inline script and no eval', async () => {
    const res = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    await res.arrayBuffer();
    const policy = Object.fromEntries(
      res.headers
        .get('content-security-policy')!
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values.join(' ')]),
    );
    expect(policy).toMatchObject({
      'default-src': "'none'",
      'script-src': "'self'",
      'connect-src': "'self'",
      'worker-src': "'self'",
      'font-src': "'self' data:",
      'img-src': "'self' data:",
      'base-uri': "'none'",
      'form-action': "'none'",
      'frame-ancestors': "'none'",
    });
    // The editor styles its lines inline; styles can load nothing from elsewhere (above).
    expect(policy['style-src']).toBe("'self' 'unsafe-inline'");
    expect(res.headers.get('cache-control')).toBe('no-store');
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
