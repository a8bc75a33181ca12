/**
 * The one place where provider checks touch the network: a bounded deadline,
 * network failures mapped to UNREACHABLE, HTTP refusals mapped to INVALID with
 * a hint of what to check, and every message scrubbed of the secrets involved.
 */
import type { ProviderOptions, ValidationResult } from './types.js';

export interface Reply {
  status: number;
  headers: Headers;
  /** At most MAX_BODY_BYTES of the body: enough for any answer we read. */
  body: string;
}

export interface GetOptions {
  headers?: Record<string, string>;
  /** Credential headers: sent only to the origin of the first URL, never after a cross-origin redirect. */
  auth?: Record<string, string>;
}

/** One provider check: every request shares one deadline. */
export interface ProviderSession {
  get(url: string, options?: GetOptions): Promise<Reply>;
}

const MAX_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Secrets shorter than this are not worth scrubbing: replacing every "a" would garble messages.
const MIN_REDACT_LENGTH = 4;

/** Thrown inside a check when no answer came back; turned into UNREACHABLE by runCheck. */
class NoAnswer extends Error {}

/**
 * Runs one provider check. `secrets` are scrubbed from whatever message comes
 * out, so a provider echoing a token back cannot leak it into our API or logs.
 */
export async function runCheck(
  service: string,
  opts: ProviderOptions,
  secrets: string[],
  check: (session: ProviderSession) => Promise<ValidationResult>,
): Promise<ValidationResult> {
  const session = createSession(service, opts);
  let result: ValidationResult;
  try {
    result = await check(session);
  } catch (err) {
    if (!(err instanceof NoAnswer)) throw err;
    result = { status: 'UNREACHABLE', message: err.message };
  }
  return { ...result, message: capitalise(redact(result.message, secrets)) };
}

function createSession(service: string, opts: ProviderOptions): ProviderSession {
  const fetchImpl = opts.fetch ?? fetch;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const userAgent = opts.userAgent ?? 'scopegate';

  async function get(url: string, { headers = {}, auth = {} }: GetOptions = {}): Promise<Reply> {
    const origin = new URL(url).origin;
    let target = url;
    // Redirects are followed by hand so credentials never travel to another origin.
    for (let hop = 0; ; hop++) {
      const sameOrigin = new URL(target).origin === origin;
      const response = await send(target, { ...headers, ...(sameOrigin ? auth : {}), 'User-Agent': userAgent });
      const location = response.headers.get('location');
      if (REDIRECT_STATUSES.has(response.status) && location && hop < MAX_REDIRECTS) {
        await response.body?.cancel();
        target = new URL(location, target).toString();
        continue;
      }
      return { status: response.status, headers: response.headers, body: await readBody(response) };
    }
  }

  async function send(url: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await fetchImpl(url, { method: 'GET', headers, redirect: 'manual', signal });
    } catch (err) {
      throw noAnswer(err);
    }
  }

  async function readBody(response: Response): Promise<string> {
    try {
      return await readLimited(response, MAX_BODY_BYTES);
    } catch (err) {
      throw noAnswer(err);
    }
  }

  function noAnswer(err: unknown): NoAnswer {
    if (signal.aborted) return new NoAnswer(`${service} did not answer within ${opts.timeoutMs} ms; try again later.`);
    return new NoAnswer(`Could not reach ${service}: ${describeNetworkError(err)}.`);
  }

  return { get };
}

/** A body as JSON, or undefined when it is not JSON. Typed loosely: callers probe optional fields. */
export function parseJson(body: string): any {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

async function readLimited(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate is not trusted (self-signed chain)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not match the host name',
};

function describeNetworkError(err: unknown): string {
  // fetch wraps the socket error as `cause`; happy-eyeballs may wrap several.
  const cause = (err as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (code) return NETWORK_ERRORS[code] ?? code;
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Maps a refusal to a result: 401/403 and other 4xx are INVALID (the provider
 * said no), 429 and 5xx are UNREACHABLE (no verdict on the credentials).
 */
export function refusal(service: string, reply: Reply, hint?: string): ValidationResult {
  const { status } = reply;
  const detail = providerDetail(reply.body);
  const said = detail ? ` The provider said: "${detail}".` : '';
  if (status >= 500) {
    const message = `${service} answered HTTP ${status}, a problem on its side; try again later.${said}`;
    return { status: 'UNREACHABLE', message };
  }
  if (status === 429) {
    return { status: 'UNREACHABLE', message: `${service} is rate limiting requests (HTTP 429); try again later.` };
  }
  const [verb, defaultHint] =
    status === 401
      ? ['rejected the credentials', 'check that they are correct and have not been revoked or expired']
      : status === 403
        ? ['refused access', 'the credentials are missing the required scopes or permissions']
        : ['refused the request', 'check the credentials and the configured endpoint'];
  return {
    status: 'INVALID',
    httpStatus: status,
    message: `${service} ${verb} (HTTP ${status}): ${hint ?? defaultHint}.${said}`,
  };
}

// Service names read "the OVH API" mid-sentence; results start with a capital.
function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A short, human-readable error from the common JSON error shapes of the providers we call. */
function providerDetail(body: string): string | undefined {
  const v = parseJson(body);
  const candidates = [
    v?.error_description, // GitLab OAuth-style: "Token is expired..."
    v?.error?.message, // Hetzner
    v?.message, // GitHub, GitLab, OVH
    v?.errors?.[0]?.message, // OCI distribution
    v?.errorCode, // OVH
    typeof v?.error === 'string' ? v.error : undefined,
  ];
  const found = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
  return found?.replace(/\s+/g, ' ').trim().replace(/\.$/, '').slice(0, 200);
}

export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= MIN_REDACT_LENGTH) out = out.split(secret).join('[redacted]');
  }
  return out;
}

/** The base64 part of a Basic Authorization header: as secret as the password inside it. */
export function basicCredentials(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname === '::1';
}

/** base + path with exactly one slash between them, whatever the configured base ends with. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
