/**
 * Key rotation with scripts/rotate-key.ts, run as operators run it (a child process with
 * the server's environment): interrupted and resumed, idempotent, online next to a
 * running server without overwriting its writes, and loud about a secret it cannot read.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { scriptCommand } from './helpers/scripts.js';
import { expectGqlError, startTestServer, type TestServer } from './helpers/server.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const [ROTATE_KEY, ...ROTATE_KEY_ARGS] = scriptCommand('rotate-key');
const NS = 'acme';
const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');
const ring = (keys: Record<string, string>) => JSON.stringify(keys);

const mark = (what: string) => `ROTATE${what}${randomBytes(10).toString('hex')}`;

interface Fixture {
  name: string;
  mutation: string;
  input: Record<string, unknown>;
  /** The revealed fields. */
  secret: Record<string, string>;
}

function fixtures(): Fixture[] {
  const registry = (name: string): Fixture => {
    const password = mark(`${name}password`);
    return {
      name,
      mutation: 'mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { name } }',
      input: { username: 'robot', password },
      secret: { password },
    };
  };
  const git = mark('gittoken');
  const hetzner = mark('hetznertoken');
  const ovh = { applicationSecret: mark('ovhsecret'), consumerKey: mark('ovhconsumer') };
  return [
    registry('reg-a'),
    registry('reg-b'),
    { name: 'git', mutation: 'mutation($i: CreateGitCredentialInput!) { createGitCredential(input: $i) { name } }', input: { provider: 'GENERIC', token: git, skipValidation: true }, secret: { token: git } },
    { name: 'hetzner', mutation: 'mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { name } }', input: { apiToken: hetzner, skipValidation: true }, secret: { apiToken: hetzner } },
    {
      name: 'ovh',
      mutation: 'mutation($i: CreateOvhCredentialInput!) { createOvhCredential(input: $i) { name } }',
      input: { projectId: 'p1', applicationKey: 'ak1', ...ovh, skipValidation: true },
      secret: ovh,
    },
  ];
}

const REVEAL = 'mutation($i: CredentialRefInput!) { revealCredentialSecret(input: $i) { fields { name value } } }';

/** The revealed fields of a credential in NS, as the administrator sees them (fails on any error). */
async function reveal(server: TestServer, name: string): Promise<Record<string, string>> {
  const data = await server.ok(REVEAL, { i: { namespace: NS, name } }, server.adminToken);
  return Object.fromEntries(data.revealCredentialSecret.fields.map((f: { name: string; value: string }) => [f.name, f.value]));
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the script as `npm run rotate-key` does (the built JavaScript under plain node, one process,
 * so that `onStderr` gets the script's own process), with the server's environment.
 */
function rotate(
  server: TestServer,
  keys: Record<string, string> | null,
  active: string,
  args: string[] = [],
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCOPEGATE_') && k !== 'DATABASE_URL') env[k] = v;
  Object.assign(env, {
    NODE_ENV: 'test',
    DATABASE_URL: server.dbFile,
    SCOPEGATE_DATA_DIR: server.dir,
    SCOPEGATE_ACTIVE_KEY_ID: active,
  });
  if (keys) env.SCOPEGATE_KEYRING = ring(keys);
  return new Promise((resolve, reject) => {
    const child = spawn(ROTATE_KEY!, [...ROTATE_KEY_ARGS, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Row {
  id: string;
  name: string;
  secret_key_id: string | null;
  secret_ciphertext: string | null;
}
const rows = (server: TestServer) =>
  withDatabase(server, (db) => db.prepare('SELECT id, name, secret_key_id, secret_ciphertext FROM credentials ORDER BY name').all() as Row[]);
const keyIds = (server: TestServer) => Object.fromEntries(rows(server).map((r) => [r.name, r.secret_key_id]));
const countKeys = (server: TestServer) => {
  const counts: Record<string, number> = {};
  for (const r of rows(server)) if (r.secret_key_id) counts[r.secret_key_id] = (counts[r.secret_key_id] ?? 0) + 1;
  return counts;
};

/** A first server sealing everything under "old", with the credentials created; stopped. */
async function seeded(creds: Fixture[]): Promise<TestServer> {
  const server = await startTestServer({ SCOPEGATE_KEYRING: ring({ old: OLD }), SCOPEGATE_ACTIVE_KEY_ID: 'old' });
  try {
    const act = actions(server);
    await act.createNamespace(server.adminToken, NS);
    for (const c of creds) await server.ok(c.mutation, { i: { namespace: NS, name: c.name, ...c.input } }, server.adminToken);
    await server.ok(
      'mutation { createSshKeyCredential(input: { namespace: "acme", name: "ssh", generate: true }) { credential { name } } }',
      {},
      server.adminToken,
    );
  } finally {
    await server.close();
  }
  return server;
}

const noSecretsIn = (run: Run, creds: Fixture[]) => {
  for (const c of creds) for (const value of Object.values(c.secret)) expect(run.stdout + run.stderr).not.toContain(value);
  expect(run.stdout + run.stderr).not.toContain(OLD);
  expect(run.stdout + run.stderr).not.toContain(NEW);
};

describe('rotate-key, offline: interrupted, resumed, idempotent', () => {
  const creds = fixtures();
  let server: TestServer;
  const BOTH = { old: OLD, new: NEW };

  beforeAll(async () => {
    server = await seeded(creds);
  });
  afterAll(() => {
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  it('starts with every secret under "old" (SSH keys have none)', () => {
    expect(keyIds(server)).toEqual({ 'reg-a': 'old', 'reg-b': 'old', git: 'old', hetzner: 'old', ovh: 'old', ssh: null });
  });

  it('--dry-run checks every secret and changes nothing', async () => {
    const before = rows(server);
    const run = await rotate(server, BOTH, 'new', ['--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/would rotate 5, already current 0, failed 0/);
    expect(rows(server)).toEqual(before);
  });

  it('--limit 2 stops early (a simulated interruption): exit 0, two rows rotated, the rest untouched', async () => {
    const before = new Map(rows(server).map((r) => [r.id, r]));
    const run = await rotate(server, BOTH, 'new', ['--limit', '2', '--batch-size', '1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/rotated 2, already current 0, failed 0/);
    expect(run.stdout).toMatch(/3 left, run again/);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    noSecretsIn(run, creds);
    expect(countKeys(server)).toEqual({ new: 2, old: 3 });
    for (const row of rows(server)) {
      const was = before.get(row.id)!;
      if (row.secret_key_id === 'new') expect(row.secret_ciphertext).not.toBe(was.secret_ciphertext);
      else expect(row).toEqual(was);
    }
  });

  it('a second run continues where it stopped', async () => {
    const run = await rotate(server, BOTH, 'new', ['--batch-size', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/rotated 3, already current 2, failed 0/);
    noSecretsIn(run, creds);
    expect(keyIds(server)).toEqual({ 'reg-a': 'new', 'reg-b': 'new', git: 'new', hetzner: 'new', ovh: 'new', ssh: null });
  });

  it('a third run has nothing to do, says so, and writes nothing', async () => {
    const before = rows(server);
    const run = await rotate(server, BOTH, 'new');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/rotated 0, already current 5, failed 0/);
    expect(run.stdout).toMatch(/nothing to do/);
    expect(rows(server)).toEqual(before);
  });

  it('a server with ONLY the new key reveals every original secret', async () => {
    const only = await startTestServer({ SCOPEGATE_KEYRING: ring({ new: NEW }), SCOPEGATE_ACTIVE_KEY_ID: 'new' }, server);
    try {
      for (const c of creds) expect(await reveal(only, c.name)).toEqual(c.secret);
      expect(await reveal(only, 'ssh')).toEqual({});
    } finally {
      await only.close();
    }
  });

  it('and a server with only the old key can no longer read them (they really moved)', async () => {
    const stale = await startTestServer({ SCOPEGATE_KEYRING: ring({ old: OLD }), SCOPEGATE_ACTIVE_KEY_ID: 'old' }, server);
    try {
      const res = await stale.gql(REVEAL, { i: { namespace: NS, name: 'reg-a' } }, stale.adminToken);
      expectGqlError(res, { message: /namespaces\/acme\/credentials\/reg-a cannot be decrypted/ });
    } finally {
      await stale.close();
    }
  });
});

describe('rotate-key, online next to a running server', () => {
  const creds = fixtures();
  let server: TestServer;
  let online: TestServer;

  beforeAll(async () => {
    server = await seeded(creds);
    // Step 1 of a rotation: the server restarts with both keys, the new one active.
    online = await startTestServer({ SCOPEGATE_KEYRING: ring({ old: OLD, new: NEW }), SCOPEGATE_ACTIVE_KEY_ID: 'new' }, server);
  });
  afterAll(async () => {
    await online?.close();
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  it('rotates while the server serves, never overwriting a secret changed through the API meanwhile', async () => {
    // The row the script reaches last (it goes in id order) is changed through the API
    // after the script has read it and before it writes it back.
    const last = rows(server).filter((r) => r.secret_ciphertext).sort((a, b) => (a.id < b.id ? -1 : 1)).at(-1)!;
    const changed = creds.find((c) => c.name === last.name)!;
    const fresh = Object.fromEntries(Object.keys(changed.secret).map((k) => [k, mark(`fresh${k}`)]));
    const updateMutation = changed.mutation.replace('Create', 'Update').replace('create', 'update');

    // The script is paused (SIGSTOP) as soon as it says it has read the rows, during the
    // 1 s it waits before the first row, and resumed once the API's change is in: however
    // slow that change is, the script has read the row before it and writes it back after.
    let script: ChildProcess | undefined;
    let batchRead!: () => void;
    const readSeen = new Promise<void>((resolve) => (batchRead = resolve));
    const running = rotate(server, { old: OLD, new: NEW }, 'new', ['--verbose', '--throttle-ms', '1000'], (stderr, child) => {
      if (!script && /read a batch of 5/.test(stderr)) {
        script = child;
        child.kill('SIGSTOP');
        batchRead();
      }
    });
    try {
      await Promise.race([readSeen, running.then((r) => Promise.reject(new Error(`script ended early: ${r.stdout}${r.stderr}`)))]);
      expect(keyIds(server)[changed.name], 'the script was paused before writing any row').toBe('old');

      await online.ok(updateMutation, { i: { namespace: NS, name: changed.name, ...fresh, skipValidation: true } }, online.adminToken);
      // Reads keep working while the script runs.
      const listed = await online.ok('{ namespace(name: "acme") { credentials { edges { node { name } } } } }', {}, online.adminToken);
      expect(listed.namespace.credentials.edges).toHaveLength(6);
    } finally {
      script?.kill('SIGCONT');
    }

    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/rotated 4, already current 0, failed 0, changed concurrently 1/);
    expect(run.stderr).toContain(`left namespaces/acme/credentials/${changed.name}: it changed while being rotated`);
    noSecretsIn(run, creds);
    for (const v of Object.values(fresh)) expect(run.stdout + run.stderr).not.toContain(v);

    // The API's value stands (sealed by the server under "new"); everything else kept its secret.
    expect(keyIds(server)).toEqual({ 'reg-a': 'new', 'reg-b': 'new', git: 'new', hetzner: 'new', ovh: 'new', ssh: null });
    for (const c of creds) expect(await reveal(online, c.name)).toEqual(c === changed ? fresh : c.secret);

    const again = await rotate(server, { old: OLD, new: NEW }, 'new');
    expect(again.stdout).toMatch(/rotated 0, already current 5, failed 0 — nothing to do/);
  });

  // Mutations read before they write; on SQLite they begin immediate so that a write lock
  // held by another process (this script) is waited for, not answered with SQLITE_BUSY.
  it('a reveal waits for a write lock held by another process instead of failing', async () => {
    // Another process (as the script is) takes the write lock for 400 ms. It must be another
    // process: better-sqlite3 waits synchronously, which would stall this one's event loop.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(server.dbFile)});
         db.pragma('busy_timeout = 5000'); db.prepare('BEGIN IMMEDIATE').run(); console.log('locked');
         setTimeout(() => { db.prepare('COMMIT').run(); db.close(); }, 400);`,
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => holder.on('close', resolve));
    await new Promise<void>((resolve) => holder.stdout.on('data', (d) => String(d).includes('locked') && resolve()));
    const res = await online.gql(REVEAL, { i: { namespace: NS, name: 'ssh' } }, online.adminToken);
    await exited;
    expect(res.errors).toBeUndefined();
    expect(res.data.revealCredentialSecret.fields).toEqual([]);
  });
});

describe('rotate-key and a secret it cannot read', () => {
  const creds = fixtures();
  let server: TestServer;

  beforeAll(async () => {
    server = await seeded(creds);
    withDatabase(
      server,
      (db) => {
        // Flip one character inside reg-b's ciphertext; seal git under a key nobody has.
        const row = db.prepare("SELECT id, secret_ciphertext FROM credentials WHERE name = 'reg-b'").get() as { id: string; secret_ciphertext: string };
        const [v, nonce, tag, body] = row.secret_ciphertext.split('.');
        const flipped = `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
        db.prepare('UPDATE credentials SET secret_ciphertext = ? WHERE id = ?').run([v, nonce, tag, flipped].join('.'), row.id);
        db.prepare("UPDATE credentials SET secret_key_id = 'ancient' WHERE name = 'git'").run();
      },
      { writable: true },
    );
  });
  afterAll(() => {
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  it('exits 1 naming each credential it cannot decrypt, rotates the others, and prints no secret', async () => {
    const before = Object.fromEntries(rows(server).map((r) => [r.name, r]));
    const run = await rotate(server, { old: OLD, new: NEW }, 'new');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/rotated 3, already current 0, failed 2/);
    expect(run.stdout + run.stderr).toContain('namespaces/acme/credentials/reg-b');
    expect(run.stderr).toMatch(/cannot rotate namespaces\/acme\/credentials\/reg-b: credential secret cannot be decrypted/);
    expect(run.stderr).toMatch(/cannot rotate namespaces\/acme\/credentials\/git: .*key id "ancient"/);
    noSecretsIn(run, creds);
    expect(run.stdout + run.stderr).not.toContain(before['reg-b'].secret_ciphertext!.split('.')[3].slice(0, 16));

    // The unreadable rows are left exactly as they were; the others moved.
    const after = Object.fromEntries(rows(server).map((r) => [r.name, r]));
    expect(after['reg-b']).toEqual(before['reg-b']);
    expect(after.git).toEqual(before.git);
    expect(keyIds(server)).toEqual({ 'reg-a': 'new', 'reg-b': 'old', git: 'ancient', hetzner: 'new', ovh: 'new', ssh: null });

    // Re-running changes nothing more and still says what is wrong.
    const again = await rotate(server, { old: OLD, new: NEW }, 'new');
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/rotated 0, already current 3, failed 2/);
    expect(again.stdout).toContain('namespaces/acme/credentials/reg-b');
  });

  it('a keyring without the active key, or no keyring at all, is refused before anything is read', async () => {
    const before = rows(server);
    const bad = await rotate(server, { old: OLD }, 'new');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/SCOPEGATE_ACTIVE_KEY_ID "new" is not in SCOPEGATE_KEYRING/);
    const none = await rotate(server, null, 'new');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no key configured/);
    // It does not invent a development key that could read nothing.
    expect(fs.existsSync(path.join(server.dir, 'master.key'))).toBe(false);
    expect(rows(server)).toEqual(before);
  });
});
