import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EntryPoint, spawnEntryPoint } from './helpers/entry-point.js';
import { waitFor } from './helpers/wait.js';

/**
 * The real entry point as `npm start` runs it (`node --import tsx src/main.ts`), as a child
 * process: what an operator sees on the console, what the log carries, probes, request ids,
 * CORS, graceful shutdown and refusal of a bad configuration.
 */

const TOKEN = /sg[tps]_[0-9A-Za-z]{36}/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';

type Running = EntryPoint;
const spawnMain = (env: Record<string, string>): Running => spawnEntryPoint(env);

/** Starts the server and waits for the banner; returns its URL. */
async function startMain(env: Record<string, string>) {
  const running = spawnMain(env);
  let exited = false;
  void running.exit.then(() => (exited = true));
  const url = await waitFor('the listen banner', () => {
    if (exited) throw new Error(`main.ts exited early:\n${running.stderr()}\n${running.stdout()}`);
    return /scopegate is listening on (http:\/\/\S+)/.exec(running.stderr())?.[1];
  });
  // The banner is one write, but give a split pipe chunk a moment to land.
  await waitFor('the end of the banner', () => running.stderr().includes('GraphiQL:'));
  return { ...running, url };
}

async function stop(running: Running) {
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
  return running.exit;
}

const gql = async (url: string, query: string, variables: Record<string, unknown> = {}, token?: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
};

const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { token expiresAt user { username isAdmin } } }';

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-startup-'));
}

function baseEnv(dir: string): Record<string, string> {
  return {
    DATABASE_URL: path.join(dir, 'db.sqlite'),
    SCOPEGATE_DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    NODE_ENV: 'development',
    SCOPEGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  };
}

describe('first start, restart and graceful shutdown of src/main.ts', () => {
  const dir = tempDir();
  let first: Awaited<ReturnType<typeof startMain>>;
  let bootstrapToken: string;

  beforeAll(async () => {
    first = await startMain(baseEnv(dir));
  });
  afterAll(async () => {
    if (first) await stop(first);
  });

  it('prints where it listens, where GraphiQL is, and the first-start token exactly once, on stderr', () => {
    const banner = first.stderr();
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(first.url).port)).toBeGreaterThan(0);
    expect(banner).toContain(`scopegate is listening on ${first.url}`);
    expect(banner).toContain(`GraphiQL: ${first.url}/graphql`);
    const tokens = banner.match(TOKEN) ?? [];
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatch(/^sgp_/);
    bootstrapToken = tokens[0]!;
    expect(banner).not.toContain(ADMIN_PASSWORD);
  });

  it('serves GraphiQL with every asset it names, from the build npm start runs', async () => {
    const page = await fetch(`${first.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const config = JSON.parse(/<script[^>]* id="graphiql-config">([^<]*)<\/script>/.exec(html)![1]!);
    const assets = [...[...html.matchAll(/(?:src|href)="(\/graphiql\/[^"]+)"/g)].map((m) => m[1]!), ...Object.values(config.workers as Record<string, string>)];
    expect(assets.some((url) => url.endsWith('/start.js'))).toBe(true);
    for (const url of assets) expect((await fetch(`${first.url}${url}`)).status, url).toBe(200);
  });

  it('the printed token works and is the administrator\'s', async () => {
    const res = await gql(first.url, '{ viewer { kind isAdmin user { username } personalAccessToken { name admin } } }', {}, bootstrapToken);
    expect(res.status).toBe(200);
    expect(res.body.data.viewer).toEqual({
      kind: 'PERSONAL_ACCESS_TOKEN',
      isAdmin: true,
      user: { username: 'admin' },
      personalAccessToken: { name: 'bootstrap', admin: true },
    });
  });

  it('login works with SCOPEGATE_ADMIN_PASSWORD', async () => {
    const res = await gql(first.url, LOGIN, { input: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.login.token).toMatch(/^sgs_/);
    expect(res.body.data.login.user).toEqual({ username: 'admin', isAdmin: true });
    const wrong = await gql(first.url, LOGIN, { input: { username: 'admin', password: `${ADMIN_PASSWORD}-not` } });
    expect(wrong.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('answers /healthz and /readyz with 200 JSON', async () => {
    for (const [probe, status] of [['/healthz', 'ok'], ['/readyz', 'ready']]) {
      const res = await fetch(`${first.url}${probe}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ status });
    }
  });

  it('gives every response an x-request-id, echoing a well-formed one and replacing a malformed one', async () => {
    const responses = await Promise.all([
      fetch(`${first.url}/healthz`),
      fetch(`${first.url}/readyz`),
      fetch(`${first.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ viewer { kind } }"}' }),
      fetch(`${first.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' }),
      fetch(`${first.url}/graphql`, { headers: { accept: 'text/html' } }),
      fetch(`${first.url}/nowhere`),
    ]);
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 401, 400, 200, 404]);

    const echoed = await gql(first.url, '{ viewer { kind } }', {}, bootstrapToken, { 'x-request-id': 'ci-run-42.step_7' });
    expect(echoed.headers.get('x-request-id')).toBe('ci-run-42.step_7');
    for (const malformed of ['has spaces in it', 'x'.repeat(65), 'semi;colon', 'slash/char', '']) {
      const res = await fetch(`${first.url}/healthz`, { headers: { 'x-request-id': malformed } });
      const id = res.headers.get('x-request-id');
      expect(id).not.toBe(malformed);
      expect(id).toMatch(UUID);
    }
  });

  it('writes the request id into its log lines', async () => {
    const requestId = `trace-${Date.now()}`;
    const res = await gql(first.url, '{ viewer { kind } }', {}, bootstrapToken, { 'x-request-id': requestId });
    expect(res.status).toBe(200);
    const line = await waitFor('a log line with the request id', () =>
      first
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .find((entry) => entry.requestId === requestId),
    );
    expect(line).toMatchObject({ requestId, method: 'POST', path: '/graphql', status: 200 });
    // A refused token is logged with its request id too (and never the token).
    const failedId = `trace-fail-${Date.now()}`;
    const bad = 'sgt_' + 'A'.repeat(36);
    const refused = await gql(first.url, '{ viewer { kind } }', {}, bad, { 'x-request-id': failedId });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toBe(failedId);
    const failure = await waitFor('the log line of the refused request', () =>
      first
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .find((entry) => entry.requestId === failedId && entry.msg === 'request'),
    );
    expect(failure).toMatchObject({ status: 401, path: '/graphql' });
    expect(first.stdout()).not.toContain(bad);
  });

  it('serves the GraphiQL page for GET /graphql with Accept: text/html', async () => {
    const res = await fetch(`${first.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('<title>scopegate</title>');
    expect(html.toLowerCase()).toContain('graphiql');
  });

  it('without SCOPEGATE_CORS_ORIGINS it allows no cross-origin caller', async () => {
    const res = await fetch(`${first.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('on SIGTERM finishes the request in flight, stops accepting, and exits 0', async () => {
    const body = JSON.stringify({ query: LOGIN, variables: { input: { username: 'admin', password: ADMIN_PASSWORD } } });
    const { hostname, port } = new URL(first.url);
    const req = http.request({
      host: hostname,
      port,
      path: '/graphql',
      method: 'POST',
      agent: false,
      // Node's server answers "100 Continue" as it hands the request to its handler: our sign
      // that the server has it (and so will wait for it on SIGTERM), with no sleep.
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-request-id': 'in-flight-login',
        expect: '100-continue',
      },
    });
    const handling = new Promise<void>((resolve) => req.once('continue', () => resolve()));
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
    });
    // Headers and the start of the body; once it has said "continue", the server is handling
    // this request (waiting for the rest).
    req.write(body.slice(0, 20));
    await Promise.race([handling, response.then(() => Promise.reject(new Error('answered before the body was complete')))]);
    first.child.kill('SIGTERM');
    // It stops accepting new connections while our request is still open.
    await waitFor('the listener to close', () => first.stdout().includes('shutting down'));
    const refused = await new Promise<boolean>((resolve) =>
      http.get({ host: hostname, port, path: '/healthz', agent: false }, () => resolve(false)).once('error', () => resolve(true)),
    );
    expect(refused).toBe(true);
    expect(first.child.exitCode).toBeNull();
    // The rest of the body; the login (scrypt) runs and answers.
    req.end(body.slice(20));
    const res = await response;
    expect(res.status).toBe(200);
    const parsed = JSON.parse(res.body);
    expect(parsed.errors).toBeUndefined();
    expect(parsed.data.login.token).toMatch(/^sgs_/);
    const exit = await first.exit;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(first.stdout()).toContain('"msg":"stopped"');
  });

  it('wrote only JSON lines to stdout, with no token and no password in them', async () => {
    await first.exit;
    const lines = first.stdout().split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(first.stdout().match(TOKEN)).toBeNull();
    expect(first.stdout()).not.toContain(ADMIN_PASSWORD);
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('scopegate listening');
  });

  it('a second start on the same database prints no token, and the first token and password still work', async () => {
    const second = await startMain(baseEnv(dir));
    try {
      expect(second.stderr()).toContain(`scopegate is listening on ${second.url}`);
      expect(second.stderr().match(TOKEN)).toBeNull();
      expect(second.stderr()).not.toContain('First start');
      const me = await gql(second.url, '{ viewer { user { username } } }', {}, bootstrapToken);
      expect(me.body.data.viewer.user.username).toBe('admin');
      const login = await gql(second.url, LOGIN, { input: { username: 'admin', password: ADMIN_PASSWORD } });
      expect(login.body.data.login.token).toMatch(/^sgs_/);
      const users = await gql(second.url, '{ users { edges { node { username } } } }', {}, bootstrapToken);
      expect(users.body.data.users.edges).toEqual([{ node: { username: 'admin' } }]);
    } finally {
      expect(await stop(second)).toEqual({ code: 0, signal: null });
    }
  });
});

describe('CORS with SCOPEGATE_CORS_ORIGINS', () => {
  let running: Awaited<ReturnType<typeof startMain>>;
  beforeAll(async () => {
    running = await startMain({ ...baseEnv(tempDir()), SCOPEGATE_CORS_ORIGINS: 'https://app.example.com' });
  });
  afterAll(async () => {
    if (running) await stop(running);
  });

  const preflight = (origin: string) =>
    fetch(`${running.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('allows a preflight from the configured origin, with the Authorization header', async () => {
    const res = await preflight('https://app.example.com');
    expect([200, 204]).toContain(res.status);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    // The real request from that origin may read the response and its request id.
    const post = await fetch(`${running.url}/graphql`, {
      method: 'POST',
      headers: { origin: 'https://app.example.com', 'content-type': 'application/json' },
      body: '{"query":"{ viewer { kind } }"}',
    });
    expect(post.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(post.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('x-request-id');
  });

  it('does not allow another origin', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.net', 'http://app.example.com']) {
      const res = await preflight(origin);
      expect(res.status).toBeLessThan(500);
      const allowed = res.headers.get('access-control-allow-origin');
      // A browser allows the call only if this echoes its origin (or is "*").
      expect(allowed).not.toBe(origin);
      expect(allowed).not.toBe('*');
    }
  });
});

describe('invalid configuration', () => {
  it.for([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS', '-1'],
    ['SCOPEGATE_SESSION_TTL_HOURS', 'soon'],
    ['DATABASE_URL', 'mysql://x'],
    ['SCOPEGATE_ADMIN_PASSWORD', 'hunter2-pw'],
    ['SCOPEGATE_CORS_ORIGINS', 'not a url'],
    ['LOG_LEVEL', 'loud'],
  ] as const)('%s=%s exits non-zero with a message naming the variable', async ([name, value], { expect }) => {
    const dir = tempDir();
    const running = spawnMain({ ...baseEnv(dir), [name]: value });
    const exit = await running.exit;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(running.stderr()).toContain('Invalid configuration');
    expect(running.stderr()).toMatch(new RegExp(`^\\s+${name}(\\.\\d+)?: `, 'm'));
    // Refused before anything was created or printed as a banner.
    expect(running.stderr()).not.toContain('listening');
    expect(fs.existsSync(path.join(dir, 'db.sqlite'))).toBe(false);
    // A refused value is not echoed (it may be a password).
    expect(running.stderr() + running.stdout()).not.toContain(value);
  });

  it.for([
    ['NODE_ENV=production without a key', { NODE_ENV: 'production' }],
    ['a master key that is not base64', { SCOPEGATE_MASTER_KEY: 'secret-but-not-base64!!' }],
    ['a master key of the wrong length', { SCOPEGATE_MASTER_KEY: Buffer.alloc(16, 7).toString('base64') }],
  ] as const)('%s exits non-zero naming SCOPEGATE_MASTER_KEY, without echoing it', async ([, extra], { expect }) => {
    const dir = tempDir();
    const running = spawnMain({ ...baseEnv(dir), ...extra });
    const exit = await running.exit;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(running.stderr()).toContain('SCOPEGATE_MASTER_KEY');
    expect(running.stderr()).not.toContain('listening');
    expect(running.stderr().match(TOKEN)).toBeNull();
    if ('SCOPEGATE_MASTER_KEY' in extra) expect(running.stderr() + running.stdout()).not.toContain(extra.SCOPEGATE_MASTER_KEY);
    // No key file was made for a production instance.
    expect(fs.existsSync(path.join(dir, 'master.key'))).toBe(false);
  });
});
