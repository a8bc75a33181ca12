import type { Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import type { Context } from '../context.js';
import { actorOf, appendAudit, type AuditEntry, type AuditNamespace, logAudit } from './audit.js';
import { DomainError } from './errors.js';
import { auditActionOf, type MutationName } from '../policy.js';

/** Errors already written to the audit trail, so the denial recorder does not write them twice. */
export const auditedErrors = new WeakSet<object>();

export interface MutationScope {
  /** The Mutation field; its audit action comes from the policy table. */
  operation: MutationName;
  namespace?: AuditNamespace | null;
  target?: string | null;
}

export interface MutationTools {
  trx: Transaction<Database>;
  /** Non-secret details for the audit event (changed fields, reasons). */
  note: (details: Record<string, unknown>) => void;
}

const outcomeOf = (err: unknown) =>
  err instanceof DomainError && (err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND') ? 'DENIED' : 'ERROR';

const toEntry = (scope: MutationScope, outcome: AuditEntry['outcome'], details: Record<string, unknown>): AuditEntry => ({
  action: auditActionOf(scope.operation),
  namespace: scope.namespace,
  target: scope.target,
  outcome,
  details,
});

/**
 * Every mutation runs here: one transaction holding the change and its SUCCESS audit
 * event. If it fails, nothing of it lands and a DENIED or ERROR event records the attempt.
 */
export async function mutate<T>(ctx: Context, scope: MutationScope, work: (tools: MutationTools) => Promise<T>): Promise<T> {
  const { app } = ctx;
  const actor = actorOf(ctx.principal);
  let details: Record<string, unknown> = {};
  try {
    const { result, record } = await app.db.transaction().execute(async (trx) => {
      const result = await work({ trx, note: (d) => Object.assign(details, d) });
      const entry = toEntry(scope, 'SUCCESS', details);
      const record = await appendAudit(trx, app.dialect, ctx, actor, entry, app.now(), app.keyring);
      return { result, record };
    });
    logAudit(ctx.log, record);
    return result;
  } catch (err) {
    await recordFailure(ctx, scope, err, details);
    throw err;
  }
}

/** Records a refused or failed attempt in a transaction of its own. */
export async function recordFailure(ctx: Context, scope: MutationScope, err: unknown, details: Record<string, unknown> = {}) {
  const reason =
    err instanceof DomainError
      ? { code: err.code, reason: err.message, ...(err.extensions.neededRole ? { neededRole: err.extensions.neededRole } : {}) }
      : { code: 'INTERNAL_SERVER_ERROR' };
  const entry = toEntry(scope, outcomeOf(err), { ...details, ...reason });
  if (err instanceof Error) auditedErrors.add(err);
  try {
    const record = await ctx.app.db
      .transaction()
      .execute((trx) => appendAudit(trx, ctx.app.dialect, ctx, actorOf(ctx.principal), entry, ctx.app.now(), ctx.app.keyring));
    logAudit(ctx.log, record);
  } catch (auditErr) {
    ctx.log.error({ err: auditErr }, 'could not record a failed mutation in the audit trail');
  }
}

/**
 * Work that must happen before the transaction (parsing, calls to outside providers —
 * never hold a transaction open across the network): a failure is audited like one inside,
 * with what the work noted.
 */
export async function attempt<T>(ctx: Context, scope: MutationScope, work: (note: MutationTools['note']) => Promise<T>): Promise<T> {
  const details: Record<string, unknown> = {};
  try {
    return await work((d) => Object.assign(details, d));
  } catch (err) {
    await recordFailure(ctx, scope, err, details);
    throw err;
  }
}
