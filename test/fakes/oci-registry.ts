/**
 * Fake OCI distribution registry. In "bearer" mode (Docker Hub, GHCR, Harbor)
 * /v2/ always challenges with `WWW-Authenticate: Bearer realm=...` and /token
 * swaps basic auth for a token; in "basic" mode /v2/ checks basic auth itself.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { basicAuthOf, bearerTokenOf, sendJson, startFakeServer, type FakeServer } from './server.js';

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
}

const SERVICE = 'fake-registry';

export async function startFakeOciRegistry(
  opts: { users?: Record<string, string>; deniedUsers?: string[]; mode?: 'bearer' | 'basic'; latencyMs?: number } = {},
) {
  const server = await startFakeServer((req, res, url) => {
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
      'WWW-Authenticate': `Bearer realm="${fake.origin}/token",service="${SERVICE}"`,
    });

    function authenticatedUser(): string | undefined {
      const login = basicAuthOf(req);
      return login && fake.users.get(login.username) === login.password ? login.username : undefined;
    }
  }, opts.latencyMs);

  const fake: FakeOciRegistry = Object.assign(server, {
    url: `oci://${server.origin.slice('http://'.length)}/charts`,
    mode: opts.mode ?? 'bearer',
    users: new Map(Object.entries(opts.users ?? {})),
    deniedUsers: new Set(opts.deniedUsers ?? []),
    issuedTokens: new Set<string>(),
  });
  return fake;
}

function ok(res: ServerResponse): void {
  sendJson(res, 200, {}, { 'Docker-Distribution-API-Version': 'registry/2.0' });
}

function errors(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ code, message, detail: null }] }, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
}
