/**
 * The audit chain is keyed (HMAC under a key derived from the keyring), so someone who can
 * write the database but lacks the key cannot rewrite it unnoticed; the server's JSON log,
 * shipped elsewhere, reveals the one thing a database alone cannot: its newest events removed.
 * Every check runs the real `audit:verify` script as a child process on a real SQLite file.
 */
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from './helpers/db.js';
import { auditVerify } from './helpers/scripts.js';
import { actions } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const GENESIS = '0'.repeat(64);
const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');

type Row = Record<string, any> & { seq: number; id: string; hash: string; prev_hash: string; chain_key_id: string | null };

const FIELDS = ['id', 'occurred_at', 'action', 'outcome', 'actor_kind', 'actor_name', 'namespace', 'namespace_id', 'target', 'request_id', 'ip_address', 'user_agent', 'details', 'prev_hash'];
/** The hash as the chain had it before it was keyed: plain SHA-256, which anyone can recompute. */
const plainHash = (row: Row) => createHash('sha256').update(JSON.stringify(FIELDS.map((f) => row[f]))).digest('hex');

const rowsOf = (db: Database.Database) => db.prepare('select * from audit_events order by seq').all() as Row[];

/**
 * What someone who can write the database but lacks the key can do: rewrite the events from
 * `fromSeq` to `toSeq` with plain SHA-256, relinking each to the one before, and move the head
 * if the rewrite reaches the end.
 */
function rechainWithoutKey(db: Database.Database, fromSeq: number, toSeq = Infinity) {
  const rows = rowsOf(db);
  const update = db.prepare('update audit_events set chain_key_id = null, prev_hash = ?, hash = ? where seq = ?');
  let previous = rows.filter((r) => r.seq < fromSeq).at(-1)?.hash ?? GENESIS;
  for (const row of rows.filter((r) => r.seq >= fromSeq && r.seq <= toSeq)) {
    const hash = plainHash({ ...row, prev_hash: previous });
    update.run(previous, hash, row.seq);
    previous = hash;
  }
  if (toSeq >= rows.at(-1)!.seq) db.prepare('update audit_chain_head set hash = ? where id = 1').run(previous);
}

describe('audit:verify on a keyed chain', () => {
  let server: TestServer;
  let copies = 0;
  /** A fresh copy of the (stopped) server's database, to tamper with. */
  const copy = () => {
    const file = path.join(server.dir, `copy-${++copies}.db`);
    fs.copyFileSync(server.dbFile, file);
    return file;
  };
  const verify = (file: string, args: string[] = [], key: Record<string, string> = { SCOPEGATE_MASTER_KEY: KEY }) =>
    auditVerify({ DATABASE_URL: file, SCOPEGATE_DATA_DIR: server.dir, ...key }, args);
  const logFile = () => {
    const file = path.join(server.dir, 'server.log');
    fs.writeFileSync(file, server.logs.join(''));
    return file;
  };

  beforeAll(async () => {
    server = await startTestServer({ SCOPEGATE_MASTER_KEY: KEY });
    const act = actions(server);
    await act.createUser('carol');
    const carol = await act.login('carol');
    await server.gql('mutation { login(input: { username: "carol", password: "not-her-password" }) { token } }');
    await server.gql('{ viewer { kind } }', {}, `sgt_${'z'.repeat(36)}`);
    await act.createNamespace(server.adminToken, 'chain');
    await server.gql('mutation { createApiToken(input: { namespace: "chain", name: "no", role: VIEWER }) { secret } }', {}, carol);
    for (const name of ['a', 'b', 'c', 'd', 'e']) await act.createApiToken(server.adminToken, { namespace: 'chain', name, role: 'VIEWER' });
    await server.close();
  });
  afterAll(() => {
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  it('says intact with the key; every event is an HMAC-SHA256 under a key derived from it with HKDF', async () => {
    const run = await verify(server.dbFile);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/audit trail intact: \d+ events verified/);
    // The construction README documents, recomputed here without src/: the raw key is never the HMAC key.
    const chainKey = Buffer.from(hkdfSync('sha256', Buffer.from(KEY, 'base64'), Buffer.alloc(0), 'scopegate audit chain v1', 32));
    const rows = withDatabase(server, rowsOf);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(row.chain_key_id).toBe('k1');
      expect(row.hash).toBe(createHmac('sha256', chainKey).update(JSON.stringify([...FIELDS.map((f) => row[f]), 'k1'])).digest('hex'));
    }
  });

  it('reports an event altered and the chain after it recomputed without the key', async () => {
    const file = copy();
    const victim = withDatabase(
      { dbFile: file },
      (db) => {
        const rows = rowsOf(db);
        db.prepare("update audit_events set outcome = 'SUCCESS', actor_name = 'user:admin' where seq = ?").run(rows[6].seq);
        rechainWithoutKey(db, rows[6].seq);
        return rows[6];
      },
      { writable: true },
    );
    const run = await verify(file);
    expect(run.code).toBe(1);
    expect(run.output).not.toContain('intact');
    expect(run.stderr).toContain(`BROKEN at event seq ${victim.seq} (id ${victim.id})`);
    expect(run.stderr).toContain('recomputed without the key');
  });

  it('reports a whole trail recomputed without the key', async () => {
    const file = copy();
    withDatabase(
      { dbFile: file },
      (db) => {
        db.prepare("update audit_events set details = null where action = 'apitoken.create'").run();
        rechainWithoutKey(db, 0);
      },
      { writable: true },
    );
    const run = await verify(file);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the newest event is not keyed: the chain was recomputed without the key');
  });

  it('with another master key never says intact: it names the wrong key, not an altered trail, and prints no key', async () => {
    const run = await verify(server.dbFile, [], { SCOPEGATE_MASTER_KEY: OTHER_KEY });
    expect(run.code).toBe(2);
    expect(run.output).not.toContain('intact');
    expect(run.output).not.toContain('BROKEN');
    expect(run.stderr).toMatch(/^audit:verify: the key configured for key id "k1" is not the key "k1" this database was sealed with/);
    for (const key of [KEY, OTHER_KEY]) expect(run.output).not.toContain(key);
  });

  it('without a key says the key is missing, and does not create a development key', async () => {
    const run = await verify(server.dbFile, [], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/audit:verify: the key is missing/);
    expect(run.output).not.toContain('intact');
    expect(fs.existsSync(path.join(server.dir, 'master.key'))).toBe(false);
  });

  it('logs every event it appends, so the log and the database agree', async () => {
    const logged = server.logs.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit');
    const rows = withDatabase(server, rowsOf);
    // Bootstrap, logins (and a failed one), a bad token, mutations and a denial: each path that appends.
    expect(new Set(rows.map((r) => r.action))).toEqual(new Set(['instance.bootstrap', 'user.create', 'auth.login', 'auth.failed', 'namespace.create', 'apitoken.create']));
    expect(logged.map((l) => [l.audit.id, l.audit.hash, l.audit.chain_key_id])).toEqual(rows.map((r) => [r.id, r.hash, 'k1']));
    const run = await verify(server.dbFile, ['--log', logFile()]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toContain(`all ${rows.length} audit events in it are in the database, unchanged`);
  });

  it('cannot see the newest events removed and the head moved back; the log can', async () => {
    const file = copy();
    const removed = withDatabase(
      { dbFile: file },
      (db) => {
        const rows = rowsOf(db);
        const [kept, gone] = [rows.slice(0, -3), rows.slice(-3)];
        db.prepare('delete from audit_events where seq > ?').run(kept.at(-1)!.seq);
        db.prepare('update audit_chain_head set hash = ? where id = 1').run(kept.at(-1)!.hash);
        return gone.map((r) => r.id);
      },
      { writable: true },
    );
    // The limit of the database alone, documented:
    const plain = await verify(file);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/audit trail intact/);

    const withLog = await verify(file, ['--log', logFile()]);
    expect(withLog.code).toBe(1);
    expect(withLog.stderr).toContain(`3 event(s) in the log are missing from the database (removed): ${removed.join(', ')}`);
  });

  it('reports, with the log, the events whose hash differs from the logged one', async () => {
    const file = copy();
    const changed = withDatabase(
      { dbFile: file },
      (db) => {
        const rows = rowsOf(db);
        rechainWithoutKey(db, rows.at(-2)!.seq);
        return rows.slice(-2).map((r) => r.id);
      },
      { writable: true },
    );
    const run = await verify(file, ['--log', logFile()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`2 event(s) have another hash in the database than in the log (altered): ${changed.join(', ')}`);
  });

  it('verifies a trail from before the chain was keyed the old way, once a server has sealed it', async () => {
    const file = copy();
    // As the server wrote it before the chain was keyed: plain SHA-256, no key ids.
    withDatabase({ dbFile: file }, (db) => rechainWithoutKey(db, 0), { writable: true });
    const legacy = withDatabase({ dbFile: file }, rowsOf);
    expect((await verify(file)).stderr).toContain('or no server has started since the chain became keyed');

    const restarted = await startTestServer({ SCOPEGATE_MASTER_KEY: KEY, DATABASE_URL: file }, server);
    await restarted.close();
    const sealed = withDatabase({ dbFile: file }, rowsOf);
    expect(sealed.slice(0, legacy.length)).toEqual(legacy);
    expect(sealed.slice(legacy.length).map((r) => [r.action, r.chain_key_id, r.prev_hash])).toEqual([['audit.chain_keyed', 'k1', legacy.at(-1)!.hash]]);
    const run = await verify(file);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toContain(`audit trail intact: ${legacy.length + 1} events verified`);

    // The keyed event pins what came before it: rewriting the old events breaks the link to it.
    withDatabase(
      { dbFile: file },
      (db) => {
        db.prepare("update audit_events set actor_name = 'user:nobody' where seq = ?").run(legacy[2].seq);
        rechainWithoutKey(db, legacy[2].seq, legacy.at(-1)!.seq);
      },
      { writable: true },
    );
    const rewritten = await verify(file);
    expect(rewritten.code).toBe(1);
    expect(rewritten.stderr).toContain(`BROKEN at event seq ${sealed.at(-1)!.seq}`);
    expect(rewritten.stderr).toContain('does not follow the event before it');
  });
});

describe('audit:verify across a key rotation', () => {
  const K1 = randomBytes(32).toString('base64');
  const K2 = randomBytes(32).toString('base64');
  const keyring = (keys: Record<string, string>, active: string) => ({ SCOPEGATE_KEYRING: JSON.stringify(keys), SCOPEGATE_ACTIVE_KEY_ID: active });
  let first: TestServer;

  beforeAll(async () => {
    first = await startTestServer(keyring({ k1: K1 }, 'k1'));
    await actions(first).createNamespace(first.adminToken, 'before');
    await first.close();
    // Step 1 of a rotation: both keys, the new one active.
    const second = await startTestServer(keyring({ k1: K1, k2: K2 }, 'k2'), first);
    await actions(second).createNamespace(second.adminToken, 'after');
    await second.close();
  });
  afterAll(() => {
    if (first) fs.rmSync(first.dir, { recursive: true, force: true });
  });

  const verify = (env: Record<string, string>) => auditVerify({ DATABASE_URL: first.dbFile, SCOPEGATE_DATA_DIR: first.dir, ...env });

  it('keeps the events sealed with the old key verifiable while it stays in the keyring', async () => {
    const keyIds = withDatabase(first, (db) => rowsOf(db).map((r) => r.chain_key_id));
    expect(keyIds[0]).toBe('k1');
    expect(keyIds.at(-1)).toBe('k2');
    expect(keyIds).toEqual([...keyIds].sort());
    const run = await verify(keyring({ k1: K1, k2: K2 }, 'k2'));
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toContain(`audit trail intact: ${keyIds.length} events verified`);
  });

  it('says which key is missing once the old key has left the keyring, not that events were altered', async () => {
    const run = await verify(keyring({ k2: K2 }, 'k2'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/BROKEN at event seq 1 .*: it was sealed with key "k1", which is missing from the keyring/);
    expect(run.output).not.toContain('altered');
    expect(run.output).not.toContain('intact');
  });
});
