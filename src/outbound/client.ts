/**
 * The one client for requests to the outside (provider and registry checks, later webhooks).
 * Each session is one undici Agent whose connector resolves the host, checks every address
 * with the policy and connects to the address it checked: a name cannot resolve to one
 * address for the check and another for the connection (DNS rebinding). Redirects are
 * followed only within the same origin, time is one deadline per session, bodies are cut at
 * 64 KiB, and failures become a few fixed messages: the cause goes to the server log only.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import { lazyRequire } from '../lazy.js';
import { refusalFor, refusalMessage, type OutboundPolicy, type Refusal } from './policy.js';

export interface Reply {
  status: number;
  header(name: string): string | undefined;
  /** At most MAX_BODY_BYTES of the body, for the caller to interpret; never to be shown to anyone. */
  body: string;
}

export interface GetOptions {
  headers?: Record<string, string>;
  /** Headers that carry a secret: the session records the host they went to. */
  auth?: Record<string, string>;
  /** Who is asked, for messages ("the token service of …"); the session's service by default. */
  service?: string;
}

export interface SessionOptions {
  policy: OutboundPolicy;
  /** One deadline for everything the session does. */
  timeoutMs: number;
  /** A deadline shared with other sessions (that timeoutMs started): used instead of one of its own. */
  deadline?: AbortSignal;
  /** Who is asked, in messages: "the Hetzner Cloud API". */
  service: string;
  userAgent?: string;
  log?: { warn(details: object, message: string): void };
}

export interface OutboundSession {
  get(url: string, options?: GetOptions): Promise<Reply>;
  /** Hosts (URL `host`: name or address, and a port other than the default) that received `auth` headers. */
  readonly sentTo: string[];
  close(): Promise<void>;
}

/** A failure worded for the caller: no address, no cause, no response text. */
export class OutboundError extends Error {
  override name = 'OutboundError';
}

/** The guard said no, before any connection. */
class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(`outbound destination refused: ${refusal}`);
  }
}

const undici = lazyRequire<typeof import('undici')>('undici');
const MAX_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function openSession(opts: SessionOptions): OutboundSession {
  const { policy, timeoutMs, log } = opts;
  const signal = opts.deadline ?? AbortSignal.timeout(timeoutMs);
  const { Agent, buildConnector, request } = undici();
  const connectChecked = buildConnector({ timeout: timeoutMs });
  // Origins a socket was opened to: a request that carried secrets there may have delivered them.
  const connected = new Set<string>();
  const sentTo = new Set<string>();

  const agent = new Agent({
    connect(options, callback) {
      checkedAddress(options.protocol, options.hostname).then(
        (address) =>
          connectChecked({ ...options, hostname: address, servername: isIP(options.hostname) ? undefined : options.hostname }, (...args) => {
            if (!args[0]) connected.add(`${options.protocol}//${options.host}`);
            callback(...args);
          }),
        (err: Error) => callback(err, null),
      );
    },
  });

  /** The address to connect to, after every address the host resolves to passed the policy. */
  async function checkedAddress(protocol: string, hostname: string): Promise<string> {
    const addresses = isIP(hostname) ? [hostname] : (await lookup(hostname, { all: true })).map((a) => a.address);
    for (const address of addresses) {
      const refusal = refusalFor(policy, protocol, hostname, address);
      if (refusal) {
        log?.warn({ outbound: { host: hostname, address, refusal } }, 'outbound destination refused');
        throw new Refused(refusal);
      }
    }
    return addresses[0];
  }

  async function get(url: string, { headers = {}, auth = {}, service = opts.service }: GetOptions = {}): Promise<Reply> {
    let target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      throw new OutboundError(`${service} is not at an http(s) address; scopegate contacts nothing else`);
    }
    const origin = target.origin;
    const carriesSecret = Object.keys(auth).length > 0;
    for (let hop = 0; ; hop++) {
      const response = await send(target, { ...headers, ...auth, 'user-agent': opts.userAgent ?? 'scopegate' }, carriesSecret, service);
      const location = REDIRECT_STATUSES.has(response.statusCode) ? headerOf(response.headers, 'location') : undefined;
      if (location === undefined) {
        const body = await readLimited(response.body).catch((err) => {
          throw failure(err, target, service);
        });
        return { status: response.statusCode, header: (name) => headerOf(response.headers, name), body };
      }
      discard(response.body);
      const next = URL.canParse(location, target) ? new URL(location, target) : undefined;
      // Same scheme, host and port only: the secrets' destination and the guard's verdict stay what they were.
      if (next?.origin !== origin) {
        throw new OutboundError(`${service} redirected to another address; scopegate follows redirects only within the same scheme, host and port`);
      }
      if (hop === MAX_REDIRECTS) throw new OutboundError(`${service} redirected more than ${MAX_REDIRECTS} times`);
      target = next;
    }
  }

  async function send(url: URL, headers: Record<string, string>, carriesSecret: boolean, service: string) {
    try {
      return await request(url, { method: 'GET', headers, dispatcher: agent, signal });
    } catch (err) {
      throw failure(err, url, service);
    } finally {
      if (carriesSecret && connected.has(`${url.protocol}//${url.host}`)) sentTo.add(url.host);
    }
  }

  function failure(err: unknown, url: URL, service: string): OutboundError {
    if (err instanceof Refused) return new OutboundError(refusalMessage(err.refusal, service));
    log?.warn({ outbound: { host: url.host, cause: causeOf(err) } }, 'outbound request failed');
    if (signal.aborted) return new OutboundError(`${service} did not answer within ${timeoutMs} ms; try again later`);
    return new OutboundError(`could not connect to ${service} (the server log has the cause)`);
  }

  return {
    get,
    get sentTo() {
      return [...sentTo];
    },
    close: () => agent.destroy().catch(() => {}),
  };
}

function headerOf(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) {
      discard(body);
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

/** Stops reading a body: the abort this causes on its request is expected, not an error to report. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** The error code (or name) for the log: fetch-style errors keep the socket's error as `cause`. */
function causeOf(err: unknown): string {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code ?? e?.name ?? 'unknown';
}
