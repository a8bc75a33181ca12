/**
 * A tiny HTTP server on 127.0.0.1 (or another loopback address: Linux routes all of 127/8
 * to lo) for fake providers: records connections and requests, can be slowed down
 * (timeout tests) or made to fail with a status (5xx tests).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query as received */
  path: string;
  headers: IncomingHttpHeaders;
}

export interface FakeServer {
  /** http://127.0.0.1:port (each fake appends its API prefix to its own `url`) */
  origin: string;
  /** TCP connections accepted: zero proves that nothing was even attempted. */
  connections: number;
  requests: RecordedRequest[];
  /** Delay before every answer. */
  latencyMs: number;
  /** When set, every request gets this status (e.g. 503). */
  failStatus?: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export async function startFakeServer(handler: Handler, latencyMs = 0, host = '127.0.0.1'): Promise<FakeServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    fake.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const answer = () => {
      if (fake.failStatus) return sendJson(res, fake.failStatus, { message: 'fake failure' });
      handler(req, res, new URL(req.url ?? '/', fake.origin));
    };
    if (fake.latencyMs <= 0) return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, fake.latencyMs);
    timers.add(timer);
  });
  server.on('connection', () => fake.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeServer = {
    origin: `http://${host}:${port}`,
    connections: 0,
    requests: [],
    latencyMs,
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
