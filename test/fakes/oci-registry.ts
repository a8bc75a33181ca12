/**
 * Fake OCI distribution registry with repository scope. In "bearer" mode (Docker Hub, GHCR,
 * Harbor) every endpoint challenges with `WWW-Authenticate: Bearer realm=...,service=...` and
 * /token swaps basic auth for a token, as in the Docker Registry v2 token authentication
 * protocol: it refuses only a wrong login; a good one always gets a token, whose JWT `access`
 * claim grants `pull` only on the requested repositories the user may pull (narrower, or
 * empty). The registry then refuses at the repository: 401 with `error="insufficient_scope"`
 * and the scope needed. In "basic" mode the registry checks basic auth itself and answers 403
 * DENIED at a repository the user may not pull. A repository the token may pull but that does
 * not exist is 404 NAME_UNKNOWN (as a Helm namespace such as acme/charts, whose charts live below it).
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { basicAuthOf, bearerTokenOf, sendJson, startFakeServer, type FakeServer, type Handler } from './server.js';

export interface Access {
  type: 'repository';
  name: string;
  actions: string[];
}

export interface FakeOciRegistry extends FakeServer {
  /** Registry URL as users give it, like oci://ghcr.io/org/charts (here the repository `charts`). */
  url: string;
  mode: 'bearer' | 'basic';
  /** username -> password */
  users: Map<string, string>;
  /** username -> repositories they may pull, or namespaces ending in "/" (Harbor projects). Without an entry: every repository. */
  pullRights: Map<string, string[]>;
  /** repository -> its tags: the repositories that exist. */
  repositories: Map<string, string[]>;
  /** Tokens handed out by /token -> the access they grant (the JWT's `access` claim). */
  issuedTokens: Map<string, Access[]>;
  /** With `tokenHost`: the token service on a host of its own, which the challenge names (like auth.docker.io). */
  tokenService?: FakeServer;
}

const SERVICE = 'fake-registry';
const TAGS_LIST = /^\/v2\/(.+)\/tags\/list$/;

export async function startFakeOciRegistry(
  opts: {
    users?: Record<string, string>;
    pullRights?: Record<string, string[]>;
    repositories?: Record<string, string[]>;
    mode?: 'bearer' | 'basic';
    latencyMs?: number;
    host?: string;
    tokenHost?: string;
  } = {},
) {
  const handler: Handler = (req, res, url) => {
    const login = basicAuthOf(req);
    const user = login && fake.users.get(login.username) === login.password ? login.username : undefined;

    if (url.pathname === '/token') {
      if (url.searchParams.get('service') !== SERVICE) return errors(res, 400, 'UNSUPPORTED', 'unknown service');
      if (req.headers.authorization && !user) return errors(res, 401, 'UNAUTHORIZED', 'authentication required');
      const access = url.searchParams.getAll('scope').flatMap((scope) => granted(user, scope));
      const token = jwt({ iss: SERVICE, aud: SERVICE, sub: user ?? '', exp: Math.floor(Date.now() / 1000) + 300, access });
      fake.issuedTokens.set(token, access);
      return sendJson(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
    }

    const repository = TAGS_LIST.exec(url.pathname)?.[1];
    if (url.pathname !== '/v2/' && repository === undefined) return errors(res, 404, 'NOT_FOUND', 'not found');
    const scope = repository === undefined ? undefined : `repository:${repository}:pull`;

    if (fake.mode === 'basic') {
      if (!user) return errors(res, 401, 'UNAUTHORIZED', 'authentication required', { 'WWW-Authenticate': 'Basic realm="Registry Realm"' });
      if (repository !== undefined && !mayPull(user, repository)) return errors(res, 403, 'DENIED', 'requested access to the resource is denied');
      return answer(res, repository);
    }
    const token = bearerTokenOf(req);
    const access = token === undefined ? undefined : fake.issuedTokens.get(token);
    const realm = `Bearer realm="${(fake.tokenService ?? fake).origin}/token",service="${SERVICE}"`;
    if (!access) return errors(res, 401, 'UNAUTHORIZED', 'authentication required', { 'WWW-Authenticate': scope ? `${realm},scope="${scope}"` : realm });
    if (repository !== undefined && !access.some((a) => a.name === repository && a.actions.includes('pull'))) {
      return errors(res, 401, 'UNAUTHORIZED', 'authentication required', {
        'WWW-Authenticate': `${realm},scope="${scope}",error="insufficient_scope"`,
      });
    }
    return answer(res, repository);
  };

  /** What a token for `scope` grants `user`: pull on a repository they may pull, nothing else. */
  function granted(user: string | undefined, scope: string): Access[] {
    const match = /^repository:([^:]+):([a-z,*]+)$/.exec(scope);
    if (!user || !match || !match[2].split(',').includes('pull') || !mayPull(user, match[1])) return [];
    return [{ type: 'repository', name: match[1], actions: ['pull'] }];
  }

  function mayPull(user: string, repository: string): boolean {
    const rights = fake.pullRights.get(user);
    return !rights || rights.some((r) => r === repository || (r.endsWith('/') && repository.startsWith(r)));
  }

  function answer(res: ServerResponse, repository: string | undefined): void {
    if (repository === undefined) return sendJson(res, 200, {}, { 'Docker-Distribution-API-Version': 'registry/2.0' });
    const tags = fake.repositories.get(repository);
    if (!tags) return errors(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    sendJson(res, 200, { name: repository, tags }, { 'Docker-Distribution-API-Version': 'registry/2.0' });
  }

  const server = await startFakeServer(handler, opts.latencyMs, opts.host);
  const tokenService = opts.tokenHost ? await startFakeServer(handler, 0, opts.tokenHost) : undefined;
  const closeRegistry = server.close;

  const fake: FakeOciRegistry = Object.assign(server, {
    url: `oci://${server.origin.slice('http://'.length)}/charts`,
    mode: opts.mode ?? 'bearer',
    users: new Map(Object.entries(opts.users ?? {})),
    pullRights: new Map(Object.entries(opts.pullRights ?? {})),
    repositories: new Map(Object.entries(opts.repositories ?? { charts: ['0.1.0'] })),
    issuedTokens: new Map<string, Access[]>(),
    tokenService,
    async close() {
      await Promise.all([closeRegistry(), tokenService?.close()]);
    },
  });
  return fake;
}

/** A JWT as registries' token services issue them (signed with a key nobody checks here). */
function jwt(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`;
}

function errors(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ code, message, detail: null }] }, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
}
