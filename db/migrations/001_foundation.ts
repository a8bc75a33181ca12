import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text')
    .addColumn('password_hash', 'text')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('namespaces')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text')
    .addColumn('description', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('memberships')
    .addColumn('namespace_id', 'text', (c) => c.notNull().references('namespaces.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('memberships_pk', ['namespace_id', 'user_id'])
    .execute();
  await db.schema.createIndex('memberships_user').on('memberships').columns(['user_id', 'namespace_id']).execute();

  await db.schema
    .createTable('tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('description', 'text')
    .addColumn('namespace_id', 'text', (c) => c.references('namespaces.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('role', 'text')
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('secret_hint', 'text', (c) => c.notNull())
    .addColumn('previous_secret_hash', 'text')
    .addColumn('previous_secret_expires_at', 'text')
    .addColumn('secret_rotated_at', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tokens_previous_secret').on('tokens').column('previous_secret_hash').execute();
  // Names are unique among live tokens only: a revoked token's name can be reused.
  await db.schema
    .createIndex('tokens_api_name')
    .on('tokens')
    .columns(['namespace_id', 'name'])
    .unique()
    .where(sql.ref('kind'), '=', 'API')
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('tokens_personal_name')
    .on('tokens')
    .columns(['user_id', 'name'])
    .unique()
    .where(sql.ref('kind'), '=', 'PERSONAL')
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();

  const isPostgres = db.getExecutor().adapter.constructor.name.includes('Postgres');
  await db.schema
    .createTable('audit_events')
    .addColumn('seq', isPostgres ? 'bigserial' : 'integer', (c) =>
      isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('actor_kind', 'text')
    .addColumn('actor_name', 'text')
    // The namespace's name at the time, and its id: a later namespace reusing the name
    // must not see this trail. No foreign key: the trail outlives the namespace.
    .addColumn('namespace', 'text')
    .addColumn('namespace_id', 'text')
    .addColumn('target', 'text')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('ip_address', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('details', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  // Keyset paging runs newest first on seq; each filter gets an index that ends in seq.
  for (const column of ['namespace_id', 'action', 'actor_name', 'target', 'outcome']) {
    await db.schema.createIndex(`audit_events_${column}`).on('audit_events').columns([column, 'seq']).execute();
  }
  await db.schema.createIndex('audit_events_occurred_at').on('audit_events').column('occurred_at').execute();

  await db.schema
    .createTable('audit_chain_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.insertInto('audit_chain_head').values({ id: 1, hash: GENESIS_HASH }).execute();
}

/** The previous hash of the very first audit event. */
export const GENESIS_HASH = '0'.repeat(64);

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_chain_head', 'audit_events', 'tokens', 'memberships', 'namespaces', 'users']) {
    await db.schema.dropTable(table).execute();
  }
}
