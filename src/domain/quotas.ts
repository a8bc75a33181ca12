import type { SelectQueryBuilder } from 'kysely';
import type { Database } from '../../db/types.js';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { adminRole, type Principal } from '../policy.js';
import type { Executor } from '../store/db.js';
import { DomainError } from './errors.js';

/**
 * How many live objects a principal without administrator rights may have, in one table.
 * Administrators are the operators: quotas contain everyone else. Only what is live counts
 * (revoked tokens, ended or expired sessions, deleted objects do not), so freeing a slot is
 * revoking or deleting one. The defaults are far above what a real installation uses; they
 * bound what one careless script or one abusive account can pile up. (A person works in a
 * few dozen namespaces with a handful of tokens and sessions; a busy namespace holds a few
 * dozen CI tokens and credentials.)
 */
export const QUOTAS = {
  namespacesPerUser: {
    setting: 'SCOPEGATE_QUOTA_NAMESPACES_PER_USER',
    default: 100,
    owner: 'user',
    what: 'namespaces created',
    remedy: 'delete one',
    count: (db, userId) => db.selectFrom('namespaces').where('created_by', '=', userId),
  },
  personalTokensPerUser: {
    setting: 'SCOPEGATE_QUOTA_PERSONAL_TOKENS_PER_USER',
    default: 100,
    owner: 'user',
    what: 'personal access tokens',
    remedy: 'revoke one',
    // Expired ones count until revoked: regenerating brings them back.
    count: (db, userId) => db.selectFrom('tokens').where('kind', '=', 'PERSONAL').where('user_id', '=', userId).where('revoked_at', 'is', null),
  },
  /** Never refused: a login over it ends the user's oldest sessions instead (endOldestSessions). */
  sessionsPerUser: {
    setting: 'SCOPEGATE_QUOTA_SESSIONS_PER_USER',
    default: 50,
    owner: 'user',
    what: 'live sessions',
    remedy: 'log out of one',
    count: (db, userId, now) =>
      db.selectFrom('tokens').where('kind', '=', 'SESSION').where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now),
  },
  apiTokensPerNamespace: {
    setting: 'SCOPEGATE_QUOTA_API_TOKENS_PER_NAMESPACE',
    default: 500,
    owner: 'namespace',
    what: 'API tokens',
    remedy: 'revoke one',
    count: (db, namespaceId) => db.selectFrom('tokens').where('kind', '=', 'API').where('namespace_id', '=', namespaceId).where('revoked_at', 'is', null),
  },
  credentialsPerNamespace: {
    setting: 'SCOPEGATE_QUOTA_CREDENTIALS_PER_NAMESPACE',
    default: 500,
    owner: 'namespace',
    what: 'credentials',
    remedy: 'delete one',
    count: (db, namespaceId) => db.selectFrom('credentials').where('namespace_id', '=', namespaceId),
  },
  registriesPerNamespace: {
    setting: 'SCOPEGATE_QUOTA_REGISTRIES_PER_NAMESPACE',
    default: 500,
    owner: 'namespace',
    what: 'registries',
    remedy: 'delete one',
    count: (db, namespaceId) => db.selectFrom('registries').where('namespace_id', '=', namespaceId),
  },
  /** Validating a credential checks every registry that uses it: this bounds one call's fan-out. */
  registriesPerCredential: {
    setting: 'SCOPEGATE_QUOTA_REGISTRIES_PER_CREDENTIAL',
    default: 50,
    owner: 'credential',
    what: 'registries using it',
    remedy: 'give one of them another credential',
    count: (db, credentialId) => db.selectFrom('registries').where('credential_id', '=', credentialId),
  },
} as const satisfies Record<string, Quota>;

interface Quota {
  /** The environment variable that sets it (src/config.ts). */
  setting: `SCOPEGATE_QUOTA_${string}`;
  default: number;
  /** Whose objects are counted: the row that is locked while counting. */
  owner: keyof typeof OWNER_TABLE;
  what: string;
  remedy: string;
  count: (db: Executor, ownerId: string, now: string) => SelectQueryBuilder<Database, any, {}>;
}

export type QuotaName = keyof typeof QUOTAS;
export type QuotaSetting = (typeof QUOTAS)[QuotaName]['setting'];

const OWNER_TABLE = { user: 'users', namespace: 'namespaces', credential: 'credentials' } as const;

/** Administrators are not limited; neither by quotas nor by the mutation limit. */
export const unlimited = (p: Principal | null): boolean => p !== null && adminRole(p) !== null;

export const quotaLimit = (config: Config, quota: QuotaName): number => config[QUOTAS[quota].setting];

async function countFor(trx: Executor, quota: QuotaName, ownerId: string, now: string): Promise<number> {
  const count: Quota['count'] = QUOTAS[quota].count;
  const { n } = await count(trx, ownerId, now).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(n);
}

/**
 * Serialises quota checks per owner until the transaction ends. SQLite transactions are serial
 * already (begin immediate); on PostgreSQL two transactions would both count n-1 and both
 * insert. FOR NO KEY UPDATE conflicts with itself but not with the key-share locks that
 * foreign keys take, so inserts that do not check a quota are not held up. (Outside a
 * transaction a check is only advisory: there is nothing to hold.)
 */
async function lockOwner(ctx: Context, trx: Executor, quota: QuotaName, ownerId: string): Promise<void> {
  if (ctx.app.dialect !== 'postgres' || !trx.isTransaction) return;
  const table = OWNER_TABLE[QUOTAS[quota].owner] as 'users'; // any of them: each has an id
  await trx.selectFrom(table).select('id').where('id', '=', ownerId).forNoKeyUpdate().execute();
}

/**
 * Refuses one more object over the quota with QUOTA_EXCEEDED, naming the limit and its
 * setting. Runs inside the mutation's transaction, before the insert: the count and the insert
 * commit together. `owner.name` names it in the message: 'namespace "acme"', 'user "bob"'.
 */
export async function withinQuota(ctx: Context, trx: Executor, quota: QuotaName, owner: { id: string; name: string }): Promise<void> {
  if (unlimited(ctx.principal)) return;
  const limit = quotaLimit(ctx.app.config, quota);
  await lockOwner(ctx, trx, quota, owner.id);
  if ((await countFor(trx, quota, owner.id, ctx.app.now().toISOString())) < limit) return;
  const { setting, what, remedy } = QUOTAS[quota];
  throw new DomainError(
    'QUOTA_EXCEEDED',
    `${owner.name} reached the quota of ${limit} ${what} (${setting}): ${remedy}, or ask an administrator to raise it`,
    { quota, limit, setting },
  );
}

/**
 * Sessions over the quota end, oldest first, to make room for a new login (as GitHub and
 * GitLab do): refusing would lock a user out of their own account because of sessions they
 * forgot on other machines. Call inside the login transaction; returns the ended sessions'
 * ids, to drop from the verified-token cache once it commits.
 */
export async function endOldestSessions(ctx: Context, trx: Executor, user: { id: string; isAdmin: boolean }): Promise<string[]> {
  if (user.isAdmin) return [];
  await lockOwner(ctx, trx, 'sessionsPerUser', user.id);
  const now = ctx.app.now().toISOString();
  const live = await QUOTAS.sessionsPerUser.count(trx, user.id, now).select('id').orderBy('created_at').orderBy('id').execute();
  const ended = live.slice(0, Math.max(0, live.length - quotaLimit(ctx.app.config, 'sessionsPerUser') + 1)).map((s) => s.id);
  if (ended.length) await trx.updateTable('tokens').set({ revoked_at: now, updated_at: now }).where('id', 'in', ended).execute();
  return ended;
}
