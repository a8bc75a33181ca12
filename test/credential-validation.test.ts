/**
 * Validation against the providers, through the GraphQL API, with local fakes that speak
 * the real protocols: the provider's "no" is VALIDATION_FAILED with its HTTP status and
 * nothing stored; silence (timeout, refused connection) is PROVIDER_UNREACHABLE;
 * validateCredential records what it found; no message ever carries a secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from './fakes/github.js';
import { startFakeGitLab, type FakeGitLab } from './fakes/gitlab.js';
import { startFakeHelmRepo, type FakeHelmRepo } from './fakes/helm-repo.js';
import { startFakeHetzner, type FakeHetzner } from './fakes/hetzner.js';
import { startFakeOciRegistry, type FakeOciRegistry } from './fakes/oci-registry.js';
import { startFakeOvh, type FakeOvh } from './fakes/ovh.js';
import { refusedPort } from './fakes/server.js';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, findLeakedSecrets, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

const NS = 'acme';
const TIMEOUT_MS = 500;
const FIELDS = 'name type validationStatus validationMessage lastValidatedAt updatedAt';
const M = {
  hetzner: `mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { ${FIELDS} } }`,
  updateHetzner: `mutation($i: UpdateHetznerCredentialInput!) { updateHetznerCredential(input: $i) { ${FIELDS} } }`,
  ovh: `mutation($i: CreateOvhCredentialInput!) { createOvhCredential(input: $i) { ${FIELDS} projectId } }`,
  git: `mutation($i: CreateGitCredentialInput!) { createGitCredential(input: $i) { ${FIELDS} } }`,
  registryCredential: `mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { ${FIELDS} } }`,
  registry: 'mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { name kind } }',
  validate: `mutation($i: CredentialRefInput!) { validateCredential(input: $i) { ${FIELDS} } }`,
};
const Q = {
  one: `query($ns: String!, $name: String!) { namespace(name: $ns) { credential(name: $name) { ${FIELDS} } } }`,
  names: 'query($ns: String!) { namespace(name: $ns) { credentials(first: 100) { edges { node { name } } } } }',
};

const HETZNER_OK = 'hcloud-valid-token-1111111111111111111111111111111111111111111111111';
const HETZNER_READONLY = 'hcloud-readonly-token-22222222222222222222222222222222222222222222';
const HETZNER_WRONG = 'hcloud-wrong-token-333333333333333333333333333333333333333333333333';
const OVH = { applicationKey: 'ovhAppKeyValid1', applicationSecret: 'ovh-application-secret-AbCdEf123456', consumerKey: 'ovh-consumer-key-ZyXwVu987654', projectId: 'f00dbabe1234' };
const OVH_WRONG_SECRET = 'ovh-application-secret-WRONG-000000';
const GITHUB_OK = 'ghp_validGitHubToken000000000000000000';
const GITHUB_WRONG = 'ghp_wrongGitHubToken11111111111111111111';
const GITLAB_OK = 'glpat-validGitLabToken0000000';
const GITLAB_EXPIRED = 'glpat-expiredGitLabToken111111';
const REGISTRY_PASSWORD = 'oci-robot-password-5555555555';
const REGISTRY_OUTSIDER_PASSWORD = 'oci-outsider-password-8888888888';
const HELM_PASSWORD = 'helm-user-password-6666666666';

/** Every secret this suite sends: none may appear in an error, the database or the logs. */
const SECRETS = [HETZNER_OK, HETZNER_READONLY, HETZNER_WRONG, OVH.applicationSecret, OVH.consumerKey, OVH_WRONG_SECRET, GITHUB_OK, GITHUB_WRONG, GITLAB_OK, GITLAB_EXPIRED, REGISTRY_PASSWORD, REGISTRY_OUTSIDER_PASSWORD, HELM_PASSWORD, 'registry-password-wrong-777'];

describe('validation against the providers', () => {
  let server: TestServer;
  let editor: string;
  let hetzner: FakeHetzner;
  let ovh: FakeOvh;
  let github: FakeGitHub;
  let gitlab: FakeGitLab;
  let oci: FakeOciRegistry;
  let helm: FakeHelmRepo;
  const errors: GqlResponse[] = [];

  beforeAll(async () => {
    hetzner = await startFakeHetzner({ tokens: [HETZNER_OK], forbiddenTokens: [HETZNER_READONLY] });
    // The fake's clock runs an hour ahead: the check must take its time from /auth/time.
    ovh = await startFakeOvh({ ...OVH, clockOffsetSeconds: 3600 });
    github = await startFakeGitHub({ tokens: { [GITHUB_OK]: 'octocat' } });
    gitlab = await startFakeGitLab({ tokens: { [GITLAB_OK]: 'tanuki' }, expiredTokens: [GITLAB_EXPIRED] });
    // outsider logs in fine but may pull no repository (the fake serves `charts`).
    oci = await startFakeOciRegistry({ users: { robot: REGISTRY_PASSWORD, outsider: REGISTRY_OUTSIDER_PASSWORD }, pullRights: { outsider: [] } });
    helm = await startFakeHelmRepo({ users: { reader: HELM_PASSWORD } });
    server = await startTestServer({
      SCOPEGATE_HETZNER_API_URL: hetzner.url,
      SCOPEGATE_OVH_API_URL: ovh.url,
      SCOPEGATE_GITHUB_API_URL: github.url,
      SCOPEGATE_GITLAB_API_URL: gitlab.url,
      SCOPEGATE_PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
      SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true',
    });
    const act = actions(server);
    await act.createUser('eddie');
    editor = await act.login('eddie');
    await act.createNamespace(editor, NS);
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([hetzner, ovh, github, gitlab, oci, helm].map((f) => f?.close()));
    if (server) expect(findLeakedSecrets(server, SECRETS)).toEqual([]);
  });

  const names = async () => (await server.ok(Q.names, { ns: NS }, editor)).namespace.credentials.edges.map((e: { node: { name: string } }) => e.node.name);
  const read = async (name: string) => (await server.ok(Q.one, { ns: NS, name }, editor)).namespace.credential;
  /** A call that must fail with `code`; the error is kept for the no-secret check at the end. */
  async function refused(mutation: string, input: Record<string, unknown>, code: string, message?: RegExp) {
    const res = await server.gql(mutation, { i: { namespace: NS, ...input } }, editor);
    errors.push(res);
    expect(res.errors, JSON.stringify(res.body)).toHaveLength(1);
    expect(res.status).toBe(200);
    return expectGqlError(res, { code, ...(message ? { message } : {}) });
  }
  /** A create that the provider turns down: the error, and nothing stored. */
  async function refusedCreate(mutation: string, input: Record<string, unknown>, code: string, message?: RegExp) {
    const before = await names();
    const error = await refused(mutation, input, code, message);
    expect(await names()).toEqual(before);
    expect(await read(String(input.name))).toBeNull();
    return error;
  }

  describe('Hetzner', () => {
    it('accepts a valid token: VALID, with the time it was checked', async () => {
      const started = Date.now();
      const res = await server.ok(M.hetzner, { i: { namespace: NS, name: 'hetzner-ok', apiToken: HETZNER_OK } }, editor);
      expect(res.createHetznerCredential).toMatchObject({ validationStatus: 'VALID', validationMessage: expect.stringMatching(/accepted the token/) });
      expect(Date.parse(res.createHetznerCredential.lastValidatedAt)).toBeGreaterThanOrEqual(started - 1000);
      expect(hetzner.requests.at(-1)!.headers.authorization).toBe(`Bearer ${HETZNER_OK}`);
    });

    it('401: VALIDATION_FAILED with the provider status, nothing stored', async () => {
      const error = await refusedCreate(M.hetzner, { name: 'hetzner-401', apiToken: HETZNER_WRONG }, 'VALIDATION_FAILED', /HTTP 401/);
      expect(error.extensions!.httpStatus).toBe(401);
    });

    it('403: VALIDATION_FAILED saying the token lacks permission', async () => {
      const error = await refusedCreate(M.hetzner, { name: 'hetzner-403', apiToken: HETZNER_READONLY }, 'VALIDATION_FAILED', /HTTP 403.*permission/);
      expect(error.extensions!.httpStatus).toBe(403);
    });

    it('a provider that does not answer within the timeout: PROVIDER_UNREACHABLE, nothing stored', async () => {
      hetzner.silent = true;
      try {
        const error = await refusedCreate(M.hetzner, { name: 'hetzner-slow', apiToken: HETZNER_OK }, 'PROVIDER_UNREACHABLE', new RegExp(`did not answer within ${TIMEOUT_MS} ms`));
        expect(error.extensions!.httpStatus).toBeUndefined();
      } finally {
        hetzner.silent = false;
      }
    });

    it('skipValidation stores it UNCHECKED without asking; validateCredential then records INVALID and errors', async () => {
      const before = hetzner.requests.length;
      const res = await server.ok(M.hetzner, { i: { namespace: NS, name: 'hetzner-offline', apiToken: HETZNER_WRONG, skipValidation: true } }, editor);
      expect(res.createHetznerCredential).toMatchObject({ validationStatus: 'UNCHECKED', validationMessage: null, lastValidatedAt: null });
      expect(hetzner.requests.length).toBe(before);

      const error = await refused(M.validate, { name: 'hetzner-offline' }, 'VALIDATION_FAILED', /HTTP 401/);
      expect(error.extensions!.httpStatus).toBe(401);
      const after = await read('hetzner-offline');
      expect(after).toMatchObject({ validationStatus: 'INVALID', validationMessage: expect.stringMatching(/rejected the credentials \(HTTP 401\)/) });
      expect(after.lastValidatedAt).not.toBeNull();
    });

    it('validateCredential: VALID, then INVALID once the provider revokes the token, then UNREACHABLE', async () => {
      await server.ok(M.hetzner, { i: { namespace: NS, name: 'hetzner-revoked', apiToken: HETZNER_OK } }, editor);
      const first = (await server.ok(M.validate, { i: { namespace: NS, name: 'hetzner-revoked' } }, editor)).validateCredential;
      expect(first.validationStatus).toBe('VALID');

      hetzner.tokens.delete(HETZNER_OK);
      try {
        const error = await refused(M.validate, { name: 'hetzner-revoked' }, 'VALIDATION_FAILED');
        expect(error.extensions!.httpStatus).toBe(401);
        const invalid = await read('hetzner-revoked');
        expect(invalid.validationStatus).toBe('INVALID');
        expect(Date.parse(invalid.lastValidatedAt)).toBeGreaterThanOrEqual(Date.parse(first.lastValidatedAt));

        hetzner.silent = true;
        await refused(M.validate, { name: 'hetzner-revoked' }, 'PROVIDER_UNREACHABLE', /did not answer/);
        expect((await read('hetzner-revoked')).validationStatus).toBe('UNREACHABLE');
      } finally {
        hetzner.silent = false;
        hetzner.tokens.add(HETZNER_OK);
      }
      expect((await server.ok(M.validate, { i: { namespace: NS, name: 'hetzner-revoked' } }, editor)).validateCredential.validationStatus).toBe('VALID');
    });

    it('an update whose new token is refused keeps the old one and its status', async () => {
      const before = await read('hetzner-ok');
      await refused(M.updateHetzner, { name: 'hetzner-ok', apiToken: HETZNER_WRONG }, 'VALIDATION_FAILED', /HTTP 401/);
      expect(await read('hetzner-ok')).toEqual(before);
    });
  });

  describe('OVH', () => {
    it('accepts correctly signed keys for a reachable project (server time from /auth/time)', async () => {
      const res = await server.ok(M.ovh, { i: { namespace: NS, name: 'ovh-ok', ...OVH } }, editor);
      expect(res.createOvhCredential).toMatchObject({ validationStatus: 'VALID', projectId: OVH.projectId });
      expect(res.createOvhCredential.validationMessage).toMatch(OVH.projectId);
      const signed = ovh.requests.filter((r) => r.headers['x-ovh-signature']);
      expect(signed.map((r) => r.path)).toEqual(expect.arrayContaining(['/1.0/auth/currentCredential', `/1.0/cloud/project/${OVH.projectId}`]));
      expect(signed.at(-1)!.headers['x-ovh-signature']).toMatch(/^\$1\$[0-9a-f]{40}$/);
    });

    it('a wrong application secret: VALIDATION_FAILED (signature refused), nothing stored', async () => {
      const error = await refusedCreate(
        M.ovh,
        { name: 'ovh-bad-secret', ...OVH, applicationSecret: OVH_WRONG_SECRET },
        'VALIDATION_FAILED',
        /application secret/,
      );
      expect(error.extensions!.httpStatus).toBe(400);
    });

    it('an unknown consumer key: VALIDATION_FAILED', async () => {
      const error = await refusedCreate(M.ovh, { name: 'ovh-bad-consumer', ...OVH, consumerKey: 'ovh-consumer-unknown-0000' }, 'VALIDATION_FAILED', /consumer key/);
      expect(error.extensions!.httpStatus).toBe(403);
    });

    it('a project the keys cannot reach: VALIDATION_FAILED naming the project', async () => {
      const error = await refusedCreate(M.ovh, { name: 'ovh-no-project', ...OVH, projectId: 'deadbeef0000' }, 'VALIDATION_FAILED', /deadbeef0000.*not reachable/);
      expect(error.extensions!.httpStatus).toBe(404);
      ovh.cloudGranted = false;
      try {
        const denied = await refusedCreate(M.ovh, { name: 'ovh-not-granted', ...OVH }, 'VALIDATION_FAILED', /not reachable/);
        expect(denied.extensions!.httpStatus).toBe(403);
      } finally {
        ovh.cloudGranted = true;
      }
    });
  });

  describe('GitHub and GitLab', () => {
    // The answers are the provider's text: neither the account name nor an error text is repeated.
    it('GitHub: VALID; a bad token is 401 and not stored', async () => {
      const res = await server.ok(M.git, { i: { namespace: NS, name: 'github-ok', provider: 'GITHUB', token: GITHUB_OK } }, editor);
      expect(res.createGitCredential).toMatchObject({ validationStatus: 'VALID', validationMessage: 'GitHub accepted the token.' });
      expect(github.requests.at(-1)!.headers['user-agent']).toBeTruthy();
      const error = await refusedCreate(M.git, { name: 'github-bad', provider: 'GITHUB', token: GITHUB_WRONG }, 'VALIDATION_FAILED', /GitHub.*HTTP 401.*revoked or expired/);
      expect(error.message).not.toMatch(/Bad credentials/);
      expect(error.extensions!.httpStatus).toBe(401);
    });

    it('GitLab: VALID; an expired token is 401 with our hint', async () => {
      const res = await server.ok(M.git, { i: { namespace: NS, name: 'gitlab-ok', provider: 'GITLAB', token: GITLAB_OK } }, editor);
      expect(res.createGitCredential).toMatchObject({ validationStatus: 'VALID', validationMessage: 'GitLab accepted the token.' });
      const error = await refusedCreate(M.git, { name: 'gitlab-expired', provider: 'GITLAB', token: GITLAB_EXPIRED }, 'VALIDATION_FAILED', /GitLab.*HTTP 401.*revoked or expired/);
      expect(error.message).not.toMatch(/Token is expired/);
      expect(error.extensions!.httpStatus).toBe(401);
    });
  });

  describe('registry credentials, through the registries that use them', () => {
    it('with no registry yet there is nothing to ask: UNCHECKED, no error', async () => {
      await server.ok(M.registryCredential, { i: { namespace: NS, name: 'oci-robot', username: 'robot', password: REGISTRY_PASSWORD } }, editor);
      const res = await server.ok(M.validate, { i: { namespace: NS, name: 'oci-robot' } }, editor);
      expect(res.validateCredential).toMatchObject({ validationStatus: 'UNCHECKED', validationMessage: expect.stringMatching(/no registry/) });
    });

    it('an OCI registry with the bearer-token challenge', async () => {
      await server.ok(M.registry, { i: { namespace: NS, name: 'oci', url: oci.url, credential: 'oci-robot' } }, editor);
      const tokensBefore = oci.issuedTokens.size;
      const res = await server.ok(M.validate, { i: { namespace: NS, name: 'oci-robot' } }, editor);
      expect(res.validateCredential).toMatchObject({ validationStatus: 'VALID', validationMessage: expect.stringMatching(/oci/) });
      expect(oci.issuedTokens.size).toBe(tokensBefore + 1);
      const paths = oci.requests.map((r) => r.path.split('?')[0]);
      expect(paths.slice(-4)).toEqual(['/v2/', '/token', '/v2/', '/v2/charts/tags/list']);
      expect(oci.requests.at(-1)!.headers.authorization).toMatch(/^Bearer /);

      // The robot's password is changed at the registry: INVALID, recorded, and an error.
      oci.users.set('robot', 'rotated-elsewhere-0000');
      try {
        const error = await refused(M.validate, { name: 'oci-robot' }, 'VALIDATION_FAILED', /registry "oci"/);
        expect(error.extensions!.httpStatus).toBe(401);
        expect((await read('oci-robot')).validationStatus).toBe('INVALID');
      } finally {
        oci.users.set('robot', REGISTRY_PASSWORD);
      }
    });

    it('a login the OCI registry accepts but that may not pull its repository: INVALID, saying so', async () => {
      await server.ok(M.registryCredential, { i: { namespace: NS, name: 'oci-outsider', username: 'outsider', password: REGISTRY_OUTSIDER_PASSWORD } }, editor);
      await server.ok(M.registry, { i: { namespace: NS, name: 'oci-elsewhere', url: oci.url, credential: 'oci-outsider' } }, editor);
      const error = await refused(M.validate, { name: 'oci-outsider' }, 'VALIDATION_FAILED', /registry "oci-elsewhere": .*no pull access to charts \(HTTP 401\)/);
      expect(error.message).not.toMatch(/rejected the credentials/);
      expect(error.extensions!.httpStatus).toBe(401);
      expect(await read('oci-outsider')).toMatchObject({ validationStatus: 'INVALID', validationMessage: expect.stringMatching(/no pull access to charts/) });
    });

    it('an HTTP Helm repository serving index.yaml behind basic auth', async () => {
      await server.ok(M.registryCredential, { i: { namespace: NS, name: 'helm-reader', username: 'reader', password: HELM_PASSWORD } }, editor);
      await server.ok(M.registry, { i: { namespace: NS, name: 'helm', url: helm.url, credential: 'helm-reader' } }, editor);
      const res = await server.ok(M.validate, { i: { namespace: NS, name: 'helm-reader' } }, editor);
      expect(res.validateCredential).toMatchObject({ validationStatus: 'VALID' });
      expect(helm.requests.at(-1)!.path).toBe('/charts/index.yaml');

      // A password update is checked through the repository before it is stored.
      const error = await refused(
        'mutation($i: UpdateRegistryCredentialInput!) { updateRegistryCredential(input: $i) { name } }',
        { name: 'helm-reader', password: 'registry-password-wrong-777' },
        'VALIDATION_FAILED',
        /registry "helm"/,
      );
      expect(error.extensions!.httpStatus).toBe(401);
      expect((await read('helm-reader')).validationStatus).toBe('VALID');
    });
  });

  it('no error message carries a secret', () => {
    expect(errors.length).toBeGreaterThanOrEqual(15);
    const text = JSON.stringify(errors.map((e) => e.body));
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});

describe('validation when nothing listens', () => {
  let server: TestServer;
  let editor: string;

  beforeAll(async () => {
    const port = await refusedPort();
    const nowhere = `http://127.0.0.1:${port}`;
    server = await startTestServer({
      SCOPEGATE_HETZNER_API_URL: `${nowhere}/v1`,
      SCOPEGATE_OVH_API_URL: `${nowhere}/1.0`,
      SCOPEGATE_GITHUB_API_URL: nowhere,
      SCOPEGATE_GITLAB_API_URL: `${nowhere}/api/v4`,
      SCOPEGATE_PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
      SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true',
    });
    const act = actions(server);
    await act.createUser('eddie');
    editor = await act.login('eddie');
    await act.createNamespace(editor, NS);
  });
  afterAll(async () => {
    await server?.close();
    if (server) expect(findLeakedSecrets(server, SECRETS)).toEqual([]);
  });

  it.each([
    ['Hetzner', M.hetzner, { name: 'h', apiToken: HETZNER_OK }],
    ['OVH', M.ovh, { name: 'o', ...OVH }],
    ['GitHub', M.git, { name: 'g', provider: 'GITHUB', token: GITHUB_OK }],
    ['GitLab', M.git, { name: 'l', provider: 'GITLAB', token: GITLAB_OK }],
  ] as const)('%s: connection refused is PROVIDER_UNREACHABLE, in words that do not map ports; nothing is stored', async (_label, mutation, input) => {
    const res = await server.gql(mutation, { i: { namespace: NS, ...input } }, editor);
    expect(res.errors).toHaveLength(1);
    expectGqlError(res, { code: 'PROVIDER_UNREACHABLE', message: /^Could not connect to .*\(the server log has the cause\)\.$/ });
    expect(res.errors![0].extensions!.httpStatus).toBeUndefined();
    for (const secret of SECRETS) expect(JSON.stringify(res.body)).not.toContain(secret);
    const listed = await server.ok(Q.names, { ns: NS }, editor);
    expect(listed.namespace.credentials.edges).toEqual([]);
  });

  it('validateCredential of a credential stored offline records UNREACHABLE', async () => {
    await server.ok(M.hetzner, { i: { namespace: NS, name: 'offline', apiToken: HETZNER_OK, skipValidation: true } }, editor);
    const res = await server.gql(M.validate, { i: { namespace: NS, name: 'offline' } }, editor);
    expect(codeOf(res)).toBe('PROVIDER_UNREACHABLE');
    const stored = (await server.ok(Q.one, { ns: NS, name: 'offline' }, editor)).namespace.credential;
    expect(stored).toMatchObject({ validationStatus: 'UNREACHABLE', validationMessage: expect.stringMatching(/^Could not connect to the Hetzner Cloud API/) });
    // The cause is for the operator, in the server log only.
    expect(server.logs.join('\n')).toMatch(/"cause":"ECONNREFUSED"/);
    expect(stored.lastValidatedAt).not.toBeNull();
  });
});
