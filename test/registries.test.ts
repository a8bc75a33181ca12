/**
 * Helm chart registries and the registry credentials they authenticate with: URLs and
 * their kind, the credential's `registries` connection, one password change reaching
 * every registry, CREDENTIAL_IN_USE and force, and bad input that leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHelmRepo, type FakeHelmRepo } from './fakes/helm-repo.js';
import { startFakeOciRegistry, type FakeOciRegistry } from './fakes/oci-registry.js';
import { basicAuthOf } from './fakes/server.js';
import { withDatabase } from './helpers/db.js';
import { actions, seedTeam } from './helpers/fixtures.js';
import { expectGqlError, findLeakedSecrets, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

const NS = 'acme';
const REGISTRY = 'id name resourceName url kind createdAt updatedAt namespace { name } credential { name username }';
const CREDENTIAL = 'name validationStatus validationMessage lastValidatedAt';
const M = {
  createRegistry: `mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { ${REGISTRY} } }`,
  updateRegistry: `mutation($i: UpdateRegistryInput!) { updateRegistry(input: $i) { ${REGISTRY} } }`,
  deleteRegistry: 'mutation($i: DeleteRegistryInput!) { deleteRegistry(input: $i) { deleted } }',
  createCredential: `mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { ${CREDENTIAL} } }`,
  updateCredential: `mutation($i: UpdateRegistryCredentialInput!) { updateRegistryCredential(input: $i) { ${CREDENTIAL} } }`,
  deleteCredential: 'mutation($i: DeleteCredentialInput!) { deleteCredential(input: $i) { deleted } }',
  validate: `mutation($i: CredentialRefInput!) { validateCredential(input: $i) { ${CREDENTIAL} } }`,
  reveal: 'mutation($i: CredentialRefInput!) { revealCredentialSecret(input: $i) { fields { name value } } }',
};
const Q = {
  registry: `query($ns: String!, $name: String!) { namespace(name: $ns) { registry(name: $name) { ${REGISTRY} } } }`,
  registries: `query($ns: String!) { namespace(name: $ns) { registries(first: 100) { edges { node { name url kind updatedAt credential { name } } } } } }`,
  usedBy: `query($ns: String!, $name: String!, $first: Int, $after: String) { namespace(name: $ns) { credential(name: $name) {
    ... on RegistryCredential { ${CREDENTIAL} registries(first: $first, after: $after) { edges { node { name } } pageInfo { hasNextPage endCursor } } } } } }`,
};

const P1 = 'registry-password-one-1111';
const P2 = 'registry-password-two-2222';
const P3 = 'registry-password-wrong-3333';
const URL_PASSWORD = 'hunter2-in-the-url-9999';

describe('registries', () => {
  let server: TestServer;
  let owner: string;
  let editor: string;
  let viewer: string;
  let stranger: string;
  let oci: FakeOciRegistry;
  let helm: FakeHelmRepo;

  beforeAll(async () => {
    oci = await startFakeOciRegistry({ users: { robot: P1 } });
    helm = await startFakeHelmRepo({ users: { robot: P1 } });
    server = await startTestServer({ SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true' });
    const act = actions(server);
    const team = await seedTeam(server, NS);
    [owner, editor, viewer] = [team.owner.token, team.editor.token, team.viewer.token];
    stranger = (await act.signUp('otto')).token;
    await act.createNamespace(owner, 'second');
    await act.createNamespace(stranger, 'elsewhere');
    await server.ok(M.createCredential, { i: { namespace: NS, name: 'shared', username: 'robot', password: P1 } }, editor);
    await server.ok(M.createCredential, { i: { namespace: NS, name: 'spare', username: 'spare-user', password: 'spare-password-0000' } }, editor);
    await server.ok(M.createCredential, { i: { namespace: 'second', name: 'second-cred', username: 'x', password: 'second-password-0000' } }, owner);
    await server.ok(M.createCredential, { i: { namespace: 'elsewhere', name: 'theirs', username: 'x', password: 'their-password-0000' } }, stranger);
    await server.ok(
      'mutation { createHetznerCredential(input: { namespace: "acme", name: "hetzner", apiToken: "hcloud-not-a-registry-0000", skipValidation: true }) { name } }',
      {},
      editor,
    );
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([oci?.close(), helm?.close()]);
    if (server) expect(findLeakedSecrets(server, [P1, P2, P3, URL_PASSWORD])).toEqual([]);
  });

  const registry = async (name: string, token = viewer) => (await server.ok(Q.registry, { ns: NS, name }, token)).namespace.registry;
  const registries = async () => (await server.ok(Q.registries, { ns: NS }, owner)).namespace.registries.edges.map((e: { node: unknown }) => e.node);
  const usedBy = async (name: string) => {
    const cred = (await server.ok(Q.usedBy, { ns: NS, name, first: 100 }, viewer)).namespace.credential;
    return cred.registries.edges.map((e: { node: { name: string } }) => e.node.name);
  };
  const credential = async (name: string) => (await server.ok(Q.usedBy, { ns: NS, name, first: 100 }, viewer)).namespace.credential;
  const password = async (name: string) => (await server.ok(M.reveal, { i: { namespace: NS, name } }, editor)).revealCredentialSecret.fields[0].value;
  const expectError = (res: GqlResponse, code: string, message?: RegExp) => {
    expect(res.errors, JSON.stringify(res.body)).toHaveLength(1);
    expectGqlError(res, { code, ...(message ? { message } : {}) });
  };
  const lastBasicAuth = (fake: FakeOciRegistry | FakeHelmRepo) => {
    const withBasic = fake.requests.filter((r) => /^Basic /i.test(r.headers.authorization ?? ''));
    return basicAuthOf({ headers: withBasic.at(-1)!.headers } as never);
  };

  it('creates HTTP and OCI registries: the kind follows the scheme, the URL is normalised', async () => {
    const http = await server.ok(M.createRegistry, { i: { namespace: NS, name: 'stable', url: 'https://charts.example.com/stable/' } }, editor);
    expect(http.createRegistry).toMatchObject({
      name: 'stable',
      resourceName: 'namespaces/acme/registries/stable',
      url: 'https://charts.example.com/stable',
      kind: 'HTTP',
      credential: null,
      namespace: { name: NS },
    });
    const ghcr = await server.ok(M.createRegistry, { i: { namespace: NS, name: 'ghcr', url: 'oci://ghcr.io/acme/charts', credential: 'spare' } }, editor);
    expect(ghcr.createRegistry).toMatchObject({ url: 'oci://ghcr.io/acme/charts', kind: 'OCI', credential: { name: 'spare', username: 'spare-user' } });

    // Viewers read them, by name, in the list and by node id.
    expect(await registry('ghcr')).toMatchObject({ kind: 'OCI', credential: { name: 'spare' } });
    expect((await registries()).map((r: { name: string }) => r.name)).toEqual(['ghcr', 'stable']);
    const node = await server.ok('query($id: ID!) { node(id: $id) { ... on Registry { name kind } } }', { id: ghcr.createRegistry.id }, viewer);
    expect(node.node).toEqual({ name: 'ghcr', kind: 'OCI' });
  });

  it('updates the URL (the kind follows), sets and clears the credential', async () => {
    const before = await registry('stable');
    const toOci = await server.ok(M.updateRegistry, { i: { namespace: NS, name: 'stable', url: 'oci://registry.example.com/stable' } }, editor);
    expect(toOci.updateRegistry).toMatchObject({ url: 'oci://registry.example.com/stable', kind: 'OCI', credential: null, createdAt: before.createdAt });
    const withCred = await server.ok(M.updateRegistry, { i: { namespace: NS, name: 'stable', credential: 'spare' } }, editor);
    expect(withCred.updateRegistry).toMatchObject({ url: 'oci://registry.example.com/stable', credential: { name: 'spare' } });
    expect(await usedBy('spare')).toEqual(['ghcr', 'stable']);
    const cleared = await server.ok(M.updateRegistry, { i: { namespace: NS, name: 'stable', clearCredential: true } }, editor);
    expect(cleared.updateRegistry.credential).toBeNull();
    expect(await usedBy('spare')).toEqual(['ghcr']);
    const back = await server.ok(M.updateRegistry, { i: { namespace: NS, name: 'stable', url: 'https://charts.example.com/stable' } }, editor);
    expect(back.updateRegistry).toMatchObject({ kind: 'HTTP', credential: null });
  });

  it("lists a credential's registries by name, in pages", async () => {
    await server.ok(M.createRegistry, { i: { namespace: NS, name: 'oci-local', url: oci.url, credential: 'shared' } }, editor);
    await server.ok(M.createRegistry, { i: { namespace: NS, name: 'helm-local', url: helm.url, credential: 'shared' } }, editor);
    expect((await registry('oci-local')).kind).toBe('OCI');
    expect((await registry('helm-local')).kind).toBe('HTTP');
    expect(await usedBy('shared')).toEqual(['helm-local', 'oci-local']);

    const first = (await server.ok(Q.usedBy, { ns: NS, name: 'shared', first: 1 }, viewer)).namespace.credential.registries;
    expect(first.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['helm-local']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await server.ok(Q.usedBy, { ns: NS, name: 'shared', first: 1, after: first.pageInfo.endCursor }, viewer)).namespace.credential.registries;
    expect(second.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['oci-local']);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it('a new password applies to every registry that uses the credential', async () => {
    const valid = await server.ok(M.validate, { i: { namespace: NS, name: 'shared' } }, editor);
    expect(valid.validateCredential).toMatchObject({ validationStatus: 'VALID' });
    expect(valid.validateCredential.validationMessage).toMatch(/helm-local.*oci-local/);
    expect(oci.issuedTokens.size).toBeGreaterThan(0); // the bearer-token dance happened
    expect(lastBasicAuth(oci)).toEqual({ username: 'robot', password: P1 });
    expect(lastBasicAuth(helm)).toEqual({ username: 'robot', password: P1 });

    // The registry owners rotate the robot's password: the stored one stops working.
    oci.users.set('robot', P2);
    helm.users.set('robot', P2);
    const stale = await server.gql(M.validate, { i: { namespace: NS, name: 'shared' } }, editor);
    expectError(stale, 'VALIDATION_FAILED', /helm-local/);
    expect(stale.errors![0].extensions!.httpStatus).toBe(401);
    expect((await credential('shared')).validationStatus).toBe('INVALID');

    // A password that the registries refuse is not stored.
    const wrong = await server.gql(M.updateCredential, { i: { namespace: NS, name: 'shared', password: P3 } }, editor);
    expectError(wrong, 'VALIDATION_FAILED');
    expect(JSON.stringify(wrong.body)).not.toContain(P3);
    expect(await password('shared')).toBe(P1);

    // One update, checked through both registries, and both use it from now on.
    const ociBefore = oci.requests.length;
    const helmBefore = helm.requests.length;
    const updated = await server.ok(M.updateCredential, { i: { namespace: NS, name: 'shared', password: P2 } }, editor);
    expect(updated.updateRegistryCredential).toMatchObject({ validationStatus: 'VALID' });
    expect(updated.updateRegistryCredential.validationMessage).toMatch(/helm-local.*oci-local/);
    expect(oci.requests.length).toBeGreaterThan(ociBefore);
    expect(helm.requests.length).toBeGreaterThan(helmBefore);
    expect(lastBasicAuth(oci)).toEqual({ username: 'robot', password: P2 });
    expect(lastBasicAuth(helm)).toEqual({ username: 'robot', password: P2 });
    expect(await password('shared')).toBe(P2);

    // Nothing to reconfigure on the registries: they still point at the same credential.
    expect((await registry('oci-local')).credential).toMatchObject({ name: 'shared' });
    const again = await server.ok(M.validate, { i: { namespace: NS, name: 'shared' } }, editor);
    expect(again.validateCredential.validationStatus).toBe('VALID');
  });

  it('refuses to delete a credential in use, naming the registries; nothing is deleted', async () => {
    const res = await server.gql(M.deleteCredential, { i: { namespace: NS, name: 'shared' } }, editor);
    expectError(res, 'CREDENTIAL_IN_USE', /"helm-local", "oci-local".*force/);
    expect(res.errors![0].extensions!.registries).toEqual(['helm-local', 'oci-local']);
    expect(await credential('shared')).not.toBeNull();
    expect((await registry('oci-local')).credential).toMatchObject({ name: 'shared' });
    expect((await registry('helm-local')).credential).toMatchObject({ name: 'shared' });
    expect(await usedBy('shared')).toEqual(['helm-local', 'oci-local']);
  });

  it('with force the registries lose their credential, and the audit trail names them', async () => {
    const res = await server.ok(M.deleteCredential, { i: { namespace: NS, name: 'shared', force: true } }, editor);
    expect(res.deleteCredential.deleted).toBe('namespaces/acme/credentials/shared');
    expect(await credential('shared')).toBeNull();
    for (const name of ['helm-local', 'oci-local']) {
      const r = await registry(name);
      expect(r).toMatchObject({ name, credential: null });
    }
    // A new credential of the same name is not silently attached again.
    await server.ok(M.createCredential, { i: { namespace: NS, name: 'shared', username: 'robot', password: P2 } }, editor);
    expect(await usedBy('shared')).toEqual([]);
    expect((await registry('oci-local')).credential).toBeNull();

    // Read the trail straight from the SQLite file, read-only, while the server runs.
    const events = withDatabase(server, (db) =>
      db
        .prepare("SELECT outcome, actor_name, details FROM audit_events WHERE action = 'credential.delete' AND target = ? ORDER BY seq")
        .all('namespaces/acme/credentials/shared'),
    ) as { outcome: string; actor_name: string; details: string }[];
    const refused = events.filter((e) => e.outcome === 'ERROR');
    const done = events.filter((e) => e.outcome === 'SUCCESS');
    expect(refused.length).toBe(1);
    expect(JSON.parse(refused[0].details)).toMatchObject({ code: 'CREDENTIAL_IN_USE' });
    expect(done.length).toBe(1);
    expect(done[0].actor_name).toBe('user:eddie');
    expect(JSON.parse(done[0].details)).toMatchObject({ type: 'REGISTRY', detachedRegistries: ['helm-local', 'oci-local'] });
  });

  it('deleting a registry leaves its credential alone', async () => {
    const res = await server.ok(M.deleteRegistry, { i: { namespace: NS, name: 'ghcr' } }, editor);
    expect(res.deleteRegistry.deleted).toBe('namespaces/acme/registries/ghcr');
    expect(await registry('ghcr')).toBeNull();
    expect(await credential('spare')).not.toBeNull();
    expect(await usedBy('spare')).toEqual([]);
    expectError(await server.gql(M.deleteRegistry, { i: { namespace: NS, name: 'ghcr' } }, editor), 'NOT_FOUND', /ghcr/);
  });

  it('viewers read registries but may not change them; another namespace owner sees nothing', async () => {
    const before = await registries();
    expectError(await server.gql(M.createRegistry, { i: { namespace: NS, name: 'mine', url: 'https://charts.example.com' } }, viewer), 'FORBIDDEN', /EDITOR/);
    expectError(await server.gql(M.updateRegistry, { i: { namespace: NS, name: 'stable', url: 'https://evil.example.com' } }, viewer), 'FORBIDDEN', /EDITOR/);
    expectError(await server.gql(M.deleteRegistry, { i: { namespace: NS, name: 'stable' } }, viewer), 'FORBIDDEN', /EDITOR/);
    const id = (await registry('stable')).id;
    expect((await server.ok('query($id: ID!) { node(id: $id) { id } }', { id }, stranger)).node).toBeNull();
    expect((await server.ok(Q.registry, { ns: NS, name: 'stable' }, stranger)).namespace).toBeNull();
    expectError(await server.gql(M.createRegistry, { i: { namespace: NS, name: 'theirs', url: 'https://charts.example.com' } }, stranger), 'NOT_FOUND');
    expectError(await server.gql(M.deleteRegistry, { i: { namespace: NS, name: 'stable' } }, stranger), 'NOT_FOUND');
    expect(await registries()).toEqual(before);
  });

  describe('bad input stores nothing', () => {
    const create = (input: Record<string, unknown>) => [M.createRegistry, { name: 'new-registry', url: 'https://charts.example.com', ...input }] as const;
    const update = (input: Record<string, unknown>) => [M.updateRegistry, { name: 'stable', ...input }] as const;
    const cases: [label: string, call: readonly [string, Record<string, unknown>], code: string, message: RegExp][] = [
      ['an ftp:// URL', create({ url: 'ftp://charts.example.com/stable' }), 'BAD_USER_INPUT', /^input\.url: .*https:\/\/ or oci:\/\//],
      ['a URL without a scheme', create({ url: 'charts.example.com/stable' }), 'BAD_USER_INPUT', /^input\.url: /],
      ['credentials in the URL', create({ url: `https://robot:${URL_PASSWORD}@charts.example.com` }), 'BAD_USER_INPUT', /^input\.url: .*must not contain credentials/],
      ['credentials in an oci:// URL', create({ url: `oci://robot:${URL_PASSWORD}@ghcr.io/acme` }), 'BAD_USER_INPUT', /^input\.url: .*must not contain credentials/],
      ['a space in the host', create({ url: 'https://charts example.com' }), 'BAD_USER_INPUT', /^input\.url: /],
      ['an empty URL', create({ url: '' }), 'BAD_USER_INPUT', /^input\.url: /],
      ['plain http:// to a remote host', create({ url: 'http://charts.example.com' }), 'BAD_USER_INPUT', /^input\.url: /],
      ['a query string', create({ url: 'https://charts.example.com/stable?token=abc' }), 'BAD_USER_INPUT', /^input\.url: .*query/],
      ['a name that is not a DNS label', create({ name: 'New Registry' }), 'BAD_USER_INPUT', /^input\.name: .*DNS label/],
      ['a duplicate name', create({ name: 'stable' }), 'CONFLICT', /stable.*already exists/],
      ['a non-registry credential', create({ credential: 'hetzner' }), 'BAD_USER_INPUT', /^input\.credential: .*HETZNER/],
      ['an unknown credential', create({ credential: 'no-such-credential' }), 'BAD_USER_INPUT', /^input\.credential: .*no credential named "no-such-credential"/],
      ["a credential of another namespace (own)", create({ credential: 'second-cred' }), 'BAD_USER_INPUT', /^input\.credential: .*no credential named/],
      ["a credential of someone else's namespace", create({ credential: 'theirs' }), 'BAD_USER_INPUT', /^input\.credential: .*no credential named/],
      ['update: clearCredential together with credential', update({ credential: 'spare', clearCredential: true }), 'BAD_USER_INPUT', /^input\.clearCredential: /],
      ['update: an ftp:// URL', update({ url: 'ftp://charts.example.com' }), 'BAD_USER_INPUT', /^input\.url: /],
      ['update: credentials in the URL', update({ url: `https://robot:${URL_PASSWORD}@charts.example.com` }), 'BAD_USER_INPUT', /^input\.url: /],
      ['update: a non-registry credential', update({ credential: 'hetzner' }), 'BAD_USER_INPUT', /^input\.credential: /],
      ['update: a credential of another namespace', update({ credential: 'second-cred' }), 'BAD_USER_INPUT', /^input\.credential: /],
      ['update: a registry that does not exist', update({ name: 'no-such-registry', url: 'https://charts.example.com' }), 'NOT_FOUND', /no-such-registry/],
    ];

    it.each(cases)('%s', async (_label, [mutation, input], code, message) => {
      const before = await registries();
      const res = await server.gql(mutation, { i: { namespace: NS, ...input } }, editor);
      expectError(res, code, message);
      expect(res.errors![0].message).not.toContain(URL_PASSWORD);
      expect(await registries()).toEqual(before);
    });
  });
});
