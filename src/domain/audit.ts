import { createHash, randomUUID } from 'node:crypto';
import type { AuditEventsTable } from '../../db/types.js';
import type { RequestMeta } from '../context.js';
import { principalName, type Principal, type PrincipalKind } from '../policy.js';
import type { Executor } from '../store/db.js';

export type AuditOutcome = 'SUCCESS' | 'DENIED' | 'ERROR';
export type AuditRecord = Omit<AuditEventsTable, 'seq'>;

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  namespace?: string | null;
  target?: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditActor {
  kind: PrincipalKind | null;
  name: string | null;
}

export const actorOf = (p: Principal | null): AuditActor =>
  p ? { kind: p.kind, name: principalName(p) } : { kind: null, name: null };

/** Events record what was asked, but a 10 000-character name is cut, not stored whole. */
const clip = (value: string | null | undefined, max = 300): string | null =>
  value == null ? null : value.length > max ? `${value.slice(0, max)}…` : value;

/** The fields an event's hash covers, in a fixed order; the verify script uses the same function. */
export function hashAuditEvent(e: Omit<AuditRecord, 'hash'>): string {
  const content = [
    e.id, e.occurred_at, e.action, e.outcome, e.actor_kind, e.actor_name, e.namespace, e.target,
    e.request_id, e.ip_address, e.user_agent, e.details, e.prev_hash,
  ];
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/**
 * Appends one event to the hash chain inside the caller's transaction, so a change
 * never lands without its event. Updating the single head row serialises writers on
 * PostgreSQL too (SQLite transactions are serial anyway).
 */
export async function appendAudit(
  trx: Executor,
  dialect: 'sqlite' | 'postgres',
  meta: RequestMeta,
  actor: AuditActor,
  entry: AuditEntry,
  at: Date,
): Promise<AuditRecord> {
  let headQuery = trx.selectFrom('audit_chain_head').select(['hash', 'seq']).where('id', '=', 1);
  if (dialect === 'postgres') headQuery = headQuery.forUpdate();
  const head = await headQuery.executeTakeFirstOrThrow();
  const event: Omit<AuditRecord, 'hash'> = {
    id: randomUUID(),
    occurred_at: at.toISOString(),
    action: entry.action,
    outcome: entry.outcome,
    actor_kind: actor.kind,
    actor_name: actor.name,
    namespace: clip(entry.namespace),
    target: clip(entry.target),
    request_id: meta.requestId,
    ip_address: clip(meta.ipAddress),
    user_agent: clip(meta.userAgent),
    details: entry.details ? JSON.stringify(entry.details) : null,
    prev_hash: head.hash,
  };
  const record = { ...event, hash: hashAuditEvent(event) };
  await trx.insertInto('audit_events').values(record).execute();
  await trx.updateTable('audit_chain_head').set({ hash: record.hash, seq: Number(head.seq) + 1 }).where('id', '=', 1).execute();
  return record;
}
