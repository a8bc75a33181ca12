import type { Kysely } from 'kysely';

/**
 * The audit chain becomes keyed: each new event records the id of the keyring key whose
 * derived HMAC key sealed it. Events from before keep null and their plain SHA-256 hash.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('chain_key_id', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audit_events').dropColumn('chain_key_id').execute();
}
