/**
 * Fake OCI distribution registry. In "bearer" mode (Docker Hub, GHCR, Harbor)
 * /v2/ always challenges with `WWW-Authenticate: Bearer realm=...` and /token
 * swaps basic auth for a token; in "basic" mode /v2/ checks basic auth itself.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { basicAuthOf, bearerTokenOf, sendJson, startFakeServer, type FakeServer, type Handler } from './server.js';

export interface FakeOciRegistry extends FakeServer {
  /** Registry URL as users give it, like oci://ghcr.io/org/charts */
  url: string;
  mode: 'bearer' | 'basic';
  /** username -> password */
  users: Map<string, string>;
  /** Users whose credentials are right but who may not pull (403 DENIED). */
  deniedUsers: Set<string>;
  /** Tokens handed out by /token. */
  issuedTokens: Set<string>;
  /** With `tokenHost`: the token service on a host of its own, which the challenge names (like auth.docker.io). */
  tokenService?: FakeServer;
}

const SERVICE = 'fake-registry';

export async function startFakeOciRegistry(
  opts: { users?: Record<string, string>; deniedUsers?: string[]; mode?: 'bearer' | 'basic'; latencyMs?: number; host?: string; tokenHost?: string } = {},
) {
  const handler: Handler = (req, res, url) => {
    if (url.pathname === '/token') {
      if (url.searchParams.get('service') !== SERVICE) return errors(res, 400, 'UNSUPPORTED', 'unknown service');
      const user = authenticatedUser();
      if (!user) return errors(res, 401, 'UNAUTHORIZED', 'authentication required');
      if (fake.deniedUsers.has(user)) return errors(res, 403, 'DENIED', 'requested access to the resource is denied');
      const token = randomBytes(16).toString('hex');
      fake.issuedTokens.add(token);
      return sendJson(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
    }
    if (url.pathname !== '/v2/') return errors(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');

    if (fake.mode === 'basic') {
      const user = authenticatedUser();
      if (!user) return errors(res, 401, 'UNAUTHORIZED', 'authentication required', { 'WWW-Authenticate': 'Basic realm="Registry Realm"' });
      if (fake.deniedUsers.has(user)) return errors(res, 403, 'DENIED', 'requested access to the resource is denied');
      return ok(res);
    }
    const token = bearerTokenOf(req);
    if (token && fake.issuedTokens.has(token)) return ok(res);
    return errors(res, 401, 'UNAUTHORIZED', 'authentication required', {
      'WWW-Authenticate': `Bearer realm="${(fake.tokenService ?? fake).origin}/token",service="${SERVICE}"`,
    });

    function authenticatedUser(): string | undefined {
      const login = basicAuthOf(req);
      return login && fake.users.get(login.username) === login.password ? login.username : undefined;
    }
  };
  const server = await startFakeServer(handler, opts.latencyMs, opts.host);
  const tokenService = opts.tokenHost ? await startFakeServer(handler, 0, opts.tokenHost) : undefined;
  const closeRegistry = server.close;

  const fake: FakeOciRegistry = Object.assign(server, {
    url: `oci://${server.origin.slice('http://'.length)}/charts`,
    mode: opts.mode ?? 'bearer',
    users: new Map(Object.entries(opts.users ?? {})),
    deniedUsers: new Set(opts.deniedUsers ?? []),
    issuedTokens: new Set<string>(),
    tokenService,
    async close() {
      await Promise.all([closeRegistry(), tokenService?.close()]);
    },
  });
  return fake;
}

function ok(res: ServerResponse): void {
  sendJson(res, 200, {}, { 'Docker-Distribution-API-Version': 'registry/2.0' });
}

function errors(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ code, message, detail: null }] }, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
}
