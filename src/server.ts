import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError } from 'graphql';
import type { LogEvent } from 'kysely';
import { createYoga } from 'graphql-yoga';
import { InvalidationBus } from './auth/invalidation.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { InvalidTokenError, TokenVerifier } from './auth/verify.js';
import type { Config } from './config.js';
import { keyringFromConfig } from './credentials/crypto.js';
import type { App, Context } from './context.js';
import { sealUnkeyedTrail } from './domain/audit.js';
import { AuthFailureRecorder } from './domain/auth-failures.js';
import { bootstrapAdmin } from './domain/users.js';
import { invalidToken, useAnonymousGate } from './http/auth-gate.js';
import { fetchHeaders, readBody, refuseTooLarge, sendResponse } from './http/body.js';
import { useDenialAudit } from './http/denials.js';
import { useMutationLimit } from './http/mutation-limit.js';
import { createLogger, type Logger } from './logger.js';
import { schema } from './schema/index.js';
import { migrateToLatest, openDatabase, ping } from './store/db.js';
import { createLoaders } from './store/loaders.js';

const isGraphQLError = (e: unknown): e is GraphQLError => e instanceof Error && e.name === 'GraphQLError';

const MAX_BODY_BYTES = 2 * 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

interface ServerContext {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
}

export interface Scopegate {
  app: App;
  server: Server;
  url: string;
  graphqlUrl: string;
  /** Set on the first start only: the administrator's personal access token, to print once. */
  bootstrap: { username: string; secret: string } | null;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  now?: () => Date;
  /** Sees every SQL statement (tests and the benchmark count them). */
  onQuery?: (event: LogEvent) => void;
}

function clientIp(req: IncomingMessage): string | null {
  return req.socket.remoteAddress ?? null;
}

function createGraphQLHandler(app: App) {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'scopegate', headers: JSON.stringify({ Authorization: 'Bearer <paste your token>' }) },
    cors: app.config.SCOPEGATE_CORS_ORIGINS.length
      ? { origin: app.config.SCOPEGATE_CORS_ORIGINS, credentials: false, allowedHeaders: ['authorization', 'content-type', 'x-request-id'], exposedHeaders: ['x-request-id'] }
      : false,
    logging: false,
    maskedErrors: {
      maskError(error) {
        // GraphQL errors we raise on purpose (DomainError, 401s, validation) reach the client as they are.
        // (By name, as Yoga does: graphql's ESM and CJS builds can both be loaded.)
        const original = isGraphQLError(error) ? error.originalError : error;
        if (isGraphQLError(error) && (!original || isGraphQLError(original))) return error;
        app.log.error({ err: original ?? error }, 'internal error');
        return new GraphQLError('Internal server error (see the server log for this request id)', {
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      },
    },
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        maxAliases: { n: 20 },
        maxTokens: { n: 5000 },
        // The static estimate grows 1.5× per level; connections nest deep, so the depth limit does the real work.
        costLimit: { maxCost: 100_000 },
        maxDirectives: { n: 20 },
      }),
      useAnonymousGate(),
      useMutationLimit(app),
      useDenialAudit(),
    ],
    context: async ({ request, requestId, req }): Promise<Context> => {
      const log = app.log.child({ requestId });
      const meta = { requestId, ipAddress: clientIp(req), userAgent: request.headers.get('user-agent')?.slice(0, 300) ?? null };
      const header = request.headers.get('authorization');
      let principal = null;
      if (header !== null) {
        const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
        if (!match) {
          const reason = 'Authorization header must be "Bearer <token>"';
          await app.authFailures.record(meta, { action: 'auth.failed', reason });
          throw invalidToken(reason);
        }
        try {
          principal = await app.verifier.verify(match[1]);
        } catch (err) {
          if (err instanceof InvalidTokenError) {
            await app.authFailures.record(meta, { action: 'auth.failed', reason: err.description, hint: err.hint });
            throw invalidToken(err.description);
          }
          throw err;
        }
      }
      return { app, ...meta, principal, loaders: createLoaders(app.db, principal), log };
    },
  });
}

async function handleProbe(app: App, path: string, res: ServerResponse): Promise<boolean> {
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return true;
  }
  if (path === '/readyz') {
    try {
      await ping(app.db);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    } catch {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"database unavailable"}');
    }
    return true;
  }
  return false;
}

/** Opens the database, migrates it, creates the first administrator if needed and listens. */
export async function startScopegate(config: Config, options: StartOptions = {}): Promise<Scopegate> {
  const log = options.log ?? createLogger(config.LOG_LEVEL);
  // Before anything else: production refuses to start without a key.
  const keyring = keyringFromConfig(config, (msg) => log.warn(msg));
  const { db, dialect } = openDatabase(config.DATABASE_URL, options.onQuery, (err) => log.warn({ err: err.message }, 'database connection lost; the pool replaces it'));
  await migrateToLatest(db);
  const now = options.now ?? (() => new Date());
  const app: App = {
    config,
    db,
    dialect,
    log,
    now,
    keyring,
    verifier: new TokenVerifier(db, log, config.SCOPEGATE_TOKEN_CACHE_TTL_SECONDS, now),
    authFailures: new AuthFailureRecorder(db, dialect, keyring, log, now),
    loginThrottle: new LoginThrottle(),
  };
  const bus = config.SCOPEGATE_REDIS_URL ? new InvalidationBus(config.SCOPEGATE_REDIS_URL, app.verifier, log) : null;
  await bus?.start().catch((err) => log.warn({ err: err.message }, 'redis unavailable at start: invalidation stays local until it is back'));
  await sealUnkeyedTrail(app);
  const bootstrap = await bootstrapAdmin(app);
  const yoga = createGraphQLHandler(app);

  let inFlight = 0;
  const server = createServer(async (req, res) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    if (await handleProbe(app, path, res)) return;
    inFlight++;
    res.once('close', () => inFlight--);
    const started = Date.now();
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const body = hasBody ? await readBody(req, MAX_BODY_BYTES) : undefined;
    if (body === null) return refuseTooLarge(res, MAX_BODY_BYTES);
    const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method, headers: fetchHeaders(req), body: body && new Uint8Array(body) });
    await sendResponse(res, await yoga.fetch(request, { req, res, requestId }));
    log.info({ requestId, method: req.method, path, status: res.statusCode, ms: Date.now() - started }, 'request');
  });
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting; let in-flight requests finish (bounded), then close the database.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const deadline = Date.now() + 10_000;
        const timer = setInterval(() => {
          if (inFlight === 0 || Date.now() > deadline) {
            clearInterval(timer);
            server.closeAllConnections();
          }
        }, 50);
      });
      await app.authFailures.flush();
      await bus?.close();
      await db.destroy();
    })());

  return { app, server, url, graphqlUrl: `${url}/graphql`, bootstrap, close };
}
