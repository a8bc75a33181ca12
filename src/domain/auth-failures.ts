import { LRUCache } from 'lru-cache';
import type { RequestMeta } from '../context.js';
import type { Logger } from '../logger.js';
import type { DB } from '../store/db.js';
import type { Keyring } from '../credentials/crypto.js';
import { type AuditActor, appendAudit, logAudit } from './audit.js';

export interface AuthFailure {
  /** auth.failed for a refused bearer token, auth.login for a refused password, mutation.rate_limited for a caller over the mutation limit. */
  action: 'auth.failed' | 'auth.login' | 'mutation.rate_limited';
  reason: string;
  /** Recognisable part of the token, only when its checksum was valid. */
  hint?: string | null;
  /** The username a failed login named. */
  target?: string | null;
  /** Who was refused, when they are known (a valid token over a limit): they, not their address, are the source. */
  actor?: AuditActor;
}

interface Window {
  first: RequestMeta & AuthFailure;
  since: string;
  more: number;
}

const WINDOW_MS = 60_000;

/**
 * Records failed authentications (and other refusals of a whole request) without letting a
 * flood of them flood the trail: the first failure from a source (actor or else address, +
 * action + reason) is written at once, the rest of its one-minute window are counted and
 * written as one folded event when the window closes (or at shutdown).
 */
export class AuthFailureRecorder {
  private readonly windows: LRUCache<string, Window>;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly db: DB,
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly keyring: Keyring,
    private readonly log: Logger,
    private readonly now: () => Date,
    windowMs = WINDOW_MS,
  ) {
    this.windows = new LRUCache<string, Window>({
      max: 10_000,
      ttl: windowMs,
      ttlAutopurge: true,
      dispose: (window) => {
        if (window.more > 0) this.track(this.write(window.first, { count: window.more, folded: true, since: window.since }));
      },
    });
  }

  async record(meta: RequestMeta, failure: AuthFailure): Promise<void> {
    const key = JSON.stringify([failure.actor?.name ?? meta.ipAddress, failure.action, failure.reason]);
    const window = this.windows.get(key, { updateAgeOnGet: false });
    if (window) {
      window.more++;
      return;
    }
    this.windows.set(key, { first: { ...meta, ...failure }, since: this.now().toISOString(), more: 0 });
    await this.track(this.write({ ...meta, ...failure }, { count: 1 }));
  }

  /** Writes the folded counts still open; call before closing the database. */
  async flush(): Promise<void> {
    this.windows.clear();
    await Promise.allSettled([...this.pending]);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    return promise.finally(() => this.pending.delete(promise));
  }

  private async write(failure: RequestMeta & AuthFailure, extra: Record<string, unknown>): Promise<void> {
    const entry = {
      action: failure.action,
      outcome: 'DENIED' as const,
      target: failure.target ?? null,
      details: { reason: failure.reason, ...(failure.hint ? { hint: failure.hint } : {}), ...extra },
    };
    try {
      const record = await this.db
        .transaction()
        .execute((trx) => appendAudit(trx, this.dialect, failure, failure.actor ?? { kind: null, name: null }, entry, this.now(), this.keyring));
      logAudit(this.log, record);
    } catch (err) {
      this.log.error({ err }, 'could not record a failed authentication in the audit trail');
    }
  }
}
