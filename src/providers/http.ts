/**
 * Provider checks over the guarded outbound client (src/outbound): one session per check
 * (one deadline, one record of where the secrets went), guard and network failures mapped
 * to UNREACHABLE, HTTP refusals to INVALID with a fixed hint. No response text reaches a message.
 */
import { openSession, OutboundError, type OutboundSession } from '../outbound/client.js';
import type { ProviderOptions, ValidationResult, Verdict } from './types.js';

export type { GetOptions, Reply } from '../outbound/client.js';
export type ProviderSession = Pick<OutboundSession, 'get'>;

/** Runs one provider check; the result says where its secrets went, whatever the verdict. */
export async function runCheck(
  service: string,
  opts: ProviderOptions,
  check: (session: ProviderSession) => Promise<Verdict>,
): Promise<ValidationResult> {
  const session = openSession({ ...opts, service });
  try {
    const verdict = await check(session).catch((err): Verdict => {
      if (err instanceof OutboundError) return { status: 'UNREACHABLE', message: `${err.message}.` };
      throw err;
    });
    return { ...verdict, message: capitalise(verdict.message), sentTo: session.sentTo };
  } finally {
    await session.close();
  }
}

/** A body as JSON, or undefined when it is not JSON. Typed loosely: callers probe optional fields. */
export function parseJson(body: string): any {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/**
 * Maps a refusal to a verdict: 401/403 and other 4xx are INVALID (the provider said no),
 * 429 and 5xx are UNREACHABLE (no verdict on the credentials). The provider's own words
 * are not repeated: a body is whatever the other side chose to put there.
 */
export function refusal(service: string, reply: { status: number }, hint?: string): Verdict {
  const { status } = reply;
  if (status >= 500) {
    return { status: 'UNREACHABLE', message: `${service} answered HTTP ${status}, a problem on its side; try again later.` };
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
  return { status: 'INVALID', httpStatus: status, message: `${service} ${verb} (HTTP ${status}): ${hint ?? defaultHint}.` };
}

// Service names read "the OVH API" mid-sentence; results start with a capital.
function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The base64 part of a Basic Authorization header: as secret as the password inside it. */
export function basicCredentials(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** base + path with exactly one slash between them, whatever the configured base ends with. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
