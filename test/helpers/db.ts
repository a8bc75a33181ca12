import Database from 'better-sqlite3';
import type { TestServer } from './server.js';

/**
 * Runs `work` on a connection of its own to the server's SQLite file: read-only unless asked,
 * or writable to change something behind the server's back (as another replica, or an
 * attacker with the file, would). Any SQLite file will do: `{ dbFile }` names a copy.
 */
export function withDatabase<T>(server: Pick<TestServer, 'dbFile'>, work: (db: Database.Database) => T, { writable = false } = {}): T {
  const db = new Database(server.dbFile, { readonly: !writable, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return work(db);
  } finally {
    db.close();
  }
}

/** An audit event as stored, the fields tests look at. */
export interface StoredAuditEvent {
  action: string;
  outcome: 'SUCCESS' | 'DENIED' | 'ERROR';
  actor_kind: string | null;
  actor_name: string | null;
  namespace: string | null;
  target: string | null;
  details: string | null;
}

/**
 * The audit events one request wrote, oldest first, read straight from the SQLite file
 * (send the request with an `x-request-id` header of your own to find them).
 */
export function auditEventsOf(server: TestServer, requestId: string): StoredAuditEvent[] {
  return withDatabase(server, (db) =>
    db
      .prepare('select action, outcome, actor_kind, actor_name, namespace, target, details from audit_events where request_id = ? order by seq')
      .all(requestId) as StoredAuditEvent[],
  );
}
