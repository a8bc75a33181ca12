/**
 * Helm chart registries: HTTP repositories serve index.yaml behind basic auth;
 * OCI registries answer /v2/ with basic auth or send us through the bearer
 * token dance (WWW-Authenticate: Bearer realm=...,service=...,scope=...).
 */
import { inputRefusal, refusalMessage, type OutboundPolicy } from '../outbound/policy.js';
import { basicCredentials, joinUrl, parseJson, refusal, runCheck, type ProviderSession } from './http.js';
import { ProviderInputError, type ProviderOptions, type ValidationResult, type Verdict } from './types.js';

export type RegistryKind = 'HTTP' | 'OCI';

export interface RegistryUrl {
  kind: RegistryKind;
  /** Normalised form: scheme, host[:port] and path without a trailing slash. */
  url: string;
  host: string;
  /** Where HTTP requests go: the URL's own scheme, and for OCI https:// unless plain http is opened for the host. */
  httpBase: string;
}

export interface RegistryLogin {
  username: string;
  password: string;
}

const URL_HELP = 'use https://charts.example.com for a Helm repository or oci://ghcr.io/org/charts for an OCI registry';

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
  return { kind, url: `${parsed.protocol}//${web.host}${path}`, host: web.host, httpBase: web.origin };
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

const checkOciRegistry: Check = async (session, service, target, basic) => {
  const v2 = `${target.httpBase}/v2/`;
  const ping = await session.get(v2, { auth: { Authorization: `Basic ${basic}` } });
  if (ping.status === 200) return { status: 'VALID', message: `${service} accepted the credentials.` };
  const challenge = ping.status === 401 ? bearerChallenge(ping.header('www-authenticate')) : undefined;
  if (!challenge) return refusal(service, ping);

  // The token service the registry names may be another host (auth.docker.io for Docker Hub): the
  // password goes there too, through the same guard, and the session records that host as well.
  if (!URL.canParse(challenge.realm)) {
    return { status: 'UNREACHABLE', message: `${service} named an invalid token service; cannot check the credentials.` };
  }
  const tokenUrl = new URL(challenge.realm);
  if (challenge.service) tokenUrl.searchParams.set('service', challenge.service);
  if (challenge.scope) tokenUrl.searchParams.set('scope', challenge.scope);

  const tokenService = `the token service of ${service}`;
  const tokenReply = await session.get(tokenUrl.toString(), { auth: { Authorization: `Basic ${basic}` }, service: tokenService });
  if (tokenReply.status !== 200) return refusal(tokenService, tokenReply);
  const answer = parseJson(tokenReply.body);
  const token = answer?.token ?? answer?.access_token;
  if (typeof token !== 'string' || token === '') {
    const message = `The token service of ${service} answered without a token; cannot check the credentials.`;
    return { status: 'UNREACHABLE', message };
  }

  const retry = await session.get(v2, { auth: { Authorization: `Bearer ${token}` } });
  if (retry.status === 200) return { status: 'VALID', message: `${service} accepted the credentials.` };
  return refusal(service, retry);
};

/** realm/service/scope of a `Bearer realm="...",service="...",scope="..."` challenge. */
function bearerChallenge(header: string | undefined): { realm: string; service?: string; scope?: string } | undefined {
  if (!header || !/^\s*bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const [, name, value] of header.matchAll(/(\w+)="([^"]*)"/g)) params[name.toLowerCase()] = value;
  return params.realm ? { realm: params.realm, service: params.service, scope: params.scope } : undefined;
}
