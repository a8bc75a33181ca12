import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.js';
import type { Principal, Role } from '../policy.js';
import type { Invalidated, Invalidation, Invalidations } from '../store/cache.js';
import type { DB } from '../store/db.js';
import { hashSecret, parseSecret, secretHint, type SecretKind } from './secrets.js';

/** Why a bearer token was refused; the description is safe to show to the token's holder. */
export class InvalidTokenError extends Error {
  constructor(
    readonly description: string,
    /** Only for well-formed secrets: lets an owner recognise which token failed. */
    readonly hint: string | null,
  ) {
    super(description);
  }
}

interface CacheEntry {
  principal: Principal;
  userId: string | null;
  /** Epoch ms after which the entry must be re-checked (token expiry, end of a grace period). */
  validUntil: number | null;
}

const LAST_USED_INTERVAL_MS = 60_000;

/**
 * The hot path: a checksum check before any lookup, SHA-256 of the secret, a short-lived
 * cache of verified principals (dropped at once on revoke / disable / regenerate / role
 * change), and `last_used_at` written at most once a minute per token, off the response path.
 */
export class TokenVerifier implements Invalidated {
  private readonly cache: LRUCache<string, CacheEntry>;
  private readonly lastUsedWrites = new LRUCache<string, number>({ max: 100_000 });

  constructor(
    private readonly db: DB,
    private readonly log: Logger,
    private readonly invalidations: Invalidations,
    cacheTtlSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.cache = new LRUCache({ max: 50_000, ttl: Math.max(cacheTtlSeconds, 0) * 1000 || 1 });
    invalidations.listen(this);
  }

  async verify(secret: string): Promise<Principal> {
    const kind = parseSecret(secret);
    if (!kind) throw new InvalidTokenError('token is malformed (bad prefix, length or checksum)', null);
    const hash = hashSecret(secret);
    const now = this.now().getTime();
    const cached = this.cache.get(hash);
    const entry = cached && (cached.validUntil === null || cached.validUntil > now) ? cached : await this.load(hash, kind, secret);
    this.touch(entry.principal.tokenId);
    return entry.principal;
  }

  apply(invalidation: Invalidation): void {
    const matches = (e: CacheEntry) =>
      ('tokenId' in invalidation && e.principal.tokenId === invalidation.tokenId) ||
      ('userId' in invalidation && e.userId === invalidation.userId) ||
      ('namespaceId' in invalidation && e.principal.kind === 'API_TOKEN' && e.principal.namespaceId === invalidation.namespaceId);
    for (const [key, entry] of this.cache.entries()) if (matches(entry)) this.cache.delete(key);
  }

  private async load(hash: string, kind: SecretKind, secret: string): Promise<CacheEntry> {
    const hint = secretHint(secret);
    const generation = this.invalidations.generation;
    const row = await this.db
      .selectFrom('tokens as t')
      .leftJoin('users as u', 'u.id', 't.user_id')
      .leftJoin('namespaces as n', 'n.id', 't.namespace_id')
      .select([
        't.id', 't.kind', 't.name', 't.role', 't.admin', 't.enabled', 't.expires_at', 't.revoked_at', 't.user_id',
        't.namespace_id', 't.secret_hash', 't.previous_secret_expires_at',
        'u.username', 'u.is_admin', 'u.disabled', 'n.name as namespace_name',
      ])
      .where((eb) => eb.or([eb('t.secret_hash', '=', hash), eb('t.previous_secret_hash', '=', hash)]))
      .executeTakeFirst();
    const now = this.now();
    // Unknown and revoked read the same: neither tells a holder anything worth knowing.
    if (!row || row.kind !== kind || row.revoked_at) throw new InvalidTokenError('token is not valid (unknown or revoked)', hint);
    let validUntil = row.expires_at ? Date.parse(row.expires_at) : null;
    if (row.secret_hash !== hash) {
      const graceEnds = row.previous_secret_expires_at ? Date.parse(row.previous_secret_expires_at) : 0;
      if (graceEnds <= now.getTime()) throw new InvalidTokenError('token has been regenerated; use the new secret', hint);
      validUntil = Math.min(validUntil ?? Infinity, graceEnds);
    }
    if (!row.enabled) throw new InvalidTokenError('token is disabled', hint);
    if (row.expires_at && Date.parse(row.expires_at) <= now.getTime()) {
      throw new InvalidTokenError(`token expired at ${row.expires_at}`, hint);
    }
    if (row.disabled) throw new InvalidTokenError(`user ${row.username} is disabled`, hint);

    // A secret in its grace period acts only until the grace ends: that is its lifetime, for the
    // rule that a token makes nothing that outlives it too.
    const expiresAt = validUntil === null ? null : new Date(validUntil).toISOString();
    const principal: Principal =
      row.kind === 'API'
        ? { kind: 'API_TOKEN', tokenId: row.id, tokenName: row.name!, namespaceId: row.namespace_id!, namespaceName: row.namespace_name!, role: row.role as Role, expiresAt }
        : row.kind === 'PERSONAL'
          ? {
              kind: 'PERSONAL_ACCESS_TOKEN', tokenId: row.id, tokenName: row.name!, userId: row.user_id!, username: row.username!,
              isAdmin: Boolean(row.is_admin && row.admin), maxRole: row.role as Role, expiresAt,
            }
          : { kind: 'USER_SESSION', tokenId: row.id, userId: row.user_id!, username: row.username!, isAdmin: Boolean(row.is_admin), expiresAt };
    const entry: CacheEntry = { principal, userId: row.user_id, validUntil };
    // A change heard while the row was read may have made it stale: used once, not kept.
    if (generation === this.invalidations.generation) this.cache.set(hash, entry);
    return entry;
  }

  private touch(tokenId: string): void {
    const now = this.now();
    const last = this.lastUsedWrites.get(tokenId);
    if (last !== undefined && now.getTime() - last < LAST_USED_INTERVAL_MS) return;
    this.lastUsedWrites.set(tokenId, now.getTime());
    setImmediate(() => {
      this.db
        .updateTable('tokens')
        .set({ last_used_at: now.toISOString() })
        .where('id', '=', tokenId)
        .execute()
        .catch((err) => this.log.warn({ err, tokenId }, 'could not record token use'));
    });
  }
}
