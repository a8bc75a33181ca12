/**
 * Secrets at rest: no secret or token in the raw database file (and its WAL) or in the
 * logs; a ciphertext copied onto another row fails to decrypt, clearly; production
 * refuses to start without a key; development creates a private key file and reuses it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startScopegate } from '../src/server.js';
import { refusedPort } from './fakes/server.js';
import { withDatabase } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { codeOf, databaseBytes, findLeakedSecrets, startTestServer, type TestServer } from './helpers/server.js';

const NS = 'acme';
const CONTRACT_CODES = [
  'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT', 'CREDENTIAL_IN_USE',
  'VALIDATION_FAILED', 'PROVIDER_UNREACHABLE', 'RATE_LIMITED', 'INTERNAL_SERVER_ERROR',
];
const MASKED = /^Internal server error/;

const mark = (what: string) => `SGREST${what}${randomBytes(12).toString('hex')}`;
const SECRET = {
  registry: mark('registrypassword'),
  registryOld: mark('registryoldpassword'),
  garInner: mark('garprivatekeyline'),
  git: mark('gittoken'),
  gitlab: mark('gitlabtoken'),
  hetzner: mark('hetznertoken'),
  hetznerRefused: mark('hetznerrefusedtoken'),
  ovhSecret: mark('ovhapplicationsecret'),
  ovhConsumer: mark('ovhconsumerkey'),
  copySource: mark('copysource'),
  copyTarget: mark('copytarget'),
  otherNamespace: mark('othernamespace'),
};
const GAR_KEY = `${JSON.stringify({ type: 'service_account', private_key: `-----BEGIN PRIVATE KEY-----\n${SECRET.garInner}\n${randomBytes(900).toString('base64')}\n-----END PRIVATE KEY-----\n` }, null, 2)}\n`;
const PUBLIC_MARKER = mark('publicdescription');

/** Forms a careless implementation might store a secret in. */
const encodings = (s: string) => [s, Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64').replace(/=+$/, '').slice(0, -2)];

const REVEAL = 'mutation($i: CredentialRefInput!) { revealCredentialSecret(input: $i) { fields { name value } } }';

describe('nothing secret in the database file or the logs', () => {
  let server: TestServer;
  let editor: string;
  let privateKeyLines: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      SCOPEGATE_MASTER_KEY: randomBytes(32).toString('base64'),
      // Nothing listens there: a create that is checked fails, with its secret in the request.
      SCOPEGATE_HETZNER_API_URL: `http://127.0.0.1:${await refusedPort()}/v1`,
      LOG_LEVEL: 'trace',
    });
    const act = actions(server);
    await act.createUser('eddie');
    editor = await act.login('eddie');
    await act.createNamespace(editor, NS);
    await act.createNamespace(editor, 'second');
    await act.createApiToken(editor, { namespace: NS, name: 'ci', role: 'EDITOR' });

    const run = (query: string, i: Record<string, unknown>) => server.ok(query, { i: { namespace: NS, ...i } }, editor);
    await run('mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { name } }', { name: 'registry', description: PUBLIC_MARKER, username: 'robot', password: SECRET.registryOld });
    await run('mutation($i: UpdateRegistryCredentialInput!) { updateRegistryCredential(input: $i) { name } }', { name: 'registry', password: SECRET.registry });
    await run('mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { name } }', { name: 'gar', username: '_json_key', password: GAR_KEY });
    await run('mutation($i: CreateGitCredentialInput!) { createGitCredential(input: $i) { name } }', { name: 'github', provider: 'GITHUB', token: SECRET.git, skipValidation: true });
    await run('mutation($i: CreateGitCredentialInput!) { createGitCredential(input: $i) { name } }', { name: 'gitlab', provider: 'GITLAB', username: 'deploy', token: SECRET.gitlab, skipValidation: true });
    await run('mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { name } }', { name: 'hetzner', apiToken: SECRET.hetzner, skipValidation: true });
    await run('mutation($i: CreateOvhCredentialInput!) { createOvhCredential(input: $i) { name } }', {
      name: 'ovh', projectId: 'abc123', applicationKey: 'appKey123', applicationSecret: SECRET.ovhSecret, consumerKey: SECRET.ovhConsumer, skipValidation: true,
    });
    const ssh = await run('mutation($i: CreateSshKeyCredentialInput!) { createSshKeyCredential(input: $i) { privateKey } }', { name: 'ssh', generate: true });
    privateKeyLines = ssh.createSshKeyCredential.privateKey.split('\n').filter((l: string) => l.length >= 40).slice(1);
    // A checked create that fails still had its secret in hand.
    const refused = await server.gql('mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { name } }', { i: { namespace: NS, name: 'refused', apiToken: SECRET.hetznerRefused } }, editor);
    expect(codeOf(refused)).toBe('PROVIDER_UNREACHABLE');
    // Reveals put secrets in responses (and in the audit trail, by field name only).
    for (const name of ['registry', 'gar', 'github', 'gitlab', 'hetzner', 'ovh']) await server.ok(REVEAL, { i: { namespace: NS, name } }, editor);
  });
  afterAll(async () => {
    await server?.close();
  });

  const allSecrets = () => [...Object.values(SECRET), GAR_KEY, ...privateKeyLines];

  it('the raw SQLite file and its WAL hold no secret and no issued token', () => {
    const raw = databaseBytes(server);
    // The search sees what was just written (WAL included): the public description is there.
    expect(raw).toContain(PUBLIC_MARKER);
    expect(raw).toContain('_json_key');
    expect(privateKeyLines.length).toBeGreaterThanOrEqual(4);
    expect(server.issuedSecrets.size).toBeGreaterThanOrEqual(3); // bootstrap, session, API token
    expect(findLeakedSecrets(server, allSecrets())).toEqual([]);
    for (const secret of Object.values(SECRET)) {
      for (const form of encodings(secret)) expect(raw.includes(form), `a form of ${secret.slice(0, 20)}… in the database`).toBe(false);
    }
  });

  it('the logs (at trace level) hold none either', () => {
    const logs = server.logs.join('\n');
    expect(logs).toContain('credential.create');
    expect(logs).toContain('credential.reveal');
    for (const secret of [...allSecrets(), ...server.issuedSecrets]) {
      for (const form of encodings(secret)) expect(logs.includes(form), `a form of ${secret.slice(0, 20)}… in the logs`).toBe(false);
    }
  });

  it('stores secrets in the versioned envelope, with the key id', () => {
    withDatabase(server, (db) => {
      const rows = db.prepare('SELECT name, type, secret_ciphertext, secret_key_id FROM credentials ORDER BY name').all() as { name: string; type: string; secret_ciphertext: string | null; secret_key_id: string | null }[];
      expect(rows.map((r) => r.name)).toEqual(['gar', 'github', 'gitlab', 'hetzner', 'ovh', 'registry', 'ssh']);
      for (const row of rows) {
        if (row.type === 'SSH_KEY') {
          expect(row.secret_ciphertext).toBeNull();
          continue;
        }
        expect(row.secret_ciphertext).toMatch(/^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
        expect(row.secret_key_id).toBe('k1');
      }
    });
  });
});

describe('a ciphertext copied onto another row', () => {
  let server: TestServer;
  let editor: string;

  beforeAll(async () => {
    server = await startTestServer({ SCOPEGATE_MASTER_KEY: randomBytes(32).toString('base64') });
    const act = actions(server);
    await act.createUser('eddie');
    editor = await act.login('eddie');
    await act.createNamespace(editor, NS);
    await act.createNamespace(editor, 'second');
    const create = 'mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { name } }';
    await server.ok(create, { i: { namespace: NS, name: 'source', username: 'a', password: SECRET.copySource } }, editor);
    await server.ok(create, { i: { namespace: NS, name: 'target', username: 'b', password: SECRET.copyTarget } }, editor);
    await server.ok(create, { i: { namespace: 'second', name: 'source', username: 'c', password: SECRET.otherNamespace } }, editor);

    // Copy the blob (and its key id) while the server runs: WAL lets a second connection write.
    withDatabase(server, (db) => {
      const blobOf = db.prepare('SELECT c.secret_ciphertext, c.secret_key_id, c.id FROM credentials c JOIN namespaces n ON n.id = c.namespace_id WHERE n.name = ? AND c.name = ?');
      const copy = db.prepare('UPDATE credentials SET secret_ciphertext = ?, secret_key_id = ? WHERE id = ?');
      const source = blobOf.get(NS, 'source') as { secret_ciphertext: string; secret_key_id: string; id: string };
      const target = blobOf.get(NS, 'target') as { id: string };
      const foreign = blobOf.get('second', 'source') as { id: string };
      expect(copy.run(source.secret_ciphertext, source.secret_key_id, target.id).changes).toBe(1);
      // The same blob in another namespace's row of the same name.
      expect(copy.run(source.secret_ciphertext, source.secret_key_id, foreign.id).changes).toBe(1);
    }, { writable: true });
  });
  afterAll(async () => {
    await server?.close();
    if (server) expect(findLeakedSecrets(server, Object.values(SECRET))).toEqual([]);
  });

  it.each([
    [NS, 'target'],
    ['second', 'source'],
  ])('revealing %s/%s fails with a clear error that names it and carries no secret', async (namespace, name) => {
    const res = await server.gql(REVEAL, { i: { namespace, name } }, editor);
    expect(res.errors).toHaveLength(1);
    const [error] = res.errors!;
    expect(CONTRACT_CODES).toContain(codeOf(res));
    expect(error.message).not.toMatch(MASKED);
    expect(error.message).toMatch(/cannot be decrypted/);
    expect(error.message).toContain(`namespaces/${namespace}/credentials/${name}`);
    expect(res.data).toBeNull();
    for (const secret of Object.values(SECRET)) expect(JSON.stringify(res.body)).not.toContain(secret);
  });

  it('the original still reveals its own secret', async () => {
    const res = await server.ok(REVEAL, { i: { namespace: NS, name: 'source' } }, editor);
    expect(res.revealCredentialSecret.fields).toEqual([{ name: 'password', value: SECRET.copySource }]);
  });

  it('the server log says which credential, without the secret', () => {
    const lines = server.logs.filter((l) => l.includes('cannot be decrypted'));
    expect(lines.join('\n')).toContain('namespaces/acme/credentials/target');
    for (const secret of Object.values(SECRET)) expect(lines.join('\n')).not.toContain(secret);
  });

  // Giving every secret field again does not need the old (unreadable) one.
  it('entering the whole secret again repairs it', async () => {
    const res = await server.gql(
      'mutation($i: UpdateRegistryCredentialInput!) { updateRegistryCredential(input: $i) { name } }',
      { i: { namespace: NS, name: 'target', password: SECRET.copyTarget } },
      editor,
    );
    expect(res.errors).toBeUndefined();
    const revealed = await server.ok(REVEAL, { i: { namespace: NS, name: 'target' } }, editor);
    expect(revealed.revealCredentialSecret.fields).toEqual([{ name: 'password', value: SECRET.copyTarget }]);
  });
});

describe('keys', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-keys-'));
    dirs.push(dir);
    return dir;
  };
  const configIn = (dir: string, env: Record<string, string>) =>
    loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: path.join(dir, 'scopegate.db'), SCOPEGATE_DATA_DIR: dir, LOG_LEVEL: 'silent', ...env });
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('NODE_ENV=production without SCOPEGATE_MASTER_KEY refuses to start, naming the variable, before touching the database', async () => {
    const dir = tempDir();
    await expect(startScopegate(configIn(dir, { NODE_ENV: 'production' }), { log: createLogger('silent') })).rejects.toThrow(/SCOPEGATE_MASTER_KEY/);
    expect(fs.existsSync(path.join(dir, 'scopegate.db'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'master.key'))).toBe(false);

    // With a key, the same configuration starts.
    const gate = await startScopegate(configIn(dir, { NODE_ENV: 'production', SCOPEGATE_MASTER_KEY: randomBytes(32).toString('base64') }), { log: createLogger('silent') });
    await gate.close();
    expect(fs.existsSync(path.join(dir, 'master.key'))).toBe(false);
  });

  it('development without a key creates master.key (mode 0600), says so, and reuses it after a restart', async () => {
    const server = await startTestServer({ NODE_ENV: 'development' });
    const keyFile = path.join(server.dir, 'master.key');
    let key: string;
    try {
      expect(fs.existsSync(keyFile)).toBe(true);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      key = fs.readFileSync(keyFile, 'utf8').trim();
      expect(Buffer.from(key, 'base64')).toHaveLength(32);
      expect(server.logs.join('\n')).toMatch(/created the development key file .*master\.key/);
      expect(server.logs.join('\n')).not.toContain(key);

      const act = actions(server);
      await act.createUser('eddie');
      const editor = await act.login('eddie');
      await act.createNamespace(editor, NS);
      await server.ok('mutation { createHetznerCredential(input: { namespace: "acme", name: "dev", apiToken: "dev-mode-token-0000", skipValidation: true }) { name } }', {}, editor);
    } finally {
      await server.close();
    }

    // Same data dir, still no key configured: the same file, and the secret still decrypts.
    const again = await startTestServer({ NODE_ENV: 'development' }, server);
    try {
      expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(key);
      expect(again.logs.join('\n')).toMatch(/using the development key file/);
      const revealed = await again.ok('mutation { revealCredentialSecret(input: { namespace: "acme", name: "dev" }) { fields { value } } }', {}, again.adminToken);
      expect(revealed.revealCredentialSecret.fields).toEqual([{ value: 'dev-mode-token-0000' }]);
    } finally {
      await again.close();
    }
  });

  it('with SCOPEGATE_MASTER_KEY no key file is written', async () => {
    const server = await startTestServer({ NODE_ENV: 'development', SCOPEGATE_MASTER_KEY: randomBytes(32).toString('base64') });
    try {
      expect(fs.existsSync(path.join(server.dir, 'master.key'))).toBe(false);
    } finally {
      await server.close();
    }
  });
});
