/**
 * Credentials of every type through the GraphQL API, as the seed's users work with them:
 * create, read (metadata only), list with a type filter and pages, update, delete, reveal,
 * who may do which, and bad input that must leave nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sshpk from 'sshpk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from './fakes/github.js';
import { startFakeGitLab, type FakeGitLab } from './fakes/gitlab.js';
import { startFakeHetzner, type FakeHetzner } from './fakes/hetzner.js';
import { startFakeOvh, type FakeOvh } from './fakes/ovh.js';
import { actions, seedTeam } from './helpers/fixtures.js';
import { databaseBytes, expectGqlError, findLeakedSecrets, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

const NS = 'acme';
const COMMON = 'id name resourceName type description createdAt updatedAt createdBy { username } validationStatus validationMessage lastValidatedAt namespace { name }';
const REGISTRY_FIELDS = `${COMMON} username registries { edges { node { name } } }`;
const GIT_FIELDS = `${COMMON} provider host username`;
const OVH_FIELDS = `${COMMON} projectId endpoint applicationKey`;
const SSH_FIELDS = `${COMMON} publicKey fingerprint keyType generated`;
/** Any credential, with the fields of its own type. */
const ANY_FIELDS = `${COMMON}
  ... on RegistryCredential { username registries { edges { node { name } } } }
  ... on GitCredential { provider host gitUsername: username }
  ... on OvhCredential { projectId endpoint applicationKey }
  ... on SshKeyCredential { publicKey fingerprint keyType generated }`;

const M = {
  createRegistry: `mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { ${REGISTRY_FIELDS} } }`,
  updateRegistry: `mutation($i: UpdateRegistryCredentialInput!) { updateRegistryCredential(input: $i) { ${REGISTRY_FIELDS} } }`,
  createGit: `mutation($i: CreateGitCredentialInput!) { createGitCredential(input: $i) { ${GIT_FIELDS} } }`,
  updateGit: `mutation($i: UpdateGitCredentialInput!) { updateGitCredential(input: $i) { ${GIT_FIELDS} } }`,
  createHetzner: `mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { ${COMMON} } }`,
  updateHetzner: `mutation($i: UpdateHetznerCredentialInput!) { updateHetznerCredential(input: $i) { ${COMMON} } }`,
  createOvh: `mutation($i: CreateOvhCredentialInput!) { createOvhCredential(input: $i) { ${OVH_FIELDS} } }`,
  updateOvh: `mutation($i: UpdateOvhCredentialInput!) { updateOvhCredential(input: $i) { ${OVH_FIELDS} } }`,
  createSsh: `mutation($i: CreateSshKeyCredentialInput!) { createSshKeyCredential(input: $i) { privateKey credential { ${SSH_FIELDS} } } }`,
  delete: 'mutation($i: DeleteCredentialInput!) { deleteCredential(input: $i) { deleted } }',
  validate: `mutation($i: CredentialRefInput!) { validateCredential(input: $i) { ${ANY_FIELDS} } }`,
  reveal: 'mutation($i: CredentialRefInput!) { revealCredentialSecret(input: $i) { credential { name type } fields { name value } } }',
};
const Q = {
  one: `query($ns: String!, $name: String!) { namespace(name: $ns) { credential(name: $name) { ${ANY_FIELDS} } } }`,
  page: `query($ns: String!, $type: CredentialType, $first: Int, $after: String) {
    namespace(name: $ns) { credentials(type: $type, first: $first, after: $after) {
      edges { cursor node { name type updatedAt validationStatus } } pageInfo { hasNextPage endCursor } } } }`,
};

// Secrets used below, distinctive enough to find anywhere.
const GHCR_PAT = `ghp_${'Gh1'.repeat(12)}`;
const HARBOR_SECRET = 'harbor-robot-secret-Zq8wPx3v';
const GITHUB_TOKEN = 'github_pat_11AAAAAAA0123456789abcdefGHIJKL';
const GITHUB_TOKEN_2 = 'github_pat_22BBBBBBB9876543210zyxwvuTSRQP';
const GITLAB_TOKEN = 'glpat-Xy12Ab34Cd56Ef78Gh90';
const BITBUCKET_TOKEN = 'ATBBbitbucketAppPassword0001';
const GENERIC_TOKEN = 'generic-git-deploy-token-0042';
const HETZNER_TOKEN = 'hcloud-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
const HETZNER_TOKEN_2 = 'hcloud-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
const OVH = { applicationKey: 'ovhAppKey0123', applicationSecret: 'ovh-app-secret-s3cr3t-0123456789', consumerKey: 'ovh-consumer-key-c0nsum3r-987654', projectId: 'a1b2c3d4e5f6' };

/** A Google service-account key file of a few kilobytes, with the characters that break careless code. */
function googleKeyFile(): string {
  const der = randomBytes(1218).toString('base64').replace(/(.{64})/g, '$1\n');
  return `${JSON.stringify(
    {
      type: 'service_account',
      project_id: 'scopegate-test-123456',
      private_key_id: randomBytes(20).toString('hex'),
      private_key: `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`,
      client_email: 'artifact-reader@scopegate-test-123456.iam.gserviceaccount.com',
      client_id: '109876543210987654321',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/artifact-reader%40scopegate-test-123456.iam.gserviceaccount.com',
      universe_domain: 'googleapis.com',
      note: 'tab\there, "quotes", back\\slash, unicode é ü 日本 🔑, line\u2028separator',
    },
    null,
    2,
  )}\n`;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-ssh-'));
/** A keypair made by the real ssh-keygen: [public key line, `ssh-keygen -l` fingerprint]. */
function sshKeygen(type: 'ed25519' | 'rsa' | 'ecdsa', bits?: number, comment = `${type}@laptop`): { publicKey: string; fingerprint: string; file: string } {
  const file = path.join(tmp, `${type}-${bits ?? 'default'}-${randomBytes(3).toString('hex')}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', comment, '-f', file]);
  const publicKey = fs.readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { publicKey, fingerprint, file };
}

describe('credentials', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let owner: string;
  let editor: string;
  let viewer: string;
  let stranger: string;
  let editorApi: string;
  let viewerApi: string;
  let github: FakeGitHub;
  let gitlab: FakeGitLab;
  let hetzner: FakeHetzner;
  let ovh: FakeOvh;
  const googleKey = googleKeyFile();

  beforeAll(async () => {
    github = await startFakeGitHub({ tokens: { [GITHUB_TOKEN]: 'octocat', [GITHUB_TOKEN_2]: 'octocat' } });
    gitlab = await startFakeGitLab({ tokens: { [GITLAB_TOKEN]: 'tanuki' } });
    hetzner = await startFakeHetzner({ tokens: [HETZNER_TOKEN, HETZNER_TOKEN_2] });
    ovh = await startFakeOvh(OVH);
    server = await startTestServer({
      SCOPEGATE_GITHUB_API_URL: github.url,
      SCOPEGATE_GITLAB_API_URL: gitlab.url,
      SCOPEGATE_HETZNER_API_URL: hetzner.url,
      SCOPEGATE_OVH_API_URL: ovh.url,
      SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true',
      // One editor runs well over a hundred mutations within seconds here (the bad-input table).
      SCOPEGATE_MUTATION_LIMIT: '1000',
    });
    act = actions(server);
    const team = await seedTeam(server, NS);
    [owner, editor, viewer] = [team.owner.token, team.editor.token, team.viewer.token];
    stranger = (await act.signUp('otto')).token;
    await act.createNamespace(stranger, 'elsewhere');
    editorApi = await act.createApiToken(owner, { namespace: NS, name: 'ci-editor', role: 'EDITOR' });
    viewerApi = await act.createApiToken(owner, { namespace: NS, name: 'ci-viewer', role: 'VIEWER' });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([github, gitlab, hetzner, ovh].map((f) => f?.close()));
    fs.rmSync(tmp, { recursive: true, force: true });
    if (server) expect(findLeakedSecrets(server)).toEqual([]);
  });

  const ref = (name: string, namespace = NS) => ({ i: { namespace, name } });
  const read = async (name: string, token = viewer) => (await server.ok(Q.one, { ns: NS, name }, token)).namespace.credential;
  async function reveal(name: string, token = editor): Promise<Record<string, string>> {
    const data = await server.ok(M.reveal, ref(name), token);
    return Object.fromEntries(data.revealCredentialSecret.fields.map((f: { name: string; value: string }) => [f.name, f.value]));
  }
  async function listAll(opts: { type?: string; first?: number; token?: string; ns?: string } = {}) {
    const nodes: { name: string; type: string; updatedAt: string; validationStatus: string }[] = [];
    let after: string | null = null;
    for (;;) {
      const data: any = await server.ok(Q.page, { ns: opts.ns ?? NS, type: opts.type ?? null, first: opts.first ?? 100, after }, opts.token ?? owner);
      const conn: any = data.namespace.credentials;
      nodes.push(...conn.edges.map((e: { node: (typeof nodes)[number] }) => e.node));
      if (!conn.pageInfo.hasNextPage) return nodes;
      after = conn.pageInfo.endCursor;
    }
  }
  /** What is stored, as the owner sees it: names, types, last change. */
  const snapshot = () => listAll();
  const expectError = (res: GqlResponse, code: string, message?: RegExp) => {
    expect(res.errors, JSON.stringify(res.body)).toHaveLength(1);
    expectGqlError(res, { code, ...(message ? { message } : {}) });
  };

  describe('REGISTRY', () => {
    it('stores a GitHub Container Registry PAT: viewers see the username, only editors the secret', async () => {
      const created = await server.ok(
        M.createRegistry,
        { i: { namespace: NS, name: 'ghcr-auth', description: 'ghcr.io read:packages', username: 'octocat', password: GHCR_PAT } },
        editor,
      );
      expect(created.createRegistryCredential).toMatchObject({
        name: 'ghcr-auth',
        resourceName: 'namespaces/acme/credentials/ghcr-auth',
        type: 'REGISTRY',
        description: 'ghcr.io read:packages',
        username: 'octocat',
        createdBy: { username: 'eddie' },
        namespace: { name: NS },
        validationStatus: 'UNCHECKED',
        lastValidatedAt: null,
        registries: { edges: [] },
      });
      expect(created.createRegistryCredential.id).toEqual(expect.any(String));
      expect(JSON.stringify(created)).not.toContain(GHCR_PAT);

      // A viewer reads the metadata, never the secret.
      const seen = await read('ghcr-auth', viewer);
      expect(seen).toMatchObject({ name: 'ghcr-auth', type: 'REGISTRY', username: 'octocat' });
      expect(JSON.stringify(seen)).not.toContain(GHCR_PAT);
      const byNode = await server.ok('query($id: ID!) { node(id: $id) { id ... on RegistryCredential { name username } } }', { id: seen.id }, viewer);
      expect(byNode.node).toEqual({ id: seen.id, name: 'ghcr-auth', username: 'octocat' });

      const refused = await server.gql(M.reveal, ref('ghcr-auth'), viewer);
      expectError(refused, 'FORBIDDEN', /EDITOR/);
      expect(refused.status).toBe(200);
      expect(JSON.stringify(refused.body)).not.toContain(GHCR_PAT);

      expect(await reveal('ghcr-auth', editor)).toEqual({ password: GHCR_PAT });
      expect(await reveal('ghcr-auth', owner)).toEqual({ password: GHCR_PAT });
    });

    it('round-trips a multi-kilobyte Google Artifact Registry JSON key byte for byte (_json_key)', async () => {
      expect(googleKey.length).toBeGreaterThan(2048);
      const created = await server.ok(M.createRegistry, { i: { namespace: NS, name: 'gar', username: '_json_key', password: googleKey } }, editor);
      expect(created.createRegistryCredential.username).toBe('_json_key');
      const { password } = await reveal('gar');
      expect(password.length).toBe(googleKey.length);
      expect(Buffer.from(password, 'utf8').equals(Buffer.from(googleKey, 'utf8'))).toBe(true);
      expect(JSON.parse(password)).toEqual(JSON.parse(googleKey));
    });

    it('keeps a Harbor robot account name (robot$project+name) exactly', async () => {
      await server.ok(M.createRegistry, { i: { namespace: NS, name: 'harbor-prod', username: 'robot$charts+puller', password: HARBOR_SECRET } }, editor);
      expect((await read('harbor-prod')).username).toBe('robot$charts+puller');
      expect(await reveal('harbor-prod')).toEqual({ password: HARBOR_SECRET });
    });

    it('updates description, username and password; the new secret reveals, the old one is gone', async () => {
      await server.ok(M.createRegistry, { i: { namespace: NS, name: 'dockerhub', username: 'me', password: 'dckr_pat_first-0000' } }, editor);
      const before = await read('dockerhub');
      const onlyDescription = await server.ok(M.updateRegistry, { i: { namespace: NS, name: 'dockerhub', description: 'Docker Hub, read only' } }, editor);
      expect(onlyDescription.updateRegistryCredential).toMatchObject({ description: 'Docker Hub, read only', username: 'me' });
      expect(await reveal('dockerhub')).toEqual({ password: 'dckr_pat_first-0000' });

      // The server's clock is this process's: once it has passed the last stamp, an update is stamped later.
      const lastStamp = Date.parse(onlyDescription.updateRegistryCredential.updatedAt);
      while (Date.now() <= lastStamp) await new Promise((r) => setTimeout(r, 1));
      const sentAt = Date.now();
      const updated = await server.ok(M.updateRegistry, { i: { namespace: NS, name: 'dockerhub', username: 'me2', password: 'dckr_pat_second-1111' } }, editor);
      expect(updated.updateRegistryCredential).toMatchObject({ username: 'me2', description: 'Docker Hub, read only' });
      expect(Date.parse(updated.updateRegistryCredential.updatedAt)).toBeGreaterThanOrEqual(sentAt);
      expect(updated.updateRegistryCredential.createdAt).toBe(before.createdAt);
      expect(await reveal('dockerhub')).toEqual({ password: 'dckr_pat_second-1111' });
      expect(databaseBytes(server)).not.toContain('dckr_pat_first-0000');
    });
  });

  describe('GIT', () => {
    it('GitHub: validated against the current-user API on create', async () => {
      const before = github.requests.length;
      const res = await server.ok(M.createGit, { i: { namespace: NS, name: 'gh', provider: 'GITHUB', username: 'octocat', token: GITHUB_TOKEN } }, editor);
      expect(github.requests.length).toBe(before + 1);
      expect(res.createGitCredential).toMatchObject({ provider: 'GITHUB', host: null, username: 'octocat', validationStatus: 'VALID', type: 'GIT' });
      expect(res.createGitCredential.validationMessage).toBe('GitHub accepted the token.');
      expect(res.createGitCredential.lastValidatedAt).not.toBeNull();
      expect(await reveal('gh')).toEqual({ token: GITHUB_TOKEN });
    });

    it('GitLab: validated with PRIVATE-TOKEN', async () => {
      const res = await server.ok(M.createGit, { i: { namespace: NS, name: 'gl', provider: 'GITLAB', token: GITLAB_TOKEN } }, editor);
      expect(res.createGitCredential).toMatchObject({ provider: 'GITLAB', username: null, validationStatus: 'VALID' });
      expect(res.createGitCredential.validationMessage).toBe('GitLab accepted the token.');
      expect(gitlab.requests.at(-1)!.headers['private-token']).toBe(GITLAB_TOKEN);
      expect(await reveal('gl')).toEqual({ token: GITLAB_TOKEN });
    });

    it('Bitbucket with skipValidation: stored UNCHECKED without any request', async () => {
      const res = await server.ok(
        M.createGit,
        { i: { namespace: NS, name: 'bb', provider: 'BITBUCKET', username: 'bbuser', token: BITBUCKET_TOKEN, skipValidation: true } },
        editor,
      );
      expect(res.createGitCredential).toMatchObject({ provider: 'BITBUCKET', username: 'bbuser', validationStatus: 'UNCHECKED', lastValidatedAt: null });
      expect(await reveal('bb')).toEqual({ token: BITBUCKET_TOKEN });
    });

    it('GENERIC: a self-hosted server has nothing to ask, so it stays UNCHECKED and says why', async () => {
      const res = await server.ok(
        M.createGit,
        { i: { namespace: NS, name: 'gitea', provider: 'GENERIC', host: 'git.example.com', username: 'deploy', token: GENERIC_TOKEN } },
        editor,
      );
      expect(res.createGitCredential).toMatchObject({ provider: 'GENERIC', host: 'git.example.com', username: 'deploy', validationStatus: 'UNCHECKED' });
      expect(res.createGitCredential.validationMessage).toMatch(/cannot be checked/);
      expect(await reveal('gitea')).toEqual({ token: GENERIC_TOKEN });
    });

    it('update re-runs validation when the token changes, and not for a description', async () => {
      const first = await read('gh');
      let before = github.requests.length;
      await server.ok(M.updateGit, { i: { namespace: NS, name: 'gh', description: 'org bot' } }, editor);
      expect(github.requests.length).toBe(before);

      before = github.requests.length;
      const res = await server.ok(M.updateGit, { i: { namespace: NS, name: 'gh', token: GITHUB_TOKEN_2 } }, editor);
      expect(github.requests.length).toBe(before + 1);
      expect(github.requests.at(-1)!.headers.authorization).toBe(`Bearer ${GITHUB_TOKEN_2}`);
      expect(res.updateGitCredential).toMatchObject({ description: 'org bot', validationStatus: 'VALID' });
      expect(Date.parse(res.updateGitCredential.lastValidatedAt)).toBeGreaterThanOrEqual(Date.parse(first.lastValidatedAt));
      expect(await reveal('gh')).toEqual({ token: GITHUB_TOKEN_2 });

      // A token the provider refuses is not stored: the previous one stays.
      const refused = await server.gql(M.updateGit, { i: { namespace: NS, name: 'gh', token: 'github_pat_revoked_000000000000' } }, editor);
      expectError(refused, 'VALIDATION_FAILED');
      expect(refused.errors![0].extensions!.httpStatus).toBe(401);
      expect(await reveal('gh')).toEqual({ token: GITHUB_TOKEN_2 });
    });
  });

  describe('HETZNER and OVH', () => {
    it('HETZNER: validated on create, token re-validated on update', async () => {
      const res = await server.ok(M.createHetzner, { i: { namespace: NS, name: 'hetzner-prod', apiToken: HETZNER_TOKEN } }, editor);
      expect(res.createHetznerCredential).toMatchObject({ type: 'HETZNER', validationStatus: 'VALID' });
      expect(hetzner.requests.at(-1)!.headers.authorization).toBe(`Bearer ${HETZNER_TOKEN}`);
      expect(await reveal('hetzner-prod')).toEqual({ apiToken: HETZNER_TOKEN });

      const before = hetzner.requests.length;
      const upd = await server.ok(M.updateHetzner, { i: { namespace: NS, name: 'hetzner-prod', apiToken: HETZNER_TOKEN_2 } }, editor);
      expect(hetzner.requests.length).toBe(before + 1);
      expect(upd.updateHetznerCredential.validationStatus).toBe('VALID');
      expect(await reveal('hetzner-prod')).toEqual({ apiToken: HETZNER_TOKEN_2 });
    });

    it('OVH: public fields readable, application secret and consumer key only revealed', async () => {
      const res = await server.ok(M.createOvh, { i: { namespace: NS, name: 'ovh-gra', ...OVH } }, editor);
      expect(res.createOvhCredential).toMatchObject({
        type: 'OVH',
        projectId: OVH.projectId,
        endpoint: 'OVH_EU',
        applicationKey: OVH.applicationKey,
        validationStatus: 'VALID',
      });
      const seen = await read('ovh-gra', viewer);
      expect(JSON.stringify(seen)).not.toContain(OVH.applicationSecret);
      expect(JSON.stringify(seen)).not.toContain(OVH.consumerKey);
      expect(await reveal('ovh-gra')).toEqual({ applicationSecret: OVH.applicationSecret, consumerKey: OVH.consumerKey });
    });
  });

  describe('SSH_KEY', () => {
    it.each([
      ['ed25519', undefined, 'ssh-ed25519'],
      ['rsa', 2048, 'ssh-rsa'], // the smallest RSA size accepted
      ['ecdsa', 256, 'ecdsa-sha2-nistp256'],
    ] as const)('brings your own %s key: stored as given, fingerprinted like ssh-keygen -l', async (type, bits, keyType) => {
      const key = sshKeygen(type, bits, `${type} key of alice@laptop`);
      const name = `byo-${type}`;
      const res = await server.ok(M.createSsh, { i: { namespace: NS, name, publicKey: `  ${key.publicKey}\n` } }, editor);
      expect(res.createSshKeyCredential.privateKey).toBeNull();
      expect(res.createSshKeyCredential.credential).toMatchObject({
        type: 'SSH_KEY',
        publicKey: key.publicKey,
        fingerprint: key.fingerprint,
        keyType,
        generated: false,
        validationStatus: 'UNCHECKED',
      });
      // Nothing secret is kept for a public key.
      expect(await reveal(name)).toEqual({});
    });

    it('generates an Ed25519 pair: the private key works with ssh-keygen, is returned once and never stored', async () => {
      const res = await server.ok(M.createSsh, { i: { namespace: NS, name: 'deploy-key', description: 'generated', generate: true } }, editor);
      const { privateKey, credential } = res.createSshKeyCredential;
      expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n?$/);
      expect(credential).toMatchObject({ keyType: 'ssh-ed25519', generated: true, description: 'generated' });

      const keyFile = path.join(tmp, 'generated');
      fs.writeFileSync(keyFile, privateKey, { mode: 0o600 });
      const derived = execFileSync('ssh-keygen', ['-y', '-f', keyFile], { encoding: 'utf8' }).trim().split(' ');
      expect(derived.slice(0, 2).join(' ')).toBe(credential.publicKey.split(' ').slice(0, 2).join(' '));
      fs.writeFileSync(`${keyFile}.pub`, `${credential.publicKey}\n`);
      const listed = execFileSync('ssh-keygen', ['-l', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ');
      expect(listed[1]).toBe(credential.fingerprint);

      // Never stored, never readable again.
      expect(await reveal('deploy-key')).toEqual({});
      expect(JSON.stringify(await read('deploy-key', owner))).not.toContain('PRIVATE KEY');
      const seed = (sshpk.parsePrivateKey(privateKey, 'openssh').part as unknown as Record<string, sshpk.KeyPart>).k.data;
      expect(seed.length).toBe(32);
      // Every full line of the key but the first (the same "openssh-key-v1" header for every key).
      const body = privateKey.split('\n').filter((l: string) => l.length >= 40 && !l.startsWith('-----'));
      const distinctive = [seed.toString('base64'), seed.toString('hex'), ...body.slice(1)];
      expect(distinctive.length).toBeGreaterThanOrEqual(4);
      const raw = databaseBytes(server);
      const logs = server.logs.join('\n');
      for (const chunk of distinctive) {
        expect(raw.includes(chunk), `private key material ${chunk.slice(0, 12)}… in the database`).toBe(false);
        expect(logs.includes(chunk), `private key material ${chunk.slice(0, 12)}… in the logs`).toBe(false);
      }
      // The search itself works: the public half is in the database.
      expect(raw).toContain(credential.publicKey.split(' ')[1]);
    });
  });

  describe('listing', () => {
    it('filters by type and pages in name order', async () => {
      const all = await listAll();
      const names = all.map((n) => n.name);
      expect(names).toEqual([...names].sort());
      expect(new Set(all.map((n) => n.type))).toEqual(new Set(['REGISTRY', 'GIT', 'HETZNER', 'OVH', 'SSH_KEY']));

      const git = await listAll({ type: 'GIT', first: 2, token: viewer });
      expect(git.map((n) => n.name)).toEqual(all.filter((n) => n.type === 'GIT').map((n) => n.name));
      expect(git.length).toBeGreaterThan(2);
      expect(git.every((n) => n.type === 'GIT')).toBe(true);

      const firstPage = (await server.ok(Q.page, { ns: NS, type: 'REGISTRY', first: 2 }, viewer)).namespace.credentials;
      expect(firstPage.edges).toHaveLength(2);
      expect(firstPage.pageInfo.hasNextPage).toBe(true);
      const next = (await server.ok(Q.page, { ns: NS, type: 'REGISTRY', first: 2, after: firstPage.pageInfo.endCursor }, viewer)).namespace.credentials;
      const registryNames = all.filter((n) => n.type === 'REGISTRY').map((n) => n.name);
      expect([...firstPage.edges, ...next.edges].map((e: { node: { name: string } }) => e.node.name)).toEqual(registryNames.slice(0, 2 + next.edges.length));
      expect(next.edges[0].node.name > firstPage.edges[1].node.name).toBe(true);

      const ssh = await listAll({ type: 'SSH_KEY' });
      expect(ssh.map((n) => n.name)).toEqual(['byo-ecdsa', 'byo-ed25519', 'byo-rsa', 'deploy-key']);
    });
  });

  describe('delete', () => {
    it('deletes a credential: it is gone, and a second delete is NOT_FOUND', async () => {
      await server.ok(M.createHetzner, { i: { namespace: NS, name: 'short-lived', apiToken: 'hcloud-throwaway-0001', skipValidation: true } }, editor);
      const id = (await read('short-lived')).id;
      const res = await server.ok(M.delete, { i: { namespace: NS, name: 'short-lived' } }, editor);
      expect(res.deleteCredential.deleted).toBe('namespaces/acme/credentials/short-lived');
      expect(await read('short-lived')).toBeNull();
      expect((await server.ok('query($id: ID!) { node(id: $id) { id } }', { id }, owner)).node).toBeNull();
      expectError(await server.gql(M.reveal, ref('short-lived'), editor), 'NOT_FOUND');
      expectError(await server.gql(M.delete, { i: { namespace: NS, name: 'short-lived' } }, editor), 'NOT_FOUND', /short-lived/);
      expect((await listAll()).map((n) => n.name)).not.toContain('short-lived');
    });

    it('a viewer may not delete', async () => {
      const before = await snapshot();
      expectError(await server.gql(M.delete, { i: { namespace: NS, name: 'gl' } }, viewer), 'FORBIDDEN', /EDITOR/);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('who may do what', () => {
    it('reveals are audited with the field names, never their values', async () => {
      await reveal('harbor-prod', owner);
      const data = await server.ok(
        '{ namespace(name: "acme") { auditEvents(first: 5, filter: { action: "credential.reveal", target: "namespaces/acme/credentials/harbor-prod" }) { edges { node { outcome actor { name } details } } } } }',
        {},
        owner,
      );
      const events = data.namespace.auditEvents.edges.map((e: { node: { outcome: string; actor: { name: string }; details: string } }) => e.node);
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(events[0]).toMatchObject({ outcome: 'SUCCESS', actor: { name: 'user:olivia' } });
      expect(JSON.parse(events[0].details).fields).toEqual(['password']);
      expect(JSON.stringify(events)).not.toContain(HARBOR_SECRET);
    });

    it('the owner of another namespace sees nothing and can change nothing', async () => {
      const before = await snapshot();
      const id = (await read('ghcr-auth')).id;
      expect((await server.ok('{ namespace(name: "acme") { name } }', {}, stranger)).namespace).toBeNull();
      expect((await server.ok('query($id: ID!) { node(id: $id) { id } }', { id }, stranger)).node).toBeNull();
      const attempts: [string, Record<string, unknown>][] = [
        [M.createRegistry, { i: { namespace: NS, name: 'intruder', username: 'x', password: 'intruder-password' } }],
        [M.updateRegistry, { i: { namespace: NS, name: 'ghcr-auth', password: 'intruder-password' } }],
        [M.createSsh, { i: { namespace: NS, name: 'intruder', generate: true } }],
        [M.delete, { i: { namespace: NS, name: 'ghcr-auth', force: true } }],
        [M.validate, ref('gh')],
        [M.reveal, ref('ghcr-auth')],
      ];
      for (const [mutation, variables] of attempts) {
        const res = await server.gql(mutation, variables, stranger);
        expectError(res, 'NOT_FOUND', /namespace "acme"/);
        expect(res.data).toBeNull();
      }
      expect(await snapshot()).toEqual(before);
      expect(await reveal('ghcr-auth')).toEqual({ password: GHCR_PAT });
      // Their own namespace works for them, and shows nothing of acme's.
      expect((await listAll({ ns: 'elsewhere', token: stranger })).length).toBe(0);
    });

    it('a user VIEWER cannot create or update (FORBIDDEN naming EDITOR)', async () => {
      const before = await snapshot();
      expectError(
        await server.gql(M.createRegistry, { i: { namespace: NS, name: 'viewer-made', username: 'v', password: 'viewer-password' } }, viewer),
        'FORBIDDEN',
        /EDITOR/,
      );
      expectError(await server.gql(M.updateHetzner, { i: { namespace: NS, name: 'hetzner-prod', description: 'mine' } }, viewer), 'FORBIDDEN', /EDITOR/);
      expect(await snapshot()).toEqual(before);
    });

    it('an EDITOR API token creates and reveals; a VIEWER API token reads metadata only', async () => {
      const created = await server.ok(M.createRegistry, { i: { namespace: NS, name: 'from-ci', username: 'ci', password: 'ci-made-password-77' } }, editorApi);
      expect(created.createRegistryCredential).toMatchObject({ name: 'from-ci', createdBy: null });
      expect(await reveal('from-ci', editorApi)).toEqual({ password: 'ci-made-password-77' });

      expect((await read('from-ci', viewerApi)).username).toBe('ci');
      const before = await snapshot();
      expectError(
        await server.gql(M.createRegistry, { i: { namespace: NS, name: 'from-ci-2', username: 'ci', password: 'ci-made-password-78' } }, viewerApi),
        'FORBIDDEN',
        /EDITOR/,
      );
      const refused = await server.gql(M.reveal, ref('from-ci'), viewerApi);
      expectError(refused, 'FORBIDDEN', /EDITOR/);
      expect(JSON.stringify(refused.body)).not.toContain('ci-made-password-77');
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('bad input stores nothing', () => {
    const rsa1024 = () => {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      return sshpk.parseKey(publicKey.export({ type: 'spki', format: 'pem' }), 'pem').toString('ssh');
    };
    const privateOpenSsh = () => fs.readFileSync(sshKeygen('ed25519').file, 'utf8');
    const ONE_MB = 'p'.repeat(1024 * 1024);

    const cases: [label: string, mutation: string, input: () => Record<string, unknown>, code: string, message: RegExp][] = [
      ['an SSH key that does not parse', M.createSsh, () => ({ name: 'bad-ssh', publicKey: 'ssh-ed25519 AAAAnot-base64!!! me@host' }), 'BAD_USER_INPUT', /^input\.publicKey: Not a valid OpenSSH public key/],
      ['a private key pasted as publicKey', M.createSsh, () => ({ name: 'bad-ssh', publicKey: privateOpenSsh() }), 'BAD_USER_INPUT', /^input\.publicKey: .*private key/],
      ['an RSA key of 1024 bits', M.createSsh, () => ({ name: 'bad-ssh', publicKey: rsa1024() }), 'BAD_USER_INPUT', /^input\.publicKey: .*1024 bits.*2048/],
      ['both publicKey and generate', M.createSsh, () => ({ name: 'bad-ssh', publicKey: sshKeygen('ed25519').publicKey, generate: true }), 'BAD_USER_INPUT', /^input\.generate: .*not both/],
      ['neither publicKey nor generate', M.createSsh, () => ({ name: 'bad-ssh' }), 'BAD_USER_INPUT', /^input\.publicKey: /],
      ['a 1 MB password', M.createRegistry, () => ({ name: 'huge', username: 'u', password: ONE_MB }), 'BAD_USER_INPUT', /^input\.password: must be at most/],
      ['an empty username', M.createRegistry, () => ({ name: 'empty-user', username: '', password: 'pw-0000' }), 'BAD_USER_INPUT', /^input\.username: must not be empty/],
      ['an empty password', M.createRegistry, () => ({ name: 'empty-pw', username: 'u', password: '' }), 'BAD_USER_INPUT', /^input\.password: must not be empty/],
      ['an empty Hetzner apiToken', M.createHetzner, () => ({ name: 'empty-token', apiToken: '' }), 'BAD_USER_INPUT', /^input\.apiToken: must not be empty/],
      ['an empty Git token', M.createGit, () => ({ name: 'empty-token', provider: 'GENERIC', token: '' }), 'BAD_USER_INPUT', /^input\.token: must not be empty/],
      ['a name that is not a DNS label', M.createRegistry, () => ({ name: 'Not_A_Label', username: 'u', password: 'pw-0000' }), 'BAD_USER_INPUT', /^input\.name: .*DNS label/],
      ['a name of 64 characters', M.createHetzner, () => ({ name: 'a'.repeat(64), apiToken: 'tok-0000', skipValidation: true }), 'BAD_USER_INPUT', /^input\.name: /],
      ['a duplicate name', M.createRegistry, () => ({ name: 'ghcr-auth', username: 'u', password: 'pw-duplicate' }), 'CONFLICT', /ghcr-auth.*already exists/],
      ['a duplicate name across types', M.createSsh, () => ({ name: 'hetzner-prod', generate: true }), 'CONFLICT', /hetzner-prod.*already exists/],
      ['updateGitCredential on a HETZNER credential', M.updateGit, () => ({ name: 'hetzner-prod', token: 'git-token-0000' }), 'BAD_USER_INPUT', /HETZNER/],
      ['updateHetznerCredential on a REGISTRY credential', M.updateHetzner, () => ({ name: 'ghcr-auth', apiToken: 'tok-0000' }), 'BAD_USER_INPUT', /REGISTRY/],
      ['updating a credential that does not exist', M.updateRegistry, () => ({ name: 'no-such', password: 'pw-0000' }), 'NOT_FOUND', /no-such/],
      ['an OVH project id with a slash', M.createOvh, () => ({ name: 'ovh-bad', ...OVH, projectId: '../me', skipValidation: true }), 'BAD_USER_INPUT', /^input\.projectId: /],
    ];

    it.each(cases)('%s', async (_label, mutation, input, code, message) => {
      const before = await snapshot();
      const secretsBefore = { ghcr: await reveal('ghcr-auth'), hetzner: await reveal('hetzner-prod') };
      const variables = { i: { namespace: NS, ...input() } };
      const res = await server.gql(mutation, variables, editor);
      expectError(res, code, message);
      expect(res.status).toBe(200);
      // The message never quotes what was sent as a secret or key.
      const msg = res.errors![0].message;
      for (const [field, value] of Object.entries(variables.i)) {
        if (typeof value === 'string' && value.length >= 8 && field !== 'name' && field !== 'namespace') expect(msg).not.toContain(value);
      }
      expect(await snapshot()).toEqual(before);
      expect({ ghcr: await reveal('ghcr-auth'), hetzner: await reveal('hetzner-prod') }).toEqual(secretsBefore);
    });
  });
});
