/**
 * Fake GitHub REST API: GET /user, and GET /api/v3/user as GitHub Enterprise Server serves it
 * (start it with `tls` and give its `host` as the credential's host); `Authorization: token|Bearer`.
 */
import { sendJson, startFakeServer, type FakeServer } from './server.js';

export interface FakeGitHub extends FakeServer {
  /** API base URL, like https://api.github.com */
  url: string;
  /** token -> login */
  tokens: Map<string, string>;
  /** Tokens that authenticate but may not read the user (403). */
  forbiddenTokens: Set<string>;
}

export async function startFakeGitHub(
  opts: { tokens?: Record<string, string>; forbiddenTokens?: string[]; latencyMs?: number; host?: string; tls?: boolean } = {},
) {
  const server = await startFakeServer((req, res, url) => {
    // GitHub refuses requests without a User-Agent.
    if (!req.headers['user-agent']) {
      return sendJson(res, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header' });
    }
    const token = /^(?:Bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const login = token ? fake.tokens.get(token) : undefined;
    if (!token || (!login && !fake.forbiddenTokens.has(token))) {
      return sendJson(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    }
    if (fake.forbiddenTokens.has(token)) {
      return sendJson(res, 403, { message: 'Resource not accessible by personal access token', status: '403' });
    }
    if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/api/v3/user')) {
      return sendJson(res, 200, { login, id: 1, type: 'User' }, { 'X-OAuth-Scopes': 'repo, read:packages' });
    }
    return sendJson(res, 404, { message: 'Not Found', status: '404' });
  }, opts.latencyMs, opts.host, { tls: opts.tls });

  const fake: FakeGitHub = Object.assign(server, {
    url: server.origin,
    tokens: new Map(Object.entries(opts.tokens ?? {})),
    forbiddenTokens: new Set(opts.forbiddenTokens ?? []),
  });
  return fake;
}
