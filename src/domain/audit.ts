import { createHash, createHmac, hkdfSync, randomUUID } from 'node:crypto';
import type { AuditEventsTable } from '../../db/types.js';
import type { App, RequestMeta } from '../context.js';
import type { Keyring } from '../credentials/crypto.js';
import type { Logger } from '../logger.js';
import { principalName, type Principal, type PrincipalKind } from '../policy.js';
import type { Executor } from '../store/db.js';
import { recordedName } from './validation.js';
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

/** What events written at start (not on a request) record as their request. */
export const startupMeta: RequestMeta = { requestId: 'startup', ipAddress: null, userAgent: null };

export const actorOf = (p: Principal | null): AuditActor =>
  p ? { kind: p.kind, name: principalName(p) } : { kind: null, name: null };

/** Events record what was asked, but a 10 000-character name is cut, not stored whole. */
const clip = (value: string | null | undefined, max = 300): string | null =>
  value == null ? null : value.length > max ? `${value.slice(0, max)}…` : value;

// The trail can never be pruned (it is chained): every event is bounded, per value and whole.
const MAX_DETAIL_VALUE = 500;
const MAX_DETAIL_ITEMS = 50;
const MAX_DETAILS = 4096;

const clipDetail = (value: unknown): unknown => {
  if (typeof value === 'string') return clip(value, MAX_DETAIL_VALUE);
  if (Array.isArray(value)) return value.slice(0, MAX_DETAIL_ITEMS).map(clipDetail).concat(value.length > MAX_DETAIL_ITEMS ? [`… ${value.length - MAX_DETAIL_ITEMS} more`] : []);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).slice(0, MAX_DETAIL_ITEMS).map(([k, v]) => [clip(k, 100), clipDetail(v)]));
  return value;
};

/** Details as stored: each value clipped; if still over 4 KiB, the largest fields are dropped and named. */
function boundedDetails(details: Record<string, unknown>): string {
  const kept = clipDetail(details) as Record<string, unknown>;
  const dropped: string[] = [];
  let text = JSON.stringify(kept);
  while (text.length > MAX_DETAILS && Object.keys(kept).length) {
    const [largest] = Object.keys(kept).sort((a, b) => JSON.stringify(kept[b]).length - JSON.stringify(kept[a]).length);
    delete kept[largest];
    dropped.push(largest);
    text = JSON.stringify({ ...kept, truncated: dropped });
  }
  return text.length > MAX_DETAILS ? JSON.stringify({ truncated: dropped.length }) : text;
}

/** HKDF label: the chain's key is derived from a keyring key, so it is independent of that key's use for encryption. */
const CHAIN_KEY_INFO = 'scopegate audit chain v1';

/** The HMAC key that seals events under one keyring key id, or null when the keyring lacks that key. */
export function chainKeyOf(keyring: Keyring, keyId: string): Buffer | null {
  const key = keyring.keys.get(keyId);
  return key ? Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), CHAIN_KEY_INFO, 32)) : null;
}

/**
 * An event's hash over its fields in a fixed order, the previous hash included. Keyed events
 * are an HMAC that also covers the key id, so only a holder of the key can recompute the chain;
 * events from before the chain was keyed (no key id) keep the plain SHA-256 they were written with.
 */
export function hashAuditEvent(e: Omit<AuditRecord, 'hash'>, chainKey: Buffer | null): string {
  const content = [
    e.id, e.occurred_at, e.action, e.outcome, e.actor_kind, e.actor_name, e.namespace, e.namespace_id, e.target,
    e.request_id, e.ip_address, e.user_agent, e.details, e.prev_hash,
  ];
  if (e.chain_key_id === null) return createHash('sha256').update(JSON.stringify(content)).digest('hex');
  if (!chainKey) throw new Error(`no key to hash an audit event sealed with key id "${e.chain_key_id}"`);
  return createHmac('sha256', chainKey).update(JSON.stringify([...content, e.chain_key_id])).digest('hex');
}

/**
 * Appends one event to the hash chain inside the caller's transaction, so a change
 * never lands without its event; it is sealed with the keyring's active key. Updating the
 * single head row serialises writers on PostgreSQL too (SQLite transactions are serial anyway).
 * Once the transaction commits, the caller writes the event to the log with `logAudit`.
 */
export async function appendAudit(
  trx: Executor,
  dialect: 'sqlite' | 'postgres',
  meta: RequestMeta,
  actor: AuditActor,
  entry: AuditEntry,
  at: Date,
  keyring: Keyring,
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
    // The name a refused request named: only if it is one (it could be anything typed there).
    namespace: entry.namespace ? recordedName(entry.namespace.name) : null,
    namespace_id: entry.namespace?.id ?? null,
    target: clip(entry.target),
    request_id: meta.requestId,
    ip_address: clip(meta.ipAddress),
    user_agent: clip(meta.userAgent),
    details: entry.details ? boundedDetails(entry.details) : null,
    prev_hash: head.hash,
    chain_key_id: keyring.activeKeyId,
  };
  const record = { ...event, hash: hashAuditEvent(event, chainKeyOf(keyring, keyring.activeKeyId)) };
  await trx.insertInto('audit_events').values(record).execute();
  await trx.updateTable('audit_chain_head').set({ hash: record.hash }).where('id', '=', 1).execute();
  return record;
}

/**
 * The event as a JSON log line (`msg: "audit"`), hash included: shipped elsewhere, it is what
 * `audit:verify --log` compares the database with. Call it only after the event's transaction
 * committed, or the log would hold an event the database never had.
 */
export function logAudit(log: Logger, record: AuditRecord): void {
  log.info({ audit: { ...record, details: record.details ? JSON.parse(record.details) : null } }, 'audit');
}

/**
 * A trail written before the chain was keyed ends in unkeyed events, which anyone who can
 * write the database could rewrite. One keyed event on top seals them (it covers the last
 * one's hash); from then on the verifier requires the trail to end in a keyed event.
 */
export async function sealUnkeyedTrail(app: App): Promise<void> {
  const record = await app.db.transaction().execute(async (trx) => {
    const newest = await trx.selectFrom('audit_events').select('chain_key_id').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (!newest || newest.chain_key_id !== null) return null;
    return appendAudit(trx, app.dialect, startupMeta, actorOf(null), { action: 'audit.chain_keyed', outcome: 'SUCCESS' }, app.now(), app.keyring);
  });
  if (record) logAudit(app.log, record);
}

export interface ChainReport {
  ok: boolean;
  events: number;
  /** The first event that breaks the chain, and why. */
  problem?: { seq: number | null; id: string | null; reason: string };
}

/**
 * Walks the trail oldest first: each event's hash must match its content (under the key it
 * names), and it must point at the hash of the event before it; the head row must point at
 * the last one. An edited row fails its own hash; a removed or reordered one breaks the link;
 * a chain recomputed without the key has unkeyed events after keyed ones, or ends unkeyed.
 * Removing the newest events and moving the head back is invisible here: compare with the log.
 */
export async function verifyAuditChain(db: Executor, keyring: Keyring, batchSize = 5000): Promise<ChainReport> {
  let previous = GENESIS_HASH;
  let lastSeq = -1;
  let events = 0;
  let keyed = false;
  const keys = new Map<string, Buffer | null>();
  for (;;) {
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', lastSeq).orderBy('seq').limit(batchSize).execute();
    for (const row of rows) {
      const { seq, hash, ...content } = row;
      const broken = (reason: string): ChainReport => ({ ok: false, events, problem: { seq: Number(seq), id: row.id, reason } });
      const keyId = content.chain_key_id;
      if (keyId === null && keyed) return broken('it is not keyed although an earlier event is: the chain was recomputed without the key');
      if (keyId !== null && !keys.has(keyId)) keys.set(keyId, chainKeyOf(keyring, keyId));
      const key = keyId === null ? null : keys.get(keyId)!;
      if (keyId !== null && !key) {
        return broken(`it was sealed with key "${keyId}", which is missing from the keyring: add that key to SCOPEGATE_KEYRING to verify it`);
      }
      if (hashAuditEvent(content, key) !== hash) {
        return broken(
          keyId === null
            ? 'its content does not match its hash: the event was altered'
            : `its content does not match its hash under key "${keyId}": the event was altered, or this is not the key "${keyId}" that sealed it`,
        );
      }
      if (row.prev_hash !== previous) {
        return broken('it does not follow the event before it: an earlier event was removed, or events were reordered');
      }
      keyed = keyId !== null;
      previous = hash;
      lastSeq = Number(seq);
      events++;
    }
    if (rows.length < batchSize) break;
  }
  const atEnd = (reason: string): ChainReport => ({ ok: false, events, problem: { seq: lastSeq < 0 ? null : lastSeq, id: null, reason } });
  if (events > 0 && !keyed) {
    return atEnd('the newest event is not keyed: the chain was recomputed without the key, or no server has started since the chain became keyed');
  }
  const head = await db.selectFrom('audit_chain_head').select('hash').where('id', '=', 1).executeTakeFirst();
  if (!head || head.hash !== previous) return atEnd('the newest events were removed: the trail ends before the recorded head of the chain');
  return { ok: true, events };
}
