import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

/**
 * Requests that are malformed, interrupted or slow, sent byte by byte over raw sockets: each
 * gets an answer or a closed connection, and the server (running in this process, so a crash
 * would end the test run too) goes on serving. An unhandled rejection is what ended the
 * process before; this file listens for one and fails on it.
 */

const TIMEOUT_SECONDS = 2;

interface Exchange {
  /** The HTTP status of the first response, or null if none came. */
  status: number | null;
  head: string;
  body: string;
  /** Whether the server closed the connection (rather than our deadline passing). */
  closed: boolean;
  ms: number;
}

/**
 * Opens a raw connection, lets `send` write to it, and collects what comes back until the
 * server closes the connection or `waitMs` passes.
 */
function exchange(server: TestServer, send: (socket: net.Socket) => void, waitMs = 10_000): Promise<Exchange> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let received = '';
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const [head = '', ...rest] = received.split('\r\n\r\n');
      const raw = rest.join('\r\n\r\n');
      const body = /^transfer-encoding: chunked$/im.test(head) ? dechunk(raw) : raw;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      resolve({ status: status ? Number(status) : null, head, body, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('connect', () => send(socket));
  });
}

/** The body of a chunked response, as far as it came. */
function dechunk(raw: string): string {
  let body = '';
  for (let at = 0; ; ) {
    const eol = raw.indexOf('\r\n', at);
    const size = eol < 0 ? 0 : parseInt(raw.slice(at, eol), 16);
    if (!size) return body;
    body += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

async function healthy(server: TestServer) {
  const res = await fetch(`${server.url}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
}

const requestLine = (server: TestServer, requestId: string) =>
  server.logs.map((l) => JSON.parse(l)).find((entry) => entry.msg === 'request' && entry.requestId === requestId);

describe('hostile HTTP', () => {
  let server: TestServer;
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);

  beforeAll(async () => {
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
    server = await startTestServer({ SCOPEGATE_REQUEST_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) });
  });
  afterEach(() => {
    expect(escaped.splice(0).map(String)).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
    await server?.close();
  });

  it.each([
    ['Host: [', 'POST /graphql HTTP/1.1\r\nHost: [\r\n'],
    ['a Host with a path in it', 'POST /graphql HTTP/1.1\r\nHost: example.com/other?\r\n'],
    ['an absolute-form target', 'POST http://example.com:80/graphql HTTP/1.1\r\nHost: example.com\r\n'],
    ['the asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: localhost\r\n'],
  ])('%s: 400 with a request id, and the server goes on', async (_name, start) => {
    const body = '{"query":"{ __typename }"}';
    const res = await exchange(server, (s) =>
      s.write(`${start}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`),
    );
    expect(res.status, res.head).toBe(400);
    expect(res.head).toMatch(/^x-request-id: [0-9a-f-]{36}$/im);
    expect(JSON.parse(res.body).errors[0].message).toBe('malformed request target or Host header');
    await healthy(server);
  });

  it('a client that leaves halfway through the body: the request is dropped, the server goes on', async () => {
    const requestId = 'leaves-halfway';
    const res = await exchange(server, (s) => {
      s.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nx-request-id: ${requestId}\r\n\r\n`);
      s.write('{"query":"' + 'x'.repeat(490));
      setTimeout(() => s.destroy(), 200);
    });
    expect(res.status).toBeNull();
    // The server saw the request end without a response, and logged it.
    const line = await waitFor('the log line of the dropped request', () => requestLine(server, requestId));
    expect(line).toMatchObject({ requestId, path: '/graphql', status: null, aborted: true });
    await healthy(server);
  });

  it(`a body sent one byte a second: 408 after SCOPEGATE_REQUEST_TIMEOUT_SECONDS (${TIMEOUT_SECONDS} s), well before 15 s`, { timeout: 30_000 }, async () => {
    const requestId = 'trickles';
    let sent = 0;
    const res = await exchange(
      server,
      (s) => {
        s.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\nx-request-id: ${requestId}\r\n\r\n{`);
        const trickle = setInterval(() => {
          if (s.destroyed || ++sent >= 99) return clearInterval(trickle);
          s.write(' ');
        }, 1000);
        s.once('close', () => clearInterval(trickle));
      },
      20_000,
    );
    expect(res.closed).toBe(true);
    expect(res.status).toBe(408);
    expect(res.ms).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 100);
    expect(res.ms).toBeLessThan(15_000);
    const line = await waitFor('the log line of the timed-out request', () => requestLine(server, requestId));
    expect(line).toMatchObject({ status: null, aborted: true });
    await healthy(server);
  });

  it('headers sent one byte a second: 408 well before 15 s too', { timeout: 30_000 }, async () => {
    const head = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ' + 'p'.repeat(100);
    const res = await exchange(
      server,
      (s) => {
        let i = 0;
        const trickle = setInterval(() => {
          if (s.destroyed || i >= head.length) return clearInterval(trickle);
          s.write(head[i++]!);
        }, 1000);
        s.once('close', () => clearInterval(trickle));
      },
      20_000,
    );
    expect(res.closed).toBe(true);
    expect(res.status).toBe(408);
    expect(res.ms).toBeLessThan(15_000);
    await healthy(server);
  });

  it('a chunked body over 2 MB that never ends: 413 with a request id, and the connection cut when the client stalls', async () => {
    const chunk = 'p'.repeat(64 * 1024);
    const res = await exchange(server, (s) => {
      s.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      // 3 MB in 64 KiB chunks, and no final chunk: the answer must not wait for the end.
      for (let i = 0; i < 48; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    expect(res.status).toBe(413);
    expect(res.head).toMatch(/^x-request-id: /im);
    expect(res.closed).toBe(true);
    expect(JSON.parse(res.body).errors[0].message).toBe('request body is larger than 2097152 bytes');
    await healthy(server);
  });

  it('a well-formed request still works over a raw socket, with an empty body refused as bad JSON', async () => {
    const query = JSON.stringify({ query: '{ viewer { kind } }' });
    const ok = await exchange(server, (s) =>
      s.write(
        `POST /graphql HTTP/1.1\r\nHost: localhost:1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${server.adminToken}\r\n` +
          `Content-Length: ${Buffer.byteLength(query)}\r\nConnection: close\r\n\r\n${query}`,
      ),
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ data: { viewer: { kind: 'PERSONAL_ACCESS_TOKEN' } } });
    const empty = await exchange(server, (s) =>
      s.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
    );
    expect(empty.status).toBe(400);
  });

  it('logged no internal error', () => {
    const internal = server.logs.filter((line) => line.includes('"level":50'));
    expect(internal).toEqual([]);
  });
});
