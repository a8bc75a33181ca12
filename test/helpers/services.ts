import { Redis } from 'ioredis';

/**
 * The outside services some tests need (PostgreSQL, Redis). Their runs may be skipped only
 * when nothing answers at the address and CI is not set; on CI, where both always run, and
 * for any other error (a refused login, a missing permission), the test file fails.
 */

/** Set on CI (any value but "false"): a service that is not there is then a failure. */
export const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';

/** Errors that mean nothing answers at the address. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[]; cause?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && UNREACHABLE.has(e.code)) return true;
  // Several addresses tried (localhost as ::1 and 127.0.0.1): unreachable if none answered.
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every(isUnreachable);
  // pg's connectionTimeoutMillis: no connection within the time.
  if (e.message === 'Connection terminated due to connection timeout') return true;
  return e.cause !== undefined && isUnreachable(e.cause);
}

const describeError = (err: unknown) => {
  const e = err as { code?: unknown; message?: unknown };
  return [e?.code, e?.message].filter((part) => typeof part === 'string' && part).join(': ') || String(err);
};

/** The URL without its password, for messages. */
const shown = (url: string) => {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
};

/**
 * `service` at `url` could not be used because of `err`: returns why its tests are skipped
 * (and warns) when nothing answers there and CI is not set; otherwise throws.
 */
export function skipOrFail(service: string, url: string, err: unknown, file?: string): string {
  const detail = describeError(err);
  if (!isUnreachable(err)) {
    throw new Error(`cannot use ${service} at ${shown(url)} (${detail}): only "nothing answers there" may skip, and this is not that`, { cause: err });
  }
  if (inCI) throw new Error(`no ${service} at ${shown(url)} (${detail}), and CI is set: it must run there`, { cause: err });
  const reason = `no ${service} at ${shown(url)} (${detail})`;
  console.warn(`${file ? `${file}: ` : ''}skipping the ${service} tests: ${reason}; with CI set they fail instead`);
  return reason;
}

/** A suite's name that says why it is skipped, when it is. */
export const suiteName = (name: string, skipped: string | null) => (skipped ? `${name} [skipped: ${skipped}]` : name);

/** Null when Redis at `url` answers PING, else why its tests are skipped (or throws: see skipOrFail). */
export async function redisSkipReason(url: string, file?: string): Promise<string | null> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 10_000, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  // A failed connect rejects with "Connection is closed."; the socket's own error came here first.
  let socketError: unknown;
  client.on('error', (err) => (socketError ??= err));
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
    return null;
  } catch (err) {
    return skipOrFail('Redis', url, socketError ?? err, file);
  } finally {
    client.disconnect();
  }
}
