import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import { type EntryPoint, spawnEntryPoint } from './helpers/entry-point.js';
import { createDatabase, dropDatabase } from './helpers/postgres.js';

/**
 * SIGTERM ends the real entry point, started as `npm start` starts it, with exit code 0 within
 * the shutdown bound (10 s), whatever is still open: keep-alive connections, a request whose
 * body never finishes, a log reader that stopped reading or went away, a Redis or a
 * PostgreSQL database that went away. The signal goes to the whole process group, as a
 * supervisor (or Ctrl-C in a terminal) sends it.
 */

/** The process must be gone this long after SIGTERM: its own bound is 10 s; the rest is for a loaded machine. */
const EXIT_WITHIN_MS = 15_000;
const TOKEN = /sgp_[0-9A-Za-z]{36}/;

interface Running extends EntryPoint {
  url: URL;
  token: string;
}

const started: Running[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];

afterEach(async () => {
  // A server that did not exit is killed, so that a failure here leaves nothing behind.
  for (const running of started.splice(0)) {
    try {
      process.kill(-running.child.pid!, 'SIGKILL');
    } catch {}
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function startServer(extraEnv: Record<string, string> = {}): Promise<Running> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-shutdown-'));
  // Its own process group, as under a supervisor; SIGTERM goes to the group.
  const entry = spawnEntryPoint(
    { DATABASE_URL: path.join(dir, 'db.sqlite'), SCOPEGATE_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...extraEnv },
    { detached: true },
  );
  const running = entry as Running;
  started.push(running);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const url = /scopegate is listening on (http:\/\/\S+)/.exec(entry.stderr())?.[1];
    const token = TOKEN.exec(entry.stderr())?.[0];
    if (url && token) return Object.assign(running, { url: new URL(url), token });
    if (entry.child.exitCode !== null || Date.now() > deadline) throw new Error(`no listen banner:\n${entry.stderr()}\n${entry.stdout()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM to the process group; resolves with how it exited and how long that took. */
async function terminate(running: Running) {
  const sent = Date.now();
  process.kill(-running.child.pid!, 'SIGTERM');
  const exit = await Promise.race([running.exit, new Promise<'still running'>((r) => setTimeout(() => r('still running'), EXIT_WITHIN_MS))]);
  const ms = Date.now() - sent;
  // Nothing of the group is left either.
  let groupAlive = true;
  try {
    process.kill(-running.child.pid!, 0);
  } catch {
    groupAlive = false;
  }
  return { exit, ms, groupAlive };
}

function post(agent: http.Agent, running: Running, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      running.url,
      {
        path: '/graphql',
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${running.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A raw connection that has sent `text` (and waits for `answered` to appear, if given). */
async function rawConnection(running: Running, text: string, answered?: RegExp): Promise<net.Socket> {
  const socket = net.connect(Number(running.url.port), running.url.hostname);
  socket.on('error', () => {});
  cleanups.push(() => void socket.destroy());
  let received = '';
  socket.on('data', (c) => (received += c));
  await new Promise((r) => socket.once('connect', r));
  socket.write(text);
  const deadline = Date.now() + 10_000;
  while (answered && !answered.test(received)) {
    if (Date.now() > deadline) throw new Error(`no answer on the raw connection: ${received}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return socket;
}

/** The reviewer's case: an introspection query over keep-alive, one idle connection, one request half sent. */
async function openConnections(running: Running) {
  const agent = new http.Agent({ keepAlive: true });
  cleanups.push(() => agent.destroy());
  const introspection = await post(agent, running, JSON.stringify({ query: getIntrospectionQuery() }));
  expect(introspection.status).toBe(200);
  expect(JSON.parse(introspection.body).data.__schema.queryType.name).toBe('Query');
  await rawConnection(running, `GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n`, /"status":"ok"/);
  await rawConnection(
    running,
    `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":"{ __typename`,
  );
  // Give the server a moment to start handling the half-sent request.
  await new Promise((r) => setTimeout(r, 300));
}

const expectCleanExit = (result: Awaited<ReturnType<typeof terminate>>) => {
  expect(result.exit, `after ${result.ms} ms`).toEqual({ code: 0, signal: null });
  expect(result.ms).toBeLessThan(EXIT_WITHIN_MS);
  expect(result.groupAlive).toBe(false);
};

describe('SIGTERM to the process group of the real entry point', () => {
  it('exits 0 with a keep-alive connection, an idle one and a half-sent request open (3 times)', { timeout: 150_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const running = await startServer();
      await openConnections(running);
      const result = await terminate(running);
      expectCleanExit(result);
      expect(running.stdout()).toContain('"msg":"stopped"');
    }
  });

  it('exits 0 when its log reader has stopped reading (the stdout pipe is full)', { timeout: 60_000 }, async () => {
    const running = await startServer();
    running.child.stdout!.pause();
    // Each request logs its path: 100 lines of 15 kB are far more than a pipe holds.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    cleanups.push(() => agent.destroy());
    await Promise.all(
      Array.from(
        { length: 100 },
        (_, i) =>
          new Promise((resolve, reject) =>
            http.get(running.url, { path: `/${i}-${'x'.repeat(15_000)}`, agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
          ),
      ),
    );
    expectCleanExit(await terminate(running));
  });

  it('exits 0 when its log reader went away (writes to stdout fail with EPIPE)', { timeout: 60_000 }, async () => {
    const running = await startServer();
    running.child.stdout!.destroy();
    expectCleanExit(await terminate(running));
  });

  it('exits 0 when the configured Redis is not there at all', { timeout: 60_000 }, async () => {
    const running = await startServer({ SCOPEGATE_REDIS_URL: `redis://127.0.0.1:${await unusedPort()}` });
    await openConnections(running);
    expectCleanExit(await terminate(running));
  });

  it.for(['refuses', 'hangs'] as const)('exits 0 when Redis went away mid-way (it %s)', { timeout: 60_000 }, async (failure) => {
    const redis = await forwarder(6379);
    const running = await startServer({ SCOPEGATE_REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    await openConnections(running);
    redis.fail(failure);
    expectCleanExit(await terminate(running));
  });
});

async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A TCP forwarder to a service on this machine, which the test can make fail: `refuses`
 * drops every connection and refuses new ones (the service stopped); `hangs` keeps the
 * connections but passes nothing on any more (the service froze, or the network dropped).
 */
async function forwarder(target: number) {
  const sockets = new Set<net.Socket>();
  let failed: 'refuses' | 'hangs' | null = null;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('error', () => {});
      from.on('close', () => sockets.delete(from));
      from.on('data', (data) => failed === null && to.write(data));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    fail(how: 'refuses' | 'hangs') {
      failed = how;
      if (how === 'hangs') return;
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** A fresh database for one test, dropped after it. */
async function freshDatabase(): Promise<string> {
  const url = await createDatabase('shutdown.test.ts');
  if (!url) throw new Error('could not create a PostgreSQL database');
  cleanups.push(() => dropDatabase(url));
  return url;
}

const postgres = await createDatabase('shutdown.test.ts');
if (postgres) await dropDatabase(postgres);

describe.skipIf(!postgres)('SIGTERM on PostgreSQL', () => {
  it('exits 0 when the database is dropped while the server drains', { timeout: 60_000 }, async () => {
    const databaseUrl = await freshDatabase();
    const running = await startServer({ DATABASE_URL: databaseUrl });
    await openConnections(running);
    const terminated = terminate(running);
    await dropDatabase(databaseUrl);
    expectCleanExit(await terminated);
  });

  it('exits 0 when PostgreSQL stops answering with a query in flight', { timeout: 60_000 }, async () => {
    const url = new URL(await freshDatabase());
    const frozen = await forwarder(Number(url.port || 5432));
    url.port = String(frozen.port);
    const running = await startServer({ DATABASE_URL: url.toString() });
    await openConnections(running);
    frozen.fail('hangs');
    // A readiness probe now waits for its `select 1` for ever, holding a pool connection.
    const probe = fetch(new URL('/readyz', running.url)).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    expectCleanExit(await terminate(running));
    await probe;
  });
});
