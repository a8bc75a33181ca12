import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError } from 'graphql';
import type { LogEvent } from 'kysely';
import { createYoga } from 'graphql-yoga';
import { InvalidationBus } from './auth/invalidation.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { InvalidTokenError, TokenVerifier } from './auth/verify.js';
import type { Config } from './config.js';
import { keyringFromConfig } from './credentials/crypto.js';
import { checkKeys, missingKeysMessage, missingSecretKeys } from './credentials/key-checks.js';
import type { App, Context } from './context.js';
import { sealUnkeyedTrail } from './domain/audit.js';
import { AuthFailureRecorder } from './domain/auth-failures.js';
import { capTokenLifetimes } from './domain/tokens.js';
import { bootstrapAdmin } from './domain/users.js';
import { bearerToken, invalidToken, useAnonymousGate } from './http/auth-gate.js';
import { readBody, refuseTooLarge, sendError } from './http/body.js';
import { useCostLimit } from './http/cost-limit.js';
import { useDenialAudit } from './http/denials.js';
import { GRAPHIQL_ASSETS, GRAPHIQL_OPTIONS, renderGraphiQLPage, serveGraphiQLAsset, useGraphiQLPolicy } from './http/graphiql.js';
import { MAX_ERROR_MESSAGE, useRequestBounds } from './http/request-bounds.js';
import { useMutationLimit } from './http/mutation-limit.js';
import { useSuggestionsForPrincipals } from './http/suggestions.js';
import { createLogger, type Logger } from './logger.js';
import { schema } from './schema/index.js';
import { DEFAULT_PAGE, MAX_PAGE } from './schema/pagination.js';
import { migrateToLatest, openDatabase, ping } from './store/db.js';
import { Invalidations } from './store/cache.js';
import { createLoaders, rowCaches } from './store/loaders.js';

const isGraphQLError = (e: unknown): e is GraphQLError => e instanceof Error && e.name === 'GraphQLError';

const MAX_BODY_BYTES = 2 * 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** close(): requests in flight get all of it but CLEANUP_MS, which the close steps share. */
const SHUTDOWN_MS = 9_000;
const CLEANUP_MS = 2_000;
/**
 * On every response, probes and refusals included. Nothing here is meant to be framed or
 * cached: GraphiQL is where people paste bearer tokens, and responses show secrets once.
 * (GraphiQL's page gets a stricter policy, and its versioned assets, which hold no secret,
 * may be cached: src/http/graphiql.ts.)
 */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'cache-control': 'no-store',
  vary: 'Origin',
};
/** A host name, IPv4 or bracketed IPv6 address, and an optional port: nothing that could change the URL's path. */
const HOST_HEADER = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

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

/**
 * Yoga builds the request URL from the Host header and the request target. RFC 9112 §3.2:
 * a malformed Host is answered with 400, and so is any target but a path (absolute-form, `*`).
 */
function wellFormed(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!req.url?.startsWith('/') || (host !== undefined && !HOST_HEADER.test(host))) return false;
  return URL.canParse(`http://${host ?? 'localhost'}${req.url}`);
}

/** A GET's `variables` and `extensions` are JSON, or Yoga's parse of them fails as a 500. */
function jsonParams(url: string): boolean {
  const params = new URL(url, 'http://localhost').searchParams;
  return ['variables', 'extensions'].every((name) => {
    const value = params.get(name);
    if (value === null) return true;
    try {
      JSON.parse(value);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs one shutdown step, but waits for it no later than `deadline`; a failure is logged, not thrown. */
async function settle(log: Logger, step: string, deadline: number, run: () => Promise<unknown>): Promise<void> {
  const timer = new AbortController();
  const late = sleep(Math.max(0, deadline - Date.now()), 'late', { signal: timer.signal }).catch(() => 'aborted');
  try {
    if ((await Promise.race([run(), late])) === 'late') log.warn({ step }, 'shutdown step did not finish in time; going on without it');
  } catch (err) {
    log.warn({ step, err: err instanceof Error ? err.message : String(err) }, 'shutdown step failed');
  } finally {
    timer.abort();
  }
}

/**
 * An error as sent: its message cut, and no parser message in `extensions.originalError`
 * (Yoga's, for a body that is not JSON, quotes the body: passwords included; Yoga reads the
 * field's presence to choose the status, so its name stays). Changed in place: a new error
 * object would lose what Yoga and the executor attached to this one.
 */
function bounded(error: GraphQLError): GraphQLError {
  if (error.message.length > MAX_ERROR_MESSAGE) error.message = `${error.message.slice(0, MAX_ERROR_MESSAGE)}…`;
  const extensions = error.extensions as Record<string, { name?: string } | undefined>;
  if (extensions.originalError) extensions.originalError = { name: extensions.originalError.name };
  return error;
}

function clientIp(req: IncomingMessage): string | null {
  return req.socket.remoteAddress ?? null;
}

const authenticated = new WeakMap<Request, ReturnType<typeof authenticateOnce>>();

/**
 * Who a GraphQL request acts as: null without an Authorization header, the principal of a
 * bearer token that verifies. Anything else is recorded as an authentication failure and
 * refused with a 401 (thrown). Once per request: the context asks, and so does a response
 * whose validation failed before there was a context (useSuggestionsForPrincipals).
 */
function authenticate(app: App, request: Request, serverContext: Pick<ServerContext, 'req' | 'requestId'>) {
  let once = authenticated.get(request);
  if (!once) authenticated.set(request, (once = authenticateOnce(app, request, serverContext)));
  return once;
}

async function authenticateOnce(app: App, request: Request, { req, requestId }: Pick<ServerContext, 'req' | 'requestId'>) {
  const meta = { requestId, ipAddress: clientIp(req), userAgent: request.headers.get('user-agent')?.slice(0, 300) ?? null };
  const header = request.headers.get('authorization');
  if (header === null) return { meta, principal: null };
  const token = bearerToken(header);
  if (token === null) {
    const reason = 'Authorization header must be "Bearer <token>"';
    await app.authFailures.record(meta, { action: 'auth.failed', reason });
    throw invalidToken(reason);
  }
  try {
    return { meta, principal: await app.verifier.verify(token) };
  } catch (err) {
    if (!(err instanceof InvalidTokenError)) throw err;
    await app.authFailures.record(meta, { action: 'auth.failed', reason: err.description, hint: err.hint });
    throw invalidToken(err.description);
  }
}

function createGraphQLHandler(app: App) {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Served from here, assets included: see src/http/graphiql.ts.
    graphiql: GRAPHIQL_OPTIONS,
    renderGraphiQL: renderGraphiQLPage,
    // Only a listed origin gets CORS headers; any other (a sandboxed page's "null" included) gets none.
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (!origin || !app.config.SCOPEGATE_CORS_ORIGINS.includes(origin)) return false;
      return { origin: [origin], credentials: false, allowedHeaders: ['authorization', 'content-type', 'x-request-id'], exposedHeaders: ['x-request-id'] };
    },
    logging: false,
    // The body reaches Yoga already read within MAX_BODY_BYTES (handle, below); Yoga's own
    // limit would pipe it through a second, stream-built request.
    maxRequestBodySize: false,
    maskedErrors: {
      maskError(error) {
        // GraphQL errors we raise on purpose (DomainError, 401s, validation) reach the client as they are.
        // (By name, as Yoga does: graphql's ESM and CJS builds can both be loaded.)
        const original = isGraphQLError(error) ? error.originalError : error;
        if (isGraphQLError(error) && (!original || isGraphQLError(original))) return bounded(error);
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
        // Ours (useCostLimit, below) counts pages given in variables or not at all.
        costLimit: { enabled: false },
        maxDirectives: { n: 20 },
        // Replaced by useSuggestionsForPrincipals: it hid them from every caller, and at validation only.
        blockFieldSuggestion: { enabled: false },
      }),
      // The estimate multiplies by each page (a variable or absent `first` counted as the most
      // it can be) and by 1.5 per level: 100 credentials with their registries (default page of
      // 20 each, about 2,100 objects, 291,000) pass; 100 namespaces with 100 credentials each
      // (10,000 objects, 550,000) do not.
      useCostLimit({ maxCost: 400_000, maxPage: MAX_PAGE, defaultPage: DEFAULT_PAGE }),
      useSuggestionsForPrincipals<ServerContext>((request, serverContext) => authenticate(app, request, serverContext)),
      useRequestBounds(),
      useAnonymousGate(),
      useMutationLimit(app),
      useDenialAudit(),
      useGraphiQLPolicy(),
    ],
    context: async ({ request, requestId, req }): Promise<Context> => {
      const log = app.log.child({ requestId });
      const { meta, principal } = await authenticate(app, request, { req, requestId });
      return { app, ...meta, principal, loaders: createLoaders(app, principal), log };
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
      const missing = await missingSecretKeys(app.db, app.keyring);
      if (missing.length) {
        const body = { status: 'keys missing', keyIds: missing, reason: missingKeysMessage(missing) };
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return true;
      }
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
  // A key that is not its id's key would seal new secrets beside old ones it cannot read.
  await checkKeys(db, keyring, { record: true }).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  const missing = await missingSecretKeys(db, keyring);
  if (missing.length) log.warn(`not ready: ${missingKeysMessage(missing)}`);
  const now = options.now ?? (() => new Date());
  const invalidations = new Invalidations();
  const ttlSeconds = config.SCOPEGATE_TOKEN_CACHE_TTL_SECONDS;
  const app: App = {
    config,
    db,
    dialect,
    log,
    now,
    keyring,
    invalidations,
    verifier: new TokenVerifier(db, log, invalidations, ttlSeconds, now),
    ...rowCaches(invalidations, ttlSeconds),
    authFailures: new AuthFailureRecorder(db, dialect, keyring, log, now),
    loginThrottle: new LoginThrottle(),
  };
  const bus = config.SCOPEGATE_REDIS_URL ? new InvalidationBus(config.SCOPEGATE_REDIS_URL, invalidations, log) : null;
  await bus?.start().catch((err) => log.warn({ err: err.message }, 'redis unavailable at start: invalidation stays local until it is back'));
  await sealUnkeyedTrail(app);
  const bootstrap = await bootstrapAdmin(app);
  await capTokenLifetimes(app);
  const yoga = createGraphQLHandler(app);

  let inFlight = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const path = (req.url ?? '/').split('?')[0];
    if (await handleProbe(app, path, res)) return;
    inFlight++;
    const started = Date.now();
    res.once('close', () => {
      inFlight--;
      const outcome = { status: res.headersSent ? res.statusCode : null, ...(res.writableFinished ? {} : { aborted: true }) };
      log.info({ requestId, method: req.method, path, ...outcome, ms: Date.now() - started }, 'request');
    });
    if (!wellFormed(req)) return sendError(res, 400, 'BAD_REQUEST', 'malformed request target or Host header');
    // A person who opens the server's address lands in GraphiQL.
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) return void res.writeHead(302, { location: '/graphql' }).end();
    if (path.startsWith(GRAPHIQL_ASSETS) && (req.method === 'GET' || req.method === 'HEAD')) return serveGraphiQLAsset(req, res, path);
    if (req.method === 'GET' && !jsonParams(req.url!)) return sendError(res, 400, 'BAD_REQUEST', 'variables and extensions in the query string must be JSON');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      let body: Buffer | null;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch {
        // The client left, or sent too slowly and Node answered 408: no one is waiting for an answer.
        return void res.destroy();
      }
      if (body === null) return refuseTooLarge(req, res, MAX_BODY_BYTES);
      // Yoga's Node adapter takes a body already read (as behind Express' body parser) instead
      // of reading the stream itself: this one was read within the size and time bounds above.
      // Handed as a stream over the bytes, not the Buffer itself: the adapter tests a body with
      // Object.keys, which lists a Buffer's every byte (200 ms and 70 MB of garbage for 2 MB,
      // before any token is checked), and takes an empty Buffer for no body at all.
      Object.assign(req, { body: Readable.from([body]) });
    }
    await yoga(req, res, { req, res, requestId });
  };

  const server = createServer(
    {
      requestTimeout: config.SCOPEGATE_REQUEST_TIMEOUT_SECONDS * 1000,
      // Node checks that deadline only this often (every 30 s by default, which let slow bodies run 70 s).
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      const incoming = req.headers['x-request-id'];
      const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('x-request-id', requestId);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      handle(req, res, requestId).catch((err) => {
        // Last resort: what escaped here would be an unhandled rejection, and that ends the process.
        log.error({ err, requestId }, 'request failed');
        if (res.headersSent) res.destroy();
        else sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error (see the server log for this request id)');
      });
    },
  );

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
      const deadline = Date.now() + SHUTDOWN_MS;
      // Stop accepting; let requests in flight finish, but leave time for the steps after.
      server.close();
      server.closeIdleConnections();
      while (inFlight > 0 && Date.now() < deadline - CLEANUP_MS) await sleep(50);
      server.closeAllConnections();
      bus?.close();
      // Each step can hang on a peer that went away (PostgreSQL, Redis): none may pass the deadline.
      await settle(log, 'audit flush', deadline, () => app.authFailures.flush());
      await settle(log, 'database close', deadline, () => db.destroy());
    })());

  return { app, server, url, graphqlUrl: `${url}/graphql`, bootstrap, close };
}
