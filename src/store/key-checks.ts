/** key_checks, and the stored blobs a key id sealed: what src/credentials/key-checks.ts checks keys against. */
import type { Selectable } from 'kysely';
import type { AuditEventsTable } from '../../db/types.js';
import type { Executor } from './db.js';

export async function storedCheckValues(db: Executor): Promise<Map<string, string>> {
  const rows = await db.selectFrom('key_checks').select(['key_id', 'check_value']).execute();
  return new Map(rows.map((r) => [r.key_id, r.check_value]));
}

/** Records check values; an id already recorded (by another replica meanwhile) keeps its own. */
export async function recordCheckValues(db: Executor, values: Map<string, string>, at: string): Promise<void> {
  if (!values.size) return;
  await db
    .insertInto('key_checks')
    .values([...values].map(([key_id, check_value]) => ({ key_id, check_value, created_at: at })))
    .onConflict((oc) => oc.column('key_id').doNothing())
    .execute();
}

export interface SealedSample {
  /** The newest audit event sealed under the key id. */
  event: Selectable<AuditEventsTable> | undefined;
  /** A few credential secrets sealed under it. */
  credentials: { id: string; namespace_id: string; secret_ciphertext: string }[];
}

/** Blobs sealed under `keyId`, to prove a key against before its check value is recorded. */
export async function sealedSample(db: Executor, keyId: string, limit: number): Promise<SealedSample> {
  const event = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('chain_key_id', '=', keyId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const credentials = await db
    .selectFrom('credentials')
    .select(['id', 'namespace_id', 'secret_ciphertext'])
    .where('secret_key_id', '=', keyId)
    .where('secret_ciphertext', 'is not', null)
    .orderBy('id')
    .limit(limit)
    .execute();
  return { event, credentials: credentials as SealedSample['credentials'] };
}

/** Key ids that seal stored credential secrets, other than `known` (uses the credentials_key index). */
export async function otherSecretKeyIds(db: Executor, known: string[]): Promise<string[]> {
  const rows = await db
    .selectFrom('credentials')
    .select('secret_key_id')
    .distinct()
    .where('secret_key_id', 'is not', null)
    .where('secret_key_id', 'not in', known)
    .orderBy('secret_key_id')
    .execute();
  return rows.map((r) => r.secret_key_id!);
}
