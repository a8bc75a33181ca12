/**
 * Fake GitLab REST API: GET /api/v4/user with a PRIVATE-TOKEN header, errors shaped like GitLab's.
 * Started with `tls`, it stands for a self-hosted GitLab (give its `host` as the credential's host).
 */
import { sendJson, startFakeServer, type FakeServer } from './server.js';

export interface FakeGitLab extends FakeServer {
  /** API base URL, like https://gitlab.com/api/v4 */
  url: string;
  /** token -> username */
  tokens: Map<string, string>;
  expiredTokens: Set<string>;
  /** Tokens without the read_user/api scope (403 insufficient_scope). */
  insufficientScopeTokens: Set<string>;
}

export async function startFakeGitLab(
  opts: {
    tokens?: Record<string, string>;
    expiredTokens?: string[];
    insufficientScopeTokens?: string[];
    latencyMs?: number;
    host?: string;
    tls?: boolean;
  } = {},
) {
  const server = await startFakeServer((req, res, url) => {
    const token = String(req.headers['private-token'] ?? '');
    if (fake.expiredTokens.has(token)) {
      return sendJson(res, 401, {
        error: 'invalid_token',
        error_description: 'Token is expired. You can either do re-authorization or token refresh.',
      });
    }
    if (fake.insufficientScopeTokens.has(token)) {
      return sendJson(res, 403, {
        error: 'insufficient_scope',
        error_description: 'The request requires higher privileges than provided by the access token.',
        scope: 'api read_user',
      });
    }
    const username = fake.tokens.get(token);
    if (!username) return sendJson(res, 401, { message: '401 Unauthorized' });
    if (req.method === 'GET' && url.pathname === '/api/v4/user') {
      return sendJson(res, 200, { id: 1, username, name: username, state: 'active' });
    }
    return sendJson(res, 404, { message: '404 Not Found' });
  }, opts.latencyMs, opts.host, { tls: opts.tls });

  const fake: FakeGitLab = Object.assign(server, {
    url: `${server.origin}/api/v4`,
    tokens: new Map(Object.entries(opts.tokens ?? {})),
    expiredTokens: new Set(opts.expiredTokens ?? []),
    insufficientScopeTokens: new Set(opts.insufficientScopeTokens ?? []),
  });
  return fake;
}
