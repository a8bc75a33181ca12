/**
 * Helm chart registries: HTTP repositories serve index.yaml behind basic auth;
 * OCI registries answer /v2/ with basic auth or send us through the bearer
 * token dance (WWW-Authenticate: Bearer realm=...,service=...,scope=...), and the
 * repository the URL names shows whether the login may pull from it (its tags list).
 */
import { inputRefusal, refusalMessage, type OutboundPolicy } from '../outbound/policy.js';
import { basicCredentials, joinUrl, parseJson, refusal, runCheck, type ProviderSession, type Reply } from './http.js';
import { ProviderInputError, type ProviderOptions, type ValidationResult, type Verdict } from './types.js';

export type RegistryKind = 'HTTP' | 'OCI';

export interface RegistryUrl {
  kind: RegistryKind;
  /** Normalised form: scheme, host[:port] and path without a trailing slash. */
  url: string;
  host: string;
  /** Where HTTP requests go: the URL's own scheme, and for OCI https:// unless plain http is opened for the host. */
  httpBase: string;
  /** OCI: the repository (or namespace of repositories) the path names, e.g. org/charts; none for a bare host. */
  repository?: string;
}

export interface RegistryLogin {
  username: string;
  password: string;
}

const URL_HELP = 'use https://charts.example.com for a Helm repository or oci://ghcr.io/org/charts for an OCI registry';
// A repository name as the OCI distribution spec defines it: lower-case components joined by "/".
const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

/**
 * Parses and checks a registry URL, refusing now what the outbound guard would refuse
 * without resolving a name (an internal or reserved IP literal, plain http it cannot open).
 * The URL is never echoed back: it might hold credentials.
 */
export function parseRegistryUrl(url: string, policy: OutboundPolicy): RegistryUrl {
  const text = url.trim();
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ProviderInputError(`The registry URL is not a valid URL: ${URL_HELP}.`);
  }
  const kind = parsed.protocol === 'oci:' ? 'OCI' : ['https:', 'http:'].includes(parsed.protocol) ? 'HTTP' : undefined;
  if (!kind) throw new ProviderInputError(`The registry URL must start with https:// or oci://: ${URL_HELP}.`);
  // oci:// hosts are not normalised by the URL parser: read the host as http(s) would ("0x7f.1" is 127.0.0.1).
  if (!parsed.hostname || !URL.canParse(`http://${parsed.host}`)) throw new ProviderInputError(`The registry URL has no valid host: ${URL_HELP}.`);
  if (parsed.username || parsed.password) {
    throw new ProviderInputError('The registry URL must not contain credentials: put them in a registry credential instead.');
  }
  if (text.includes('?') || text.includes('#')) {
    throw new ProviderInputError(`The registry URL must not have a query (?) or fragment (#): ${URL_HELP}.`);
  }
  const plain = new URL(`http://${parsed.host}`);
  // OCI names no scheme: plain http where the guard would allow it (as Docker's insecure registries), else https.
  const scheme = kind === 'HTTP' ? parsed.protocol : inputRefusal(policy, plain) ? 'https:' : 'http:';
  const web = new URL(`${scheme}//${plain.host}`);
  const refused = inputRefusal(policy, web);
  if (refused) throw new ProviderInputError(refusalMessage(refused, 'this registry'));
  const path = parsed.pathname.replace(/\/+$/, '');
  const normalised: RegistryUrl = { kind, url: `${parsed.protocol}//${web.host}${path}`, host: web.host, httpBase: web.origin };
  if (kind === 'HTTP' || path === '') return normalised;
  const repository = path.slice(1);
  if (!REPOSITORY_NAME.test(repository)) {
    throw new ProviderInputError(
      `The path of an OCI registry URL must be a repository name (lower-case letters and digits, with . _ - inside and / between parts): ${URL_HELP}.`,
    );
  }
  return { ...normalised, repository };
}

/** A stored URL that the outbound policy now refuses is UNREACHABLE: nothing was contacted. */
export async function validateRegistry(url: string, login: RegistryLogin, opts: ProviderOptions): Promise<ValidationResult> {
  let target: RegistryUrl;
  try {
    target = parseRegistryUrl(url, opts.policy);
  } catch (err) {
    if (!(err instanceof ProviderInputError)) throw err;
    return { status: 'UNREACHABLE', message: `The registry was not checked: ${err.message.replace(/\.$/, '')}.`, sentTo: [] };
  }
  const basic = basicCredentials(login.username, login.password);
  const service = target.kind === 'HTTP' ? `the Helm repository ${target.host}` : `the OCI registry ${target.host}`;
  const check = target.kind === 'HTTP' ? checkHelmRepo : checkOciRegistry;
  return runCheck(service, opts, (session) => check(session, service, target, basic));
}

type Check = (session: ProviderSession, service: string, target: RegistryUrl, basic: string) => Promise<Verdict>;

const checkHelmRepo: Check = async (session, service, target, basic) => {
  const reply = await session.get(joinUrl(target.url, 'index.yaml'), { auth: { Authorization: `Basic ${basic}` } });
  if (reply.status === 404) return refusal(service, reply, 'there is no index.yaml at this URL; check the repository URL');
  if (reply.status !== 200) return refusal(service, reply);
  if (!/^apiVersion:/m.test(reply.body)) {
    return {
      status: 'INVALID',
      httpStatus: reply.status,
      message: `${service} served an index.yaml without apiVersion: this URL is not a Helm chart repository.`,
    };
  }
  return { status: 'VALID', message: `${service} accepted the credentials and served its index.` };
};

/**
 * /v2/ proves the login (with basic auth, or with the token the registry's token service swaps it
 * for); the tags list of the URL's repository then shows whether that login may pull from it.
 * The token is asked for with that repository's pull scope: a token service refuses only a wrong
 * login, and grants a right one what it may have, so "no pull" is the registry's answer at the
 * repository (401 insufficient_scope or 403), not at the token service.
 */
const checkOciRegistry: Check = async (session, service, target, basic) => {
  const { repository } = target;
  const scopes = repository ? [`repository:${repository}:pull`] : [];
  let authorization = `Basic ${basic}`;
  let swapped = false;

  /** A GET with the login; the first bearer challenge swaps it for a token, and the GET is asked again. */
  const get = async (url: string): Promise<Reply | Verdict> => {
    const reply = await session.get(url, { auth: { Authorization: authorization } });
    const challenge = reply.status === 401 && !swapped ? bearerChallenge(reply.header('www-authenticate')) : undefined;
    if (!challenge) return reply;
    swapped = true;
    const token = await bearerToken(session, service, challenge, basic, scopes);
    if (typeof token !== 'string') return token;
    authorization = `Bearer ${token}`;
    return session.get(url, { auth: { Authorization: authorization } });
  };

  const ping = await get(`${target.httpBase}/v2/`);
  if ('message' in ping) return ping;
  if (ping.status !== 200) return refusal(service, ping);
  if (!repository) return { status: 'VALID', message: `${service} accepted the credentials.` };

  const tags = await get(`${target.httpBase}/v2/${repository}/tags/list?n=1`);
  if ('message' in tags) return tags;
  if (tags.status === 200) return { status: 'VALID', message: `${service} accepted the credentials, with pull access to ${repository}.` };
  if (tags.status === 404) {
    // Allowed to pull, but nothing there: a namespace whose charts are repositories below it (acme/charts/app).
    const message = `${service} accepted the credentials; ${repository} has no tags of its own (its charts may be repositories below it), so pull access was not checked there.`;
    return { status: 'VALID', message };
  }
  if (tags.status === 401 || tags.status === 403) {
    return {
      status: 'INVALID',
      httpStatus: tags.status,
      message:
        `${service} accepted the login but gives it no pull access to ${repository} (HTTP ${tags.status}): ` +
        'grant the account pull (read) access to that repository, or check the path of the registry URL.',
    };
  }
  return refusal(service, tags);
};

/** The token service's answer to the login, for the challenge's scope and ours: a token, or why there is none. */
async function bearerToken(
  session: ProviderSession,
  service: string,
  challenge: { realm: string; service?: string; scope?: string },
  basic: string,
  scopes: string[],
): Promise<string | Verdict> {
  // The token service the registry names may be another host (auth.docker.io for Docker Hub): the
  // password goes there too, through the same guard, and the session records that host as well.
  if (!URL.canParse(challenge.realm)) {
    return { status: 'UNREACHABLE', message: `${service} named an invalid token service; cannot check the credentials.` };
  }
  const tokenUrl = new URL(challenge.realm);
  if (challenge.service) tokenUrl.searchParams.set('service', challenge.service);
  for (const scope of new Set([...(challenge.scope ? [challenge.scope] : []), ...scopes])) tokenUrl.searchParams.append('scope', scope);

  const tokenService = `the token service of ${service}`;
  const reply = await session.get(tokenUrl.toString(), { auth: { Authorization: `Basic ${basic}` }, service: tokenService });
  if (reply.status !== 200) return refusal(tokenService, reply);
  const answer = parseJson(reply.body);
  const token = answer?.token ?? answer?.access_token;
  if (typeof token !== 'string' || token === '') {
    return { status: 'UNREACHABLE', message: `The token service of ${service} answered without a token; cannot check the credentials.` };
  }
  return token;
}

/** realm/service/scope of a `Bearer realm="...",service="...",scope="..."` challenge. */
function bearerChallenge(header: string | undefined): { realm: string; service?: string; scope?: string } | undefined {
  if (!header || !/^\s*bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const [, name, value] of header.matchAll(/(\w+)="([^"]*)"/g)) params[name.toLowerCase()] = value;
  return params.realm ? { realm: params.realm, service: params.service, scope: params.scope } : undefined;
}
