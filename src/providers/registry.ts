/**
 * Helm chart registries: HTTP repositories serve index.yaml behind basic auth;
 * OCI registries answer /v2/ with basic auth or send us through the bearer
 * token dance (WWW-Authenticate: Bearer realm=...,service=...,scope=...).
 */
import { basicCredentials, isLoopbackHost, joinUrl, parseJson, refusal, runCheck, type ProviderSession } from './http.js';
import { ProviderInputError, type ProviderOptions, type ValidationResult } from './types.js';

export type RegistryKind = 'HTTP' | 'OCI';

export interface RegistryUrl {
  kind: RegistryKind;
  /** Normalised form: scheme, host[:port] and path without a trailing slash. */
  url: string;
  host: string;
  /** Where HTTP requests go: https://host, or http://host for loopback hosts (local registries in tests and dev). */
  httpBase: string;
}

export interface RegistryLogin {
  username: string;
  password: string;
}

const URL_HELP = 'use https://charts.example.com for a Helm repository or oci://ghcr.io/org/charts for an OCI registry';

/** Parses and checks a registry URL. The URL is never echoed back: it might hold credentials. */
export function parseRegistryUrl(url: string): RegistryUrl {
  const text = url.trim();
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ProviderInputError(`The registry URL is not a valid URL: ${URL_HELP}.`);
  }
  const loopback = isLoopbackHost(parsed.hostname);
  const kind = kindOf(parsed.protocol, loopback);
  if (!kind) {
    throw new ProviderInputError(`The registry URL must start with https:// or oci:// (http:// only for localhost): ${URL_HELP}.`);
  }
  if (!parsed.hostname) throw new ProviderInputError(`The registry URL has no host: ${URL_HELP}.`);
  if (parsed.username || parsed.password) {
    throw new ProviderInputError('The registry URL must not contain credentials: put them in a registry credential instead.');
  }
  if (text.includes('?') || text.includes('#')) {
    throw new ProviderInputError(`The registry URL must not have a query (?) or fragment (#): ${URL_HELP}.`);
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  return {
    kind,
    url: `${parsed.protocol}//${parsed.host}${path}`,
    host: parsed.host,
    httpBase: `${loopback ? 'http' : 'https'}://${parsed.host}`,
  };
}

function kindOf(protocol: string, loopback: boolean): RegistryKind | undefined {
  if (protocol === 'oci:') return 'OCI';
  if (protocol === 'https:' || (protocol === 'http:' && loopback)) return 'HTTP';
  return undefined;
}

export function registryKind(url: string): RegistryKind {
  return parseRegistryUrl(url).kind;
}

/** Throws ProviderInputError for a URL parseRegistryUrl refuses. */
export async function validateRegistry(url: string, login: RegistryLogin, opts: ProviderOptions): Promise<ValidationResult> {
  const target = parseRegistryUrl(url);
  const basic = basicCredentials(login.username, login.password);
  const secrets = [login.password, basic];
  const service = target.kind === 'HTTP' ? `the Helm repository ${target.host}` : `the OCI registry ${target.host}`;
  const check = target.kind === 'HTTP' ? checkHelmRepo : checkOciRegistry;
  return runCheck(service, opts, secrets, (session) => check(session, service, target, basic));
}

type Check = (session: ProviderSession, service: string, target: RegistryUrl, basic: string) => Promise<ValidationResult>;

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
  const challenge = ping.status === 401 ? bearerChallenge(ping.headers.get('www-authenticate')) : undefined;
  if (!challenge) return refusal(service, ping);

  // The token service is usually another host (auth.docker.io for Docker Hub); it gets the password, so it must be HTTPS.
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(challenge.realm);
  } catch {
    return { status: 'UNREACHABLE', message: `${service} named an invalid token service; cannot check the credentials.` };
  }
  if (tokenUrl.protocol !== 'https:' && !(tokenUrl.protocol === 'http:' && isLoopbackHost(tokenUrl.hostname))) {
    return { status: 'UNREACHABLE', message: `${service} named a token service without HTTPS; the password was not sent.` };
  }
  if (challenge.service) tokenUrl.searchParams.set('service', challenge.service);
  if (challenge.scope) tokenUrl.searchParams.set('scope', challenge.scope);

  const tokenReply = await session.get(tokenUrl.toString(), { auth: { Authorization: `Basic ${basic}` } });
  if (tokenReply.status !== 200) return refusal(`the token service of ${service}`, tokenReply);
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
function bearerChallenge(header: string | null): { realm: string; service?: string; scope?: string } | undefined {
  if (!header || !/^\s*bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const [, name, value] of header.matchAll(/(\w+)="([^"]*)"/g)) params[name.toLowerCase()] = value;
  return params.realm ? { realm: params.realm, service: params.service, scope: params.scope } : undefined;
}
