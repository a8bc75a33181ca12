import type { Kysely } from 'kysely';

/**
 * One check value per key id, recorded the first time a key is used: a restart with other
 * material under the same id is refused instead of sealing new secrets beside old ones it
 * cannot read (src/credentials/key-checks.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('key_checks')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('check_value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('key_checks').execute();
}
