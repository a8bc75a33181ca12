import type { Kysely } from 'kysely';

/**
 * The hosts each credential's current secret has been sent to (by validation). A secret
 * leaving for a host not listed here is audited like a reveal.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('credential_destinations')
    .addColumn('credential_id', 'text', (c) => c.notNull().references('credentials.id').onDelete('cascade'))
    // URL host: name or address, and the port when it is not the scheme's default.
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('first_sent_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('credential_destinations_pk', ['credential_id', 'host'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('credential_destinations').execute();
}
