import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('namespace_id', 'text', (c) => c.notNull().references('namespaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    // Non-secret, type-specific fields (username, provider, projectId, publicKey, ...) as JSON.
    .addColumn('public_fields', 'text', (c) => c.notNull())
    // AES-256-GCM envelope of the secret fields, and the id of the key that sealed it.
    .addColumn('secret_ciphertext', 'text')
    .addColumn('secret_key_id', 'text')
    .addColumn('validation_status', 'text', (c) => c.notNull().defaultTo('UNCHECKED'))
    .addColumn('validation_message', 'text')
    .addColumn('last_validated_at', 'text')
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('credentials_namespace_name', ['namespace_id', 'name'])
    .execute();
  await db.schema.createIndex('credentials_key').on('credentials').column('secret_key_id').execute();

  await db.schema
    .createTable('registries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('namespace_id', 'text', (c) => c.notNull().references('namespaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.references('credentials.id').onDelete('set null'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('registries_namespace_name', ['namespace_id', 'name'])
    .execute();
  await db.schema.createIndex('registries_credential').on('registries').columns(['credential_id', 'name']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('registries').execute();
  await db.schema.dropTable('credentials').execute();
}
