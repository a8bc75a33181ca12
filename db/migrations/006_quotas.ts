import { type Kysely, sql } from 'kysely';

/**
 * Quotas count what a user created and what is live. Namespaces record their creator (until
 * now only the OWNER membership the creation made said so, and memberships change hands);
 * existing ones take it from that first membership, made in the same instant as the namespace.
 * Live sessions are counted at every login, so they get an index of their own.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('namespaces').addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null')).execute();
  await sql`
    update namespaces set created_by = (
      select m.user_id from memberships m
      where m.namespace_id = namespaces.id and m.role = 'OWNER' and m.created_at = namespaces.created_at
      order by m.user_id limit 1
    )`.execute(db);
  await db.schema.createIndex('namespaces_created_by').on('namespaces').column('created_by').execute();
  await db.schema
    .createIndex('tokens_live_sessions')
    .on('tokens')
    .columns(['user_id', 'created_at'])
    .where(sql.ref('kind'), '=', 'SESSION')
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('tokens_live_sessions').execute();
  await db.schema.dropIndex('namespaces_created_by').execute();
  await db.schema.alterTable('namespaces').dropColumn('created_by').execute();
}
