/**
 * A tiny HTTP server on 127.0.0.1 (or another loopback address: Linux routes all of 127/8
 * to lo) for fake providers: records connections and requests, can be slowed down, made
 * silent (timeout tests) or made to fail with a status (5xx tests). With `tls` it serves
 * https with a certificate for 127.0.0.1-127.0.0.4 signed by test/fakes/tls/ca.pem, which
 * the test runs trust (NODE_EXTRA_CA_CERTS in test/vitest.config.ts): for the self-hosted
 * servers that scopegate only ever asks over https.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query as received */
  path: string;
  headers: IncomingHttpHeaders;
}

export interface FakeServer {
  /** http(s)://127.0.0.1:port (each fake appends its API prefix to its own `url`) */
  origin: string;
  /** `host:port`, as a self-hosted host is given and as `sentTo` names it. */
  host: string;
  /** TCP connections accepted: zero proves that nothing was even attempted. */
  connections: number;
  /** Connections still open. The fake never closes one itself while a request waits on it. */
  openConnections: number;
  requests: RecordedRequest[];
  /** Delay before every answer. */
  latencyMs: number;
  /** When true, requests are recorded and never answered (the client's deadline must end them). */
  silent: boolean;
  /** When set, every request gets this status (e.g. 503). */
  failStatus?: number;
  /** Path (with query, as received) -> Location: those requests get a 302 there, before the handler. */
  redirects: Map<string, string>;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

const TLS_DIR = new URL('./tls/', import.meta.url);
const tlsFiles = () => ({ cert: readFileSync(new URL('cert.pem', TLS_DIR)), key: readFileSync(new URL('key.pem', TLS_DIR)) });

export async function startFakeServer(handler: Handler, latencyMs = 0, host = '127.0.0.1', opts: { tls?: boolean } = {}): Promise<FakeServer> {
  const timers = new Set<NodeJS.Timeout>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    fake.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    if (fake.silent) return;
    const answer = () => {
      if (fake.failStatus) return sendJson(res, fake.failStatus, { message: 'fake failure' });
      const location = fake.redirects.get(req.url ?? '');
      if (location !== undefined) {
        res.writeHead(302, { Location: location });
        return res.end();
      }
      handler(req, res, new URL(req.url ?? '/', fake.origin));
    };
    if (fake.latencyMs <= 0) return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, fake.latencyMs);
    timers.add(timer);
  };
  const server: Server = opts.tls ? createHttpsServer(tlsFiles(), listener) : createServer(listener);
  // For https, 'connection' is the TCP socket, before the handshake: counted even if the client then refuses the certificate.
  server.on('connection', (socket: Socket) => {
    fake.connections++;
    fake.openConnections++;
    socket.once('close', () => fake.openConnections--);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeServer = {
    origin: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    host: `${host}:${port}`,
    connections: 0,
    openConnections: 0,
    requests: [],
    latencyMs,
    silent: false,
    redirects: new Map(),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** username/password of a Basic Authorization header, if there is one. */
export function basicAuthOf(req: IncomingMessage): { username: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function bearerTokenOf(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** A port on 127.0.0.1 where nothing listens: bound once, then released. */
export async function refusedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
