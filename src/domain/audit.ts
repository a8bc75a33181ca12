import { createHash, randomUUID } from 'node:crypto';
import type { AuditEventsTable } from '../../db/types.js';
import type { RequestMeta } from '../context.js';
import { principalName, type Principal, type PrincipalKind } from '../policy.js';
import type { Executor } from '../store/db.js';
import { GENESIS_HASH } from '../../db/migrations/001_foundation.js';

export type AuditOutcome = 'SUCCESS' | 'DENIED' | 'ERROR';
export type AuditRecord = Omit<AuditEventsTable, 'seq'>;

/** A namespace as the trail records it: its name then, and its id when it exists. */
export interface AuditNamespace {
  id: string | null;
  name: string;
}

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  namespace?: AuditNamespace | null;
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
    e.id, e.occurred_at, e.action, e.outcome, e.actor_kind, e.actor_name, e.namespace, e.namespace_id, e.target,
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
  let headQuery = trx.selectFrom('audit_chain_head').select('hash').where('id', '=', 1);
  if (dialect === 'postgres') headQuery = headQuery.forUpdate();
  const head = await headQuery.executeTakeFirstOrThrow();
  const event: Omit<AuditRecord, 'hash'> = {
    id: randomUUID(),
    occurred_at: at.toISOString(),
    action: entry.action,
    outcome: entry.outcome,
    actor_kind: actor.kind,
    actor_name: actor.name,
    namespace: clip(entry.namespace?.name),
    namespace_id: entry.namespace?.id ?? null,
    target: clip(entry.target),
    request_id: meta.requestId,
    ip_address: clip(meta.ipAddress),
    user_agent: clip(meta.userAgent),
    details: entry.details ? JSON.stringify(entry.details) : null,
    prev_hash: head.hash,
  };
  const record = { ...event, hash: hashAuditEvent(event) };
  await trx.insertInto('audit_events').values(record).execute();
  await trx.updateTable('audit_chain_head').set({ hash: record.hash }).where('id', '=', 1).execute();
  return record;
}

export interface ChainReport {
  ok: boolean;
  events: number;
  /** The first event that breaks the chain, and why. */
  problem?: { seq: number | null; id: string | null; reason: string };
}

/**
 * Walks the trail oldest first: each event's hash must match its content, and it must
 * point at the hash of the event before it; the head row must point at the last one.
 * An edited row fails its own hash; a removed or reordered one breaks the link.
 */
export async function verifyAuditChain(db: Executor, batchSize = 5000): Promise<ChainReport> {
  let previous = GENESIS_HASH;
  let lastSeq = -1;
  let events = 0;
  for (;;) {
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', lastSeq).orderBy('seq').limit(batchSize).execute();
    for (const row of rows) {
      const { seq, hash, ...content } = row;
      const at = { seq: Number(seq), id: row.id };
      if (hashAuditEvent(content) !== hash) return { ok: false, events, problem: { ...at, reason: 'its content does not match its hash: the event was altered' } };
      if (row.prev_hash !== previous) {
        return { ok: false, events, problem: { ...at, reason: 'it does not follow the event before it: an earlier event was removed, or events were reordered' } };
      }
      previous = hash;
      lastSeq = Number(seq);
      events++;
    }
    if (rows.length < batchSize) break;
  }
  const head = await db.selectFrom('audit_chain_head').select('hash').where('id', '=', 1).executeTakeFirst();
  if (!head || head.hash !== previous) {
    return { ok: false, events, problem: { seq: lastSeq < 0 ? null : lastSeq, id: null, reason: 'the newest events were removed: the trail ends before the recorded head of the chain' } };
  }
  return { ok: true, events };
}
