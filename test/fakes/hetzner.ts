/** Fake Hetzner Cloud API: GET /v1/servers with a Bearer token, errors shaped like Hetzner's. */
import { bearerTokenOf, sendJson, startFakeServer, type FakeServer } from './server.js';

export interface FakeHetzner extends FakeServer {
  /** Base URL, like https://api.hetzner.cloud/v1 */
  url: string;
  /** Tokens with access. */
  tokens: Set<string>;
  /** Tokens that authenticate but lack permission (403). */
  forbiddenTokens: Set<string>;
}

export async function startFakeHetzner(opts: { tokens?: string[]; forbiddenTokens?: string[]; latencyMs?: number } = {}) {
  const server = await startFakeServer((req, res, url) => {
    const token = bearerTokenOf(req);
    if (!token || !(fake.tokens.has(token) || fake.forbiddenTokens.has(token))) {
      return sendJson(res, 401, { error: { code: 'unauthorized', message: 'unable to authenticate' } });
    }
    if (fake.forbiddenTokens.has(token)) {
      return sendJson(res, 403, { error: { code: 'forbidden', message: 'insufficient permissions for this request' } });
    }
    if (req.method === 'GET' && url.pathname === '/v1/servers') {
      const perPage = Number(url.searchParams.get('per_page') ?? 25);
      return sendJson(res, 200, {
        servers: [],
        meta: { pagination: { page: 1, per_page: perPage, previous_page: null, next_page: null, last_page: 1, total_entries: 0 } },
      });
    }
    return sendJson(res, 404, { error: { code: 'not_found', message: 'not found' } });
  }, opts.latencyMs);

  const fake: FakeHetzner = Object.assign(server, {
    url: `${server.origin}/v1`,
    tokens: new Set(opts.tokens ?? []),
    forbiddenTokens: new Set(opts.forbiddenTokens ?? []),
  });
  return fake;
}
