/**
 * Quotas (issue 8, finding 4): a plain user's namespaces, personal tokens and sessions, a
 * namespace's API tokens, credentials and registries, a credential's registries. Each is
 * refused one past its limit with QUOTA_EXCEEDED naming its setting, freed by revoking or
 * deleting, never a limit for administrators, and never passed by concurrent creates (on
 * SQLite and on PostgreSQL). Also: validating a credential checks its registries a few at a
 * time under one deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { startFakeHelmRepo, type FakeHelmRepo } from './fakes/helm-repo.js';
import { actions, PASSWORD } from './helpers/fixtures.js';
import { createDatabase, dropDatabase } from './helpers/postgres.js';
import { expectGqlError, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

const QUOTAS = {
  SCOPEGATE_QUOTA_NAMESPACES_PER_USER: '3',
  SCOPEGATE_QUOTA_PERSONAL_TOKENS_PER_USER: '3',
  SCOPEGATE_QUOTA_SESSIONS_PER_USER: '3',
  SCOPEGATE_QUOTA_API_TOKENS_PER_NAMESPACE: '3',
  SCOPEGATE_QUOTA_CREDENTIALS_PER_NAMESPACE: '3',
  SCOPEGATE_QUOTA_REGISTRIES_PER_NAMESPACE: '3',
  SCOPEGATE_QUOTA_REGISTRIES_PER_CREDENTIAL: '2',
  // An address the outbound guard refuses: a check reaches nothing, and fails if it is made.
  SCOPEGATE_HETZNER_API_URL: 'http://127.0.0.1:9/v1',
};

const M = {
  createNamespace: 'mutation($i: CreateNamespaceInput!) { createNamespace(input: $i) { name } }',
  deleteNamespace: 'mutation($i: DeleteNamespaceInput!) { deleteNamespace(input: $i) { deleted } }',
  personalToken: 'mutation($i: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $i) { secret } }',
  revokePersonalToken: 'mutation($i: RevokePersonalAccessTokenInput!) { revokePersonalAccessToken(input: $i) { deleted } }',
  apiToken: 'mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret } }',
  revokeApiToken: 'mutation($i: RevokeApiTokenInput!) { revokeApiToken(input: $i) { deleted } }',
  registryCredential: 'mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { name } }',
  hetzner: 'mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { name } }',
  sshKey: 'mutation($i: CreateSshKeyCredentialInput!) { createSshKeyCredential(input: $i) { credential { name } } }',
  deleteCredential: 'mutation($i: DeleteCredentialInput!) { deleteCredential(input: $i) { deleted } }',
  createRegistry: 'mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { name credential { name } } }',
  updateRegistry: 'mutation($i: UpdateRegistryInput!) { updateRegistry(input: $i) { name credential { name } } }',
  deleteRegistry: 'mutation($i: DeleteRegistryInput!) { deleteRegistry(input: $i) { deleted } }',
  validate: 'mutation($i: CredentialRefInput!) { validateCredential(input: $i) { validationStatus validationMessage } }',
};

function expectQuota(res: GqlResponse, setting: string, limit: number) {
  expect(res.errors, JSON.stringify(res.body)).toHaveLength(1);
  const { message, extensions } = expectGqlError(res, { code: 'QUOTA_EXCEEDED', message: new RegExp(`quota of ${limit} `) });
  expect(message).toContain(setting);
  expect(extensions).toMatchObject({ setting, limit });
}

const count = (connection: { edges: unknown[] }) => connection.edges.length;

/** Runs each call, in order, and expects each to succeed. */
async function all(server: TestServer, token: string, calls: [query: string, input: Record<string, unknown>][]) {
  for (const [query, i] of calls) await server.ok(query, { i }, token);
}

describe('quotas, with small limits', () => {
  let server: TestServer;
  let s: ReturnType<typeof actions>;
  let ada: string; // an administrator's session

  /** A new plain user and a session of theirs. */
  const plainUser = async (username: string) => {
    await s.createUser(username);
    return s.login(username);
  };

  beforeAll(async () => {
    server = await startTestServer(QUOTAS);
    s = actions(server);
    await server.ok('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username: 'ada', password: PASSWORD, isAdmin: true } }, server.adminToken);
    ada = await s.login('ada');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('namespaces per user: those the user created count, memberships do not; deleting frees a slot', async () => {
    const bob = await plainUser('bob');
    // Owning a namespace someone else created is not creating one.
    await s.createNamespace(ada, 'given-to-bob');
    await s.setRole(ada, 'given-to-bob', 'bob', 'OWNER');
    for (const name of ['bob-1', 'bob-2', 'bob-3']) await s.createNamespace(bob, name);

    expectQuota(await server.gql(M.createNamespace, { i: { name: 'bob-4' } }, bob), 'SCOPEGATE_QUOTA_NAMESPACES_PER_USER', 3);
    // Per user, not per token: a fresh personal token of bob's is refused too.
    const { secret: bobToken } = await s.personalToken(bob, { name: 'laptop' });
    expectQuota(await server.gql(M.createNamespace, { i: { name: 'bob-4' } }, bobToken), 'SCOPEGATE_QUOTA_NAMESPACES_PER_USER', 3);
    expect((await server.ok('{ namespace(name: "bob-4") { name } }', {}, server.adminToken)).namespace).toBeNull();

    await server.ok(M.deleteNamespace, { i: { name: 'bob-1' } }, bob);
    await s.createNamespace(bobToken, 'bob-4');
    expectQuota(await server.gql(M.createNamespace, { i: { name: 'bob-5' } }, bob), 'SCOPEGATE_QUOTA_NAMESPACES_PER_USER', 3);
  });

  it('administrators are not limited, but a token of theirs without administrator rights is', async () => {
    for (let i = 1; i <= 5; i++) await s.createNamespace(ada, `ada-${i}`);
    for (let i = 1; i <= 5; i++) await s.createNamespace(server.adminToken, `admin-${i}`);
    const { secret: plain } = await s.personalToken(ada, { name: 'no-admin-rights' });
    expectQuota(await server.gql(M.createNamespace, { i: { name: 'ada-6' } }, plain), 'SCOPEGATE_QUOTA_NAMESPACES_PER_USER', 3);
  });

  it('personal tokens per user: revoked ones do not count', async () => {
    const carol = await plainUser('carol');
    for (const name of ['one', 'two', 'three']) await s.personalToken(carol, { name });
    expectQuota(await server.gql(M.personalToken, { i: { name: 'four' } }, carol), 'SCOPEGATE_QUOTA_PERSONAL_TOKENS_PER_USER', 3);
    expect(count((await server.ok('{ viewer { personalAccessTokens(first: 100) { edges { node { name } } } } }', {}, carol)).viewer.personalAccessTokens)).toBe(3);

    await server.ok(M.revokePersonalToken, { i: { name: 'one' } }, carol);
    await s.personalToken(carol, { name: 'four' });
    expectQuota(await server.gql(M.personalToken, { i: { name: 'five' } }, carol), 'SCOPEGATE_QUOTA_PERSONAL_TOKENS_PER_USER', 3);

    for (let i = 1; i <= 5; i++) await s.personalToken(ada, { name: `ada-token-${i}` });
  });

  it('sessions per user: a login over the quota ends the oldest session instead of being refused', async () => {
    const dave = [await plainUser('dave')];
    for (let i = 0; i < 2; i++) dave.push(await s.login('dave'));
    const works = async (token: string) => (await server.gql('{ viewer { kind } }', {}, token)).status === 200;
    for (const session of dave) expect(await works(session)).toBe(true);

    dave.push(await s.login('dave'));
    expect(await Promise.all(dave.map(works))).toEqual([false, true, true, true]);
    const login = await server.ok('{ auditEvents(first: 1, filter: { action: "auth.login", target: "users/dave" }) { edges { node { details } } } }', {}, server.adminToken);
    expect(JSON.parse(login.auditEvents.edges[0].node.details)).toMatchObject({ endedSessions: 1 });

    // A session that ended by logout leaves room: the next login ends nothing.
    await server.ok('mutation { logout }', {}, dave[1]);
    dave.push(await s.login('dave'));
    expect(await Promise.all(dave.map(works))).toEqual([false, false, true, true, true]);

    // An administrator's sessions are not capped (ada has one from the start).
    const adas = [ada];
    for (let i = 0; i < 4; i++) adas.push(await s.login('ada'));
    expect((await Promise.all(adas.map(works))).every(Boolean)).toBe(true);
  });

  it('API tokens per namespace: revoked ones do not count; an administrator may add more', async () => {
    const erin = await plainUser('erin');
    await s.createNamespace(erin, 'erin-tokens');
    for (const name of ['t1', 't2', 't3']) await s.apiToken(erin, { namespace: 'erin-tokens', name, role: 'VIEWER' });
    const t4 = { namespace: 'erin-tokens', name: 't4', role: 'VIEWER' };
    expectQuota(await server.gql(M.apiToken, { i: t4 }, erin), 'SCOPEGATE_QUOTA_API_TOKENS_PER_NAMESPACE', 3);
    // An OWNER API token of the namespace cannot mint past it either.
    const { secret: ownerToken } = await s.apiToken(ada, { namespace: 'erin-tokens', name: 'by-admin', role: 'OWNER' });
    expectQuota(await server.gql(M.apiToken, { i: t4 }, ownerToken), 'SCOPEGATE_QUOTA_API_TOKENS_PER_NAMESPACE', 3);

    await server.ok(M.revokeApiToken, { i: { namespace: 'erin-tokens', name: 't1' } }, erin);
    await server.ok(M.revokeApiToken, { i: { namespace: 'erin-tokens', name: 'by-admin' } }, erin);
    await server.ok(M.apiToken, { i: t4 }, erin);
    expectQuota(await server.gql(M.apiToken, { i: { ...t4, name: 't5' } }, erin), 'SCOPEGATE_QUOTA_API_TOKENS_PER_NAMESPACE', 3);
    for (const name of ['a1', 'a2']) await s.apiToken(server.adminToken, { namespace: 'erin-tokens', name, role: 'VIEWER' });
  });

  it('credentials per namespace, of every type; deleting frees a slot', async () => {
    const frank = await plainUser('frank');
    const ns = 'frank-creds';
    await s.createNamespace(frank, ns);
    await all(server, frank, [
      [M.registryCredential, { namespace: ns, name: 'registry', username: 'robot', password: 'registry-password-1' }],
      [M.hetzner, { namespace: ns, name: 'hetzner', apiToken: 'hcloud-token-1', skipValidation: true }],
      [M.sshKey, { namespace: ns, name: 'deploy-key', generate: true }],
    ]);
    expectQuota(await server.gql(M.hetzner, { i: { namespace: ns, name: 'hetzner-2', apiToken: 'hcloud-token-2', skipValidation: true } }, frank), 'SCOPEGATE_QUOTA_CREDENTIALS_PER_NAMESPACE', 3);
    expectQuota(await server.gql(M.sshKey, { i: { namespace: ns, name: 'key-2', generate: true } }, frank), 'SCOPEGATE_QUOTA_CREDENTIALS_PER_NAMESPACE', 3);
    // Refused before the provider is asked: no secret leaves for a credential that cannot be stored.
    expectQuota(await server.gql(M.hetzner, { i: { namespace: ns, name: 'hetzner-3', apiToken: 'hcloud-token-3' } }, frank), 'SCOPEGATE_QUOTA_CREDENTIALS_PER_NAMESPACE', 3);

    await server.ok(M.deleteCredential, { i: { namespace: ns, name: 'hetzner' } }, frank);
    await server.ok(M.sshKey, { i: { namespace: ns, name: 'key-2', generate: true } }, frank);
    expectQuota(await server.gql(M.sshKey, { i: { namespace: ns, name: 'key-3', generate: true } }, frank), 'SCOPEGATE_QUOTA_CREDENTIALS_PER_NAMESPACE', 3);
    await server.ok(M.sshKey, { i: { namespace: ns, name: 'key-3', generate: true } }, ada);
    expect(count((await server.ok(`{ namespace(name: "${ns}") { credentials(first: 100) { edges { node { name } } } } }`, {}, frank)).namespace.credentials)).toBe(4);
  });

  it('registries per namespace; deleting frees a slot', async () => {
    const gina = await plainUser('gina');
    const ns = 'gina-registries';
    await s.createNamespace(gina, ns);
    const registry = (name: string) => ({ namespace: ns, name, url: `https://charts.example.com/${name}` });
    await all(server, gina, [[M.createRegistry, registry('r1')], [M.createRegistry, registry('r2')], [M.createRegistry, registry('r3')]]);
    expectQuota(await server.gql(M.createRegistry, { i: registry('r4') }, gina), 'SCOPEGATE_QUOTA_REGISTRIES_PER_NAMESPACE', 3);
    await server.ok(M.deleteRegistry, { i: { namespace: ns, name: 'r1' } }, gina);
    await server.ok(M.createRegistry, { i: registry('r4') }, gina);
    expectQuota(await server.gql(M.createRegistry, { i: registry('r5') }, gina), 'SCOPEGATE_QUOTA_REGISTRIES_PER_NAMESPACE', 3);
    await server.ok(M.createRegistry, { i: registry('r5') }, ada);
  });

  it('registries per credential: creating with it and switching to it count; keeping it does not', async () => {
    const hank = await plainUser('hank');
    const ns = 'hank-registries';
    await s.createNamespace(hank, ns);
    await all(server, hank, [
      [M.registryCredential, { namespace: ns, name: 'c1', username: 'robot', password: 'registry-password-1' }],
      [M.registryCredential, { namespace: ns, name: 'c2', username: 'robot', password: 'registry-password-2' }],
    ]);
    const registry = (name: string, credential?: string) => ({ namespace: ns, name, url: `https://charts.example.com/${name}`, credential });
    await all(server, hank, [[M.createRegistry, registry('r1', 'c1')], [M.createRegistry, registry('r2', 'c1')]]);

    expectQuota(await server.gql(M.createRegistry, { i: registry('r3', 'c1') }, hank), 'SCOPEGATE_QUOTA_REGISTRIES_PER_CREDENTIAL', 2);
    await server.ok(M.createRegistry, { i: registry('r3') }, hank);
    expectQuota(await server.gql(M.updateRegistry, { i: { namespace: ns, name: 'r3', credential: 'c1' } }, hank), 'SCOPEGATE_QUOTA_REGISTRIES_PER_CREDENTIAL', 2);
    // Naming the credential a registry already has is not one more.
    await server.ok(M.updateRegistry, { i: { namespace: ns, name: 'r1', credential: 'c1' } }, hank);

    await server.ok(M.updateRegistry, { i: { namespace: ns, name: 'r1', credential: 'c2' } }, hank);
    await server.ok(M.updateRegistry, { i: { namespace: ns, name: 'r3', credential: 'c1' } }, hank);
    await server.ok(M.updateRegistry, { i: { namespace: ns, name: 'r1', credential: 'c1' } }, ada);
    const used = await server.ok(`{ namespace(name: "${ns}") { credential(name: "c1") { ... on RegistryCredential { registries(first: 100) { edges { node { name } } } } } } }`, {}, hank);
    expect(count(used.namespace.credential.registries)).toBe(3);
  });

  it('quota settings are validated at start, each naming its variable', () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({
      SCOPEGATE_QUOTA_NAMESPACES_PER_USER: 100,
      SCOPEGATE_QUOTA_PERSONAL_TOKENS_PER_USER: 100,
      SCOPEGATE_QUOTA_SESSIONS_PER_USER: 50,
      SCOPEGATE_QUOTA_API_TOKENS_PER_NAMESPACE: 500,
      SCOPEGATE_QUOTA_CREDENTIALS_PER_NAMESPACE: 500,
      SCOPEGATE_QUOTA_REGISTRIES_PER_NAMESPACE: 500,
      SCOPEGATE_QUOTA_REGISTRIES_PER_CREDENTIAL: 50,
      SCOPEGATE_MUTATION_LIMIT: 100,
      SCOPEGATE_MUTATION_WINDOW_SECONDS: 10,
    });
    for (const [name, value] of [...Object.keys(QUOTAS).map((k) => [k, '0']), ['SCOPEGATE_QUOTA_SESSIONS_PER_USER', 'lots'], ['SCOPEGATE_MUTATION_LIMIT', '-1']]) {
      expect(() => loadConfig({ [name]: value }), name).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value }), name).toThrow(name);
    }
  });
});

const postgresUrl = await createDatabase('quotas.test.ts');

describe.each([
  { dialect: 'SQLite', databaseUrl: undefined as string | undefined },
  { dialect: 'PostgreSQL', databaseUrl: postgresUrl ?? undefined },
])('concurrent creates never pass a quota ($dialect)', ({ dialect, databaseUrl }) => {
  let server: TestServer;
  let s: ReturnType<typeof actions>;
  const skip = dialect === 'PostgreSQL' && !databaseUrl;

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer({ ...QUOTAS, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    s = actions(server);
  });
  afterAll(async () => {
    await server?.close();
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  /** Fires all at once; exactly `limit` land and the rest are QUOTA_EXCEEDED naming `setting`. */
  async function race(token: string, calls: [string, Record<string, unknown>][], setting: string, limit: number) {
    const results = await Promise.all(calls.map(([query, i]) => server.gql(query, { i }, token)));
    for (const res of results.filter((r) => r.errors)) expectQuota(res, setting, limit);
    expect(results.filter((r) => !r.errors)).toHaveLength(limit);
  }

  it.skipIf(skip)('namespaces of one user (3 + 5 at once)', async () => {
    await s.createUser('racer');
    const racer = await s.login('racer');
    const names = Array.from({ length: 8 }, (_, i) => `race-${i}`);
    await race(racer, names.map((name) => [M.createNamespace, { name }]), 'SCOPEGATE_QUOTA_NAMESPACES_PER_USER', 3);
    expect(count((await server.ok('{ namespaces(first: 100) { edges { node { name } } } }', {}, racer)).namespaces)).toBe(3);
  });

  it.skipIf(skip)('API tokens of one namespace (3 + 5 at once)', async () => {
    await s.createUser('minter');
    const minter = await s.login('minter');
    await s.createNamespace(minter, 'minted');
    const names = Array.from({ length: 8 }, (_, i) => `t-${i}`);
    await race(minter, names.map((name) => [M.apiToken, { namespace: 'minted', name, role: 'VIEWER' }]), 'SCOPEGATE_QUOTA_API_TOKENS_PER_NAMESPACE', 3);
    expect(count((await server.ok('{ namespace(name: "minted") { apiTokens(first: 100) { edges { node { name } } } } }', {}, minter)).namespace.apiTokens)).toBe(3);
  });

  it.skipIf(skip)('registries of one credential (2 + 5 at once)', async () => {
    await s.createUser('linker');
    const linker = await s.login('linker');
    await s.createNamespace(linker, 'linked');
    await server.ok(M.registryCredential, { i: { namespace: 'linked', name: 'shared', username: 'robot', password: 'registry-password-1' } }, linker);
    // Each registry starts without it (the namespace allows 3); then all switch to it at once.
    const names = Array.from({ length: 7 }, (_, i) => `r-${i}`);
    for (const name of names) await server.ok(M.createRegistry, { i: { namespace: 'linked', name, url: 'https://charts.example.com' } }, server.adminToken);
    await race(linker, names.map((name) => [M.updateRegistry, { namespace: 'linked', name, credential: 'shared' }]), 'SCOPEGATE_QUOTA_REGISTRIES_PER_CREDENTIAL', 2);
    const used = await server.ok('{ namespace(name: "linked") { credential(name: "shared") { ... on RegistryCredential { registries(first: 100) { edges { node { name } } } } } } }', {}, linker);
    expect(count(used.namespace.credential.registries)).toBe(2);
  });
});

describe('validating a credential checks its registries a few at a time, under one deadline', () => {
  const PASSWORD_OK = 'registry-password-slow-0000';
  const fakes: FakeHelmRepo[] = [];
  const servers: TestServer[] = [];

  afterAll(async () => {
    await Promise.all([...servers, ...fakes].map((x) => x.close()));
  });

  /** A server with its own provider timeout, a namespace and a registry credential used by registries at these fakes. */
  async function setUp(timeoutMs: number, registries: [name: string, fake: FakeHelmRepo][]) {
    const server = await startTestServer({ SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true', SCOPEGATE_PROVIDER_TIMEOUT_MS: String(timeoutMs) });
    servers.push(server);
    const admin = server.adminToken;
    await actions(server).createNamespace(admin, 'acme');
    await server.ok(M.registryCredential, { i: { namespace: 'acme', name: 'robot', username: 'robot', password: PASSWORD_OK } }, admin);
    for (const [name, fake] of registries) await server.ok(M.createRegistry, { i: { namespace: 'acme', name, url: fake.url, credential: 'robot' } }, admin);
    return server;
  }
  const helm = async (latencyMs: number) => {
    const fake = await startFakeHelmRepo({ users: { robot: PASSWORD_OK }, latencyMs });
    fakes.push(fake);
    return fake;
  };

  it('six registries answering after 1.5 s each: about two latencies (4 at a time), not six; each host is recorded', async () => {
    const slow = await Promise.all(Array.from({ length: 6 }, () => helm(1500)));
    const server = await setUp(5000, slow.map((fake, i) => [`registry-${i}`, fake]));

    const started = performance.now();
    const res = await server.ok(M.validate, { i: { namespace: 'acme', name: 'robot' } }, server.adminToken);
    const elapsed = performance.now() - started;
    expect(res.validateCredential.validationStatus).toBe('VALID');
    expect(res.validateCredential.validationMessage).toBe(`accepted by ${slow.map((_, i) => `registry-${i}`).join(', ')}`);
    // One after another would take at least 9 s.
    expect(elapsed).toBeLessThan(6000);
    for (const fake of slow) expect(fake.requests).toHaveLength(1);

    // Every host the secret went to is audited like a reveal, once.
    const reveals = await server.ok('{ auditEvents(filter: { action: "credential.reveal" }) { edges { node { details } } } }', {}, server.adminToken);
    const hosts = reveals.auditEvents.edges.map((e: { node: { details: string } }) => JSON.parse(e.node.details).host).sort();
    expect(hosts).toEqual(slow.map((fake) => new URL(fake.origin).host).sort());
  });

  it('past the deadline, checks under way are cut off and the rest read as unchecked, with a message', async () => {
    const slow = await Promise.all(Array.from({ length: 4 }, () => helm(3000)));
    const fast = await Promise.all(Array.from({ length: 2 }, () => helm(0)));
    // By name, the four slow ones take every slot until the 1 s deadline; the fast ones come after.
    const server = await setUp(1000, [...slow.map((f, i) => [`a-slow-${i}`, f] as [string, FakeHelmRepo]), ['b-fast-0', fast[0]], ['b-fast-1', fast[1]]]);

    const res = await server.gql(M.validate, { i: { namespace: 'acme', name: 'robot' } }, server.adminToken);
    const { message } = expectGqlError(res, { code: 'PROVIDER_UNREACHABLE' });
    for (let i = 0; i < 4; i++) expect(message).toContain(`registry "a-slow-${i}": The Helm repository`);
    expect(message).toMatch(/did not answer within 1000 ms/);
    expect(message).toContain('not checked, the 1000 ms deadline (SCOPEGATE_PROVIDER_TIMEOUT_MS) passed first: "b-fast-0", "b-fast-1"');
    for (const fake of fast) expect(fake.connections).toBe(0);

    const stored = await server.ok('{ namespace(name: "acme") { credential(name: "robot") { validationStatus validationMessage } } }', {}, server.adminToken);
    expect(stored.namespace.credential).toEqual({ validationStatus: 'UNREACHABLE', validationMessage: message });
  });
});
