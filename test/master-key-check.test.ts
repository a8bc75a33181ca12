/**
 * A key id names one key for good: a restart (or a script) with other material under an id
 * that sealed data is refused, naming the id; an id that sealed stored secrets but is missing
 * from the keyring keeps the server up but not ready. Real servers restarted on the same
 * SQLite file, the real entry point and the real scripts as child processes.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnEntryPoint } from './helpers/entry-point.js';
import { auditVerify, rotateKey } from './helpers/scripts.js';
import { createDatabase, dropDatabase } from './helpers/postgres.js';
import { withDatabase } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { expectGqlError, startTestServer, type TestServer } from './helpers/server.js';

const NS = 'acme';
const newKey = () => randomBytes(32).toString('base64');
const keyring = (keys: Record<string, string>, active: string) => ({
  SCOPEGATE_KEYRING: JSON.stringify(keys),
  SCOPEGATE_ACTIVE_KEY_ID: active,
});
const mark = (what: string) => `KEYCHECK${what}${randomBytes(8).toString('hex')}`;

/** The forms a careless message could carry a key in. */
const keyForms = (...keys: string[]) => keys.flatMap((k) => [k, k.replace(/=+$/, ''), Buffer.from(k, 'base64').toString('hex')]);
const expectNoKeyIn = (text: string, ...keys: string[]) => {
  for (const form of keyForms(...keys)) expect(text.includes(form), 'key material in the output').toBe(false);
};

/** The check value as README documents it, recomputed here without src/. */
const expectedCheckValue = (key: string, keyId: string) => {
  const checkKey = Buffer.from(hkdfSync('sha256', Buffer.from(key, 'base64'), Buffer.alloc(0), 'scopegate key check v1', 32));
  return createHmac('sha256', checkKey).update(JSON.stringify(['scopegate key check', keyId])).digest('hex');
};

const all = (server: TestServer, query: string) => withDatabase(server, (db) => db.prepare(query).all());
/** A two-column query as an object: first column to second. */
const pairs = (server: TestServer, query: string) =>
  Object.fromEntries(withDatabase(server, (db) => db.prepare(query).raw().all() as [string, string][]));
const checkValues = (server: TestServer) => pairs(server, 'select key_id, check_value from key_checks');
const credentialKeys = (server: TestServer) => pairs(server, 'select name, secret_key_id from credentials');
/** Refused, naming the key id and why. */
const refusal = (keyId: string, why: 'value' | 'blobs') =>
  new RegExp(
    `the key configured for key id "${keyId}" is not the key "${keyId}" this database was sealed with \\(` +
      (why === 'value'
        ? 'its check value in the database differs'
        : 'it opens none of the secrets and audit events stored under that id'),
  );
/** Everything a start or a script could write: credentials, the audit trail, check values. */
const snapshot = (server: TestServer) =>
  withDatabase(server, (db) => ({
    credentials: db.prepare('select * from credentials order by id').all(),
    audit: db.prepare('select * from audit_events order by seq').all(),
    head: db.prepare('select * from audit_chain_head').all(),
    checks: db.prepare('select * from key_checks order by key_id').all(),
  }));

const CREATE = 'mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { name } }';
const UPDATE = 'mutation($i: UpdateHetznerCredentialInput!) { updateHetznerCredential(input: $i) { name } }';
const REVEAL = 'mutation($i: CredentialRefInput!) { revealCredentialSecret(input: $i) { fields { value } } }';

/** Creates Hetzner credentials in "acme" (the namespace too, the first time); returns their secrets. */
async function seal(server: TestServer, names: string[]): Promise<Record<string, string>> {
  const existing = await server.ok('{ namespace(name: "acme") { id } }', {}, server.adminToken);
  if (!existing.namespace) await actions(server).createNamespace(server.adminToken, NS);
  const secrets: Record<string, string> = {};
  for (const name of names) {
    secrets[name] = mark(name);
    await server.ok(CREATE, { i: { namespace: NS, name, apiToken: secrets[name], skipValidation: true } }, server.adminToken);
  }
  return secrets;
}

const reveal = (server: TestServer, name: string) => server.gql(REVEAL, { i: { namespace: NS, name } }, server.adminToken);
const revealed = async (server: TestServer, name: string) => (await reveal(server, name)).data?.revealCredentialSecret.fields[0].value;

/** A first server under `env` with credentials sealed; stopped. */
async function seeded(env: Record<string, string>, names: string[]) {
  const first = await startTestServer(env);
  try {
    return { first, secrets: await seal(first, names) };
  } finally {
    await first.close();
  }
}

/** The entry point as operators run it (`npm start`); resolves when it exits, or stops it once it listens. */
async function runMain(env: Record<string, string>): Promise<{ code: number | null; listened: boolean; output: string }> {
  const running = spawnEntryPoint({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  let listened = false;
  const output = () => running.stdout() + running.stderr();
  const watch = () => {
    if (!listened && output().includes('scopegate is listening')) {
      listened = true;
      running.child.kill('SIGTERM');
    }
  };
  running.child.stdout!.on('data', watch);
  running.child.stderr!.on('data', watch);
  const [code] = (await once(running.child, 'close')) as [number | null];
  return { code, listened, output: output() };
}

describe('a restart with a wrong key for an id that sealed data', () => {
  const A = newKey();
  const B = newKey();
  let first: TestServer;
  let secrets: Record<string, string>;

  beforeAll(async () => {
    ({ first, secrets } = await seeded({ SCOPEGATE_MASTER_KEY: A }, ['hetzner']));
  });
  afterAll(() => {
    if (first) fs.rmSync(first.dir, { recursive: true, force: true });
  });

  it.for([
    ['SCOPEGATE_MASTER_KEY changed', { SCOPEGATE_MASTER_KEY: B }],
    ['a keyring entry k1 with other material', keyring({ k1: B }, 'k1')],
    // k2 comes first: it passes (nothing sealed under it yet) but must not be recorded when k1 fails.
    ['k1 wrong beside a new active k2', keyring({ k2: A, k1: B }, 'k2')],
  ] as const)('%s: refuses to start, naming k1, with no key in the message, and writes nothing', async ([, env]) => {
    const before = snapshot(first);
    const refused = await startTestServer(env, first).then(
      (server) => server.close().then(() => null),
      (err: Error) => err,
    );
    expect(refused, 'the server started').toBeInstanceOf(Error);
    expect(refused!.message).toMatch(refusal('k1', 'value'));
    expect(refused!.message).toMatch(/Restore the original key for "k1".*give it a new id/);
    expectNoKeyIn(refused!.message, A, B);
    // Nothing sealed, appended or recorded: not even the check value of the new k2.
    expect(snapshot(first)).toEqual(before);
  });

  it('with NODE_ENV=production the entry point exits non-zero, naming k1, with no key in its output', async () => {
    const run = await runMain({
      NODE_ENV: 'production',
      DATABASE_URL: first.dbFile,
      SCOPEGATE_DATA_DIR: first.dir,
      SCOPEGATE_MASTER_KEY: B,
    });
    expect(run.listened, run.output).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/scopegate failed to start: the key configured for key id "k1" is not the key "k1"/);
    expectNoKeyIn(run.output, A, B);
  });

  it('the right key starts and reads the secret; the check value is an HMAC under a key derived from it', async () => {
    expect(checkValues(first)).toEqual({ k1: expectedCheckValue(A, 'k1') });
    const again = await startTestServer({ SCOPEGATE_MASTER_KEY: A }, first);
    try {
      expect(await revealed(again, 'hetzner')).toBe(secrets.hetzner);
    } finally {
      await again.close();
    }
  });
});

describe('a database from before the check values', () => {
  const A = newKey();
  const B = newKey();
  let first: TestServer;

  beforeAll(async () => {
    ({ first } = await seeded({ SCOPEGATE_MASTER_KEY: A }, ['hetzner']));
    withDatabase(first, (db) => db.prepare('delete from key_checks').run(), { writable: true });
  });
  afterAll(() => {
    if (first) fs.rmSync(first.dir, { recursive: true, force: true });
  });

  it('a wrong key is proven wrong against what k1 sealed: refused, nothing recorded', async () => {
    const before = snapshot(first);
    await expect(startTestServer({ SCOPEGATE_MASTER_KEY: B }, first)).rejects.toThrow(refusal('k1', 'blobs'));
    expect(snapshot(first)).toEqual(before);
    expect(checkValues(first)).toEqual({});
  });

  it('the right key is proven, its check value recorded, and from then on a wrong key meets that value', async () => {
    const again = await startTestServer({ SCOPEGATE_MASTER_KEY: A }, first);
    await again.close();
    expect(checkValues(first)).toEqual({ k1: expectedCheckValue(A, 'k1') });
    await expect(startTestServer({ SCOPEGATE_MASTER_KEY: B }, first)).rejects.toThrow(refusal('k1', 'value'));
  });

  it('a key id proven by its credentials alone, the first of them damaged', async () => {
    // rotate-key moves secrets to k2 without an audit event under k2: only credentials prove k2.
    const C = newKey();
    const { first: other } = await seeded(keyring({ k1: A }, 'k1'), ['one', 'two', 'three']);
    try {
      const run = await rotateKey({ DATABASE_URL: other.dbFile, SCOPEGATE_DATA_DIR: other.dir, ...keyring({ k1: A, k2: C }, 'k2') });
      expect(run.code, run.output).toBe(0);
      withDatabase(other, (db) => {
        expect(db.prepare("select id from audit_events where chain_key_id = 'k2'").all()).toEqual([]);
        db.prepare('delete from key_checks').run();
        // Flip one character of the first secret (in id order) that proving k2 would try.
        const row = db.prepare("select id, secret_ciphertext from credentials where secret_key_id = 'k2' order by id").get() as {
          id: string;
          secret_ciphertext: string;
        };
        const [v, nonce, tag, body] = row.secret_ciphertext.split('.');
        const flipped = [v, nonce, tag, `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`].join('.');
        db.prepare('update credentials set secret_ciphertext = ? where id = ?').run(flipped, row.id);
      }, { writable: true });

      await expect(startTestServer(keyring({ k2: newKey() }, 'k2'), other)).rejects.toThrow(refusal('k2', 'blobs'));
      const right = await startTestServer(keyring({ k2: C }, 'k2'), other);
      try {
        expect((await fetch(`${right.url}/readyz`)).status).toBe(200);
      } finally {
        await right.close();
      }
      expect(checkValues(other)).toEqual({ k2: expectedCheckValue(C, 'k2') });
    } finally {
      fs.rmSync(other.dir, { recursive: true, force: true });
    }
  });
});

describe('a keyring without an id that sealed stored secrets', () => {
  const K1 = newKey();
  const K2 = newKey();
  const env = (server: TestServer, keys: Record<string, string>) => ({
    DATABASE_URL: server.dbFile,
    SCOPEGATE_DATA_DIR: server.dir,
    ...keyring(keys, 'k2'),
  });
  let first: TestServer;
  let secrets: Record<string, string>;
  let server: TestServer;
  /** The credential rotate-key moved to k2 (it goes in id order), and the two it left under k1. */
  let moved: string;
  let stale: string[];

  beforeAll(async () => {
    ({ first, secrets } = await seeded(keyring({ k1: K1 }, 'k1'), ['a', 'b', 'c']));
    // A rotation cut short: one secret moved to k2, two still under k1; then k1 removed too early.
    const run = await rotateKey(env(first, { k1: K1, k2: K2 }), ['--limit', '1']);
    expect(run.code, run.output).toBe(0);
    const keys = Object.entries(credentialKeys(first));
    moved = keys.find(([, id]) => id === 'k2')![0];
    stale = keys.filter(([, id]) => id === 'k1').map(([name]) => name);
    expect(stale).toHaveLength(2);
    server = await startTestServer(keyring({ k2: K2 }, 'k2'), first);
  });
  afterAll(async () => {
    await server?.close();
    if (first) fs.rmSync(first.dir, { recursive: true, force: true });
  });

  const readyz = async () => {
    const res = await fetch(`${server.url}/readyz`);
    return { status: res.status, body: await res.json() };
  };

  it('starts and serves, but /readyz answers 503 naming k1; /healthz 200', async () => {
    expect(await readyz()).toEqual({
      status: 503,
      body: {
        status: 'keys missing',
        keyIds: ['k1'],
        reason: expect.stringMatching(/sealed under key id "k1", missing from the keyring: add that key to SCOPEGATE_KEYRING/),
      },
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.logs.join('')).toMatch(/not ready: credential secrets are sealed under key id \\"k1\\"/);
    // What k2 sealed still works; what k1 sealed fails for that credential alone.
    expect(await revealed(server, moved)).toBe(secrets[moved]);
    expectGqlError(await reveal(server, stale[0]), { message: /cannot be decrypted/ });
  });

  it('re-entering a secret repairs its credential; /readyz stays 503 while one is left under k1', async () => {
    const name = stale[0];
    secrets[name] = mark(`${name}-again`);
    await server.ok(UPDATE, { i: { namespace: NS, name, apiToken: secrets[name], skipValidation: true } }, server.adminToken);
    expect(await revealed(server, name)).toBe(secrets[name]);
    expect(credentialKeys(first)[stale[1]]).toBe('k1');
    expect((await readyz()).body.keyIds).toEqual(['k1']);
  });

  it('once rotate-key has re-sealed the rest, ready without a restart, though audit events under k1 remain', async () => {
    expect((await readyz()).status).toBe(503);
    const run = await rotateKey(env(first, { k1: K1, k2: K2 }));
    expect(run.code, run.output).toBe(0);
    expect(credentialKeys(first)).toEqual({ a: 'k2', b: 'k2', c: 'k2' });
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });
    for (const name of ['a', 'b', 'c']) expect(await revealed(server, name)).toBe(secrets[name]);
    // Serving never reads old events, so they do not hold readiness; verifying them needs k1, and says so.
    expect(all(first, "select id from audit_events where chain_key_id = 'k1'").length).toBeGreaterThan(0);
    const verify = await auditVerify(env(first, { k2: K2 }));
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/sealed with key "k1", which is missing from the keyring/);
  });
});

describe('rotate-key with a mismatched key', () => {
  const K1 = newKey();
  const K2 = newKey();
  const OTHER = newKey();
  let first: TestServer;
  const rotate = (keys: Record<string, string>, args: string[] = []) =>
    rotateKey({ DATABASE_URL: first.dbFile, SCOPEGATE_DATA_DIR: first.dir, ...keyring(keys, 'k2') }, args);

  beforeAll(async () => {
    ({ first } = await seeded(keyring({ k1: K1 }, 'k1'), ['a', 'b']));
    // Step 1 of a rotation: the server restarts with k2 active (and records its check value).
    const second = await startTestServer(keyring({ k1: K1, k2: K2 }, 'k2'), first);
    await seal(second, ['c']);
    await second.close();
    expect(credentialKeys(first)).toEqual({ a: 'k1', b: 'k1', c: 'k2' });
  });
  afterAll(() => {
    if (first) fs.rmSync(first.dir, { recursive: true, force: true });
  });

  it('refuses before touching any row when the active k2 is not the server\'s k2', async () => {
    const before = snapshot(first);
    const run = await rotate({ k1: K1, k2: OTHER });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^rotate-key: the key configured for key id "k2" is not the key "k2"/);
    expect(run.stdout).toBe('');
    expectNoKeyIn(run.output, K1, K2, OTHER);
    expect(snapshot(first)).toEqual(before);
  });

  it('refuses when the old k1 is not k1; with the right keys it rotates', async () => {
    const before = snapshot(first);
    const run = await rotate({ k1: OTHER, k2: K2 });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^rotate-key: the key configured for key id "k1" is not the key "k1"/);
    expectNoKeyIn(run.output, K1, K2, OTHER);
    expect(snapshot(first)).toEqual(before);

    // A dry run with the right keys passes the check and records nothing, not even a new id's value.
    const dry = await rotate({ k1: K1, k2: K2, k3: OTHER }, ['--dry-run']);
    expect(dry.code, dry.output).toBe(0);
    expect(snapshot(first)).toEqual(before);

    const right = await rotate({ k1: K1, k2: K2 });
    expect(right.code, right.output).toBe(0);
    expect(credentialKeys(first)).toEqual({ a: 'k2', b: 'k2', c: 'k2' });
  });
});

const pgUrl = await createDatabase('master-key-check.test.ts');

describe.skipIf(!pgUrl)('on PostgreSQL', () => {
  const A = newKey();
  const B = newKey();
  let first: TestServer;
  const query = async (text: string) => {
    const client = new pg.Client({ connectionString: pgUrl! });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    ({ first } = await seeded({ SCOPEGATE_MASTER_KEY: A, DATABASE_URL: pgUrl! }, ['hetzner']));
  });
  afterAll(async () => {
    if (first) fs.rmSync(first.dir, { recursive: true, force: true });
    await dropDatabase(pgUrl!);
  });

  it('a wrong key is refused, by the check value and, without one, by what k1 sealed; the right key records it', async () => {
    const recorded = [{ key_id: 'k1', check_value: expectedCheckValue(A, 'k1') }];
    expect(await query('select key_id, check_value from key_checks')).toEqual(recorded);
    const wrong = () => startTestServer({ SCOPEGATE_MASTER_KEY: B, DATABASE_URL: pgUrl! }, first);
    await expect(wrong()).rejects.toThrow(refusal('k1', 'value'));
    await query('delete from key_checks');
    await expect(wrong()).rejects.toThrow(refusal('k1', 'blobs'));
    expect(await query('select key_id from key_checks')).toEqual([]);
    const right = await startTestServer({ SCOPEGATE_MASTER_KEY: A, DATABASE_URL: pgUrl! }, first);
    await right.close();
    expect(await query('select key_id, check_value from key_checks')).toEqual(recorded);
  });
});
