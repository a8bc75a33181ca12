/**
 * GraphiQL as the server serves it, without a browser (test/graphiql.browser.test.ts drives
 * one): the page names only this server's assets and runs no inline script, the assets come
 * with the right types, and the starter tab's steps work as the README says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_OPTIONS, STARTER_QUERY } from '../src/http/graphiql.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let html: string;
beforeAll(async () => {
  server = await startTestServer();
  html = await (await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } })).text();
});
afterAll(() => server?.close());

const assetUrls = () => [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);

describe('the GraphiQL page', () => {
  it('loads its script, styles, icon and workers from this server only', () => {
    const urls = [...assetUrls(), ...Object.values(JSON.parse(config()).workers as Record<string, string>)];
    expect(urls.length).toBe(7);
    for (const url of urls) expect(url).toMatch(/^\/graphiql\/[0-9a-f]{16}\/[a-z.]+$/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('runs no inline script: its configuration is a JSON data block', () => {
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(3);
    for (const attributes of scripts) expect(attributes).toMatch(/ src="\/graphiql\/|type="application\/json"/);
    expect(JSON.parse(config()).options).toEqual(GRAPHIQL_OPTIONS);
  });

  it('serves each asset with its type, to be kept (its URL changes with its content)', async () => {
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/, ico: /^image\/x-icon/ };
    for (const url of [...assetUrls(), ...Object.values(JSON.parse(config()).workers as Record<string, string>)]) {
      const res = await fetch(`${server.url}${url}`);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type'), url).toMatch(types[url.split('.').pop()!]);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  it('gzips an asset only for a browser that accepts gzip', async () => {
    const [url] = assetUrls().filter((u) => u.endsWith('/graphiql.css'));
    const encoding = async (acceptEncoding: string) => {
      // undici's fetch sends its own accept-encoding and decodes: ask with node:http instead.
      const { get } = await import('node:http');
      return new Promise<string | undefined>((resolve, reject) =>
        get(`${server.url}${url}`, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
          res.resume();
          resolve(res.headers['content-encoding']);
        }).on('error', reject),
      );
    };
    for (const accepted of ['gzip', 'br, gzip', 'gzip;q=0.5, br', 'GZIP']) expect(await encoding(accepted), accepted).toBe('gzip');
    for (const refused of ['identity', 'gzip;q=0', 'br, gzip; q=0.0', 'x-gzip-not', '']) expect(await encoding(refused), refused).toBeUndefined();
  });

  it('answers 404 for another version or a file it does not have', async () => {
    const [script] = assetUrls().filter((u) => u.endsWith('/graphiql.js'));
    for (const url of [script.replace(/[0-9a-f]{16}/, '0000000000000000'), script.replace('graphiql.js', 'nope.js'), `${script}/x`, '/graphiql/']) {
      const res = await fetch(`${server.url}${url}`);
      expect(res.status, url).toBe(404);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });
});

describe('the starter tab', () => {
  it('is the README\'s first steps, and they work with the administrator\'s token', async () => {
    expect(STARTER_QUERY).toMatch(/^# /);
    const run = async (operationName: string) => {
      const res = await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` },
        body: JSON.stringify({ query: STARTER_QUERY, operationName }),
      });
      return { status: res.status, body: await res.json() };
    };
    expect(await run('Viewer')).toEqual({ status: 200, body: { data: { viewer: { kind: 'PERSONAL_ACCESS_TOKEN', isAdmin: true } } } });
    const steps = await run('FirstSteps');
    expect(steps.body.errors).toBeUndefined();
    expect(steps.body.data.createNamespace).toEqual({ name: 'default', viewerRole: 'OWNER' });
    expect(steps.body.data.createApiToken.secret).toMatch(/^sgt_/);
  });

  it('asked without a token, gets 401 (anonymous callers may only log in)', async () => {
    const res = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer <paste your token>' },
      body: JSON.stringify({ query: STARTER_QUERY, operationName: 'Viewer' }),
    });
    expect(res.status).toBe(401);
    const anonymous = await server.gql('{ __schema { queryType { name } } }', undefined, null);
    expect(anonymous.status).toBe(401);
  });
});

/** The page's JSON data block. */
function config(): string {
  const match = /<script type="application\/json" id="graphiql-config">([^<]*)<\/script>/.exec(html);
  if (!match) throw new Error('no configuration block in the page');
  return match[1];
}
