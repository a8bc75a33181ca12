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
  /** Only on the window of targets past the named ones: the distinct targets it stands for. */
  unnamed?: Set<string>;
}

const WINDOW_MS = 60_000;
/** Targets named per address and window; past them, one event counts the rest. */
const NAMED_TARGETS = 20;
const MAX_COUNTED_TARGETS = 10_000;

/**
 * Records failed authentications (and other refusals of a whole request) without letting a
 * flood of them flood the trail: the first failure from a source (actor or else address, +
 * action + reason + target) is written at once, the rest of its one-minute window are
 * counted and written as one folded event when the window closes (or at shutdown). The
 * target (the username a login named, the hint of a well-formed token) is part of the key,
 * so a decoy cannot hide the account under attack; past 20 targets per source and window,
 * one event counts the distinct rest, so a flood of random names stays a few events.
 */
export class AuthFailureRecorder {
  private readonly windows: LRUCache<string, Window>;
  /** Targets named so far, per address and window. */
  private readonly named: LRUCache<string, Set<string>>;
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
        if (window.more === 0) return;
        const distinct = window.unnamed ? { distinctTargets: window.unnamed.size } : {};
        this.track(this.write(window.first, { count: window.more, folded: true, since: window.since, ...distinct }));
      },
    });
    this.named = new LRUCache<string, Set<string>>({ max: 10_000, ttl: windowMs });
  }

  /** The failure's target as its fold key names it: itself while the address has named fewer than 20. */
  private targetOf(meta: RequestMeta, failure: AuthFailure): { target: string | null; unnamed: boolean } {
    const target = failure.target ?? failure.hint ?? null;
    if (target === null) return { target, unnamed: false };
    const source = JSON.stringify([failure.actor?.name ?? meta.ipAddress, failure.action]);
    const named = this.named.get(source) ?? new Set<string>();
    this.named.set(source, named, { noUpdateTTL: named.size > 0 });
    if (named.has(target) || named.size < NAMED_TARGETS) {
      named.add(target);
      return { target, unnamed: false };
    }
    return { target: null, unnamed: true };
  }

  async record(meta: RequestMeta, failure: AuthFailure): Promise<void> {
    const { target, unnamed } = this.targetOf(meta, failure);
    const key = JSON.stringify([failure.actor?.name ?? meta.ipAddress, failure.action, failure.reason, unnamed ? '*' : target]);
    const window = this.windows.get(key, { updateAgeOnGet: false });
    const subject = failure.target ?? failure.hint ?? '';
    if (window) {
      window.more++;
      if (window.unnamed && window.unnamed.size < MAX_COUNTED_TARGETS) window.unnamed.add(subject);
      return;
    }
    // Past the named targets the event names none of them: only how many there were.
    const first = unnamed ? { ...meta, ...failure, target: null, hint: null } : { ...meta, ...failure };
    this.windows.set(key, { first, since: this.now().toISOString(), more: 0, ...(unnamed ? { unnamed: new Set([subject]) } : {}) });
    await this.track(this.write(first, { count: 1, ...(unnamed ? { targetsNotNamed: true } : {}) }));
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
