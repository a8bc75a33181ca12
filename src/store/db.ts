import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type LogEvent,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type SqliteDatabase,
  type SqliteDialectConfig,
  sql,
  type Transaction,
} from 'kysely';
import { LRUCache } from 'lru-cache';
import type Pg from 'pg';
import { lazyRequire } from '../lazy.js';
import { migrations } from '../../db/migrations/index.js';
import type { Database } from '../../db/types.js';

const pg = lazyRequire<typeof Pg>('pg');

export type DB = Kysely<Database>;
/** Either the database or an open transaction: store functions take whichever the caller holds. */
export type Executor = Kysely<Database> | Transaction<Database>;

export interface OpenedDatabase {
  db: DB;
  dialect: 'sqlite' | 'postgres';
}

/**
 * Transactions take the write lock when they begin. A deferred `begin` that reads and then
 * writes fails at once with SQLITE_BUSY when another process (a second replica, the key
 * rotation script) writes meanwhile; `begin immediate` waits for it under busy_timeout.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new (class extends SqliteDriver {
      override async beginTransaction(connection: DatabaseConnection): Promise<void> {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      }
    })(this.settings);
  }
}

/**
 * Kysely asks better-sqlite3 to prepare every statement it runs; this compiles each SQL text
 * once and keeps it. Statements are only ever run one at a time (Kysely holds the single
 * connection for each), and SQLite re-prepares a kept statement itself after a schema change.
 * Bounded: `in (?, ?, …)` lists make a text per length.
 */
function withStatementCache(database: SQLite.Database, max = 500): SqliteDatabase {
  const statements = new LRUCache<string, SQLite.Statement>({ max });
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = statements.get(text);
      if (!statement) statements.set(text, (statement = database.prepare(text)));
      return statement;
    },
  };
}

/** `onQuery` sees every statement (tests count them to prove lists cost a constant number). */
export function openDatabase(url: string, onQuery?: (event: LogEvent) => void, onConnectionError?: (err: Error) => void): OpenedDatabase {
  const log = onQuery ? (event: LogEvent) => onQuery(event) : undefined;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new (pg().Pool)({ connectionString: url, max: 10 });
    // An idle connection the server closes (restart, failover, admin) is dropped by the pool
    // and emitted here; unheard, that event would crash the process.
    pool.on('error', (err) => onConnectionError?.(err));
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log }), dialect: 'postgres' };
  }
  if (url !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(url)), { recursive: true });
  const database = new SQLite(url);
  database.pragma('journal_mode = WAL');
  // WAL makes NORMAL durable against application crashes; only a power loss can lose the
  // last commits, never corrupt the file. Set here because it is per connection.
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return { db: new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(database) }), log }), dialect: 'sqlite' };
}

export async function migrateToLatest(db: DB): Promise<void> {
  const migrator = new Migrator({ db, provider: migrations });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function ping(db: DB): Promise<void> {
  await sql`select 1`.execute(db);
}

/** A unique constraint refused the write (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
