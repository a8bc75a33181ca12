import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { movableClock } from './helpers/clock.js';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, findLeakedSecrets, startTestServer, type TestServer } from './helpers/server.js';

/** Personal access tokens: a user's own tokens, acting as that user, capped at maxRole. */

const PAT_FIELDS = 'id name description enabled expiresAt expired maxRole admin secretHint secretRotatedAt lastUsedAt owner { username }';
const CREATE = `mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { secret personalAccessToken { ${PAT_FIELDS} } } }`;
const UPDATE = `mutation($input: UpdatePersonalAccessTokenInput!) { updatePersonalAccessToken(input: $input) { ${PAT_FIELDS} } }`;
const REGENERATE = `mutation($input: RegeneratePersonalAccessTokenInput!) { regeneratePersonalAccessToken(input: $input) { secret personalAccessToken { ${PAT_FIELDS} } } }`;
const REVOKE = 'mutation($input: RevokePersonalAccessTokenInput!) { revokePersonalAccessToken(input: $input) { deleted } }';
const LIST = `{ viewer { personalAccessTokens(first: 100) { edges { node { ${PAT_FIELDS} } } } } }`;

describe('personal access tokens', () => {
  const HOUR = 3_600_000;
  const clock = movableClock();
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let alice: string;
  let bob: string;

  const listOf = async (token: string) => (await server.ok(LIST, {}, token)).viewer.personalAccessTokens.edges.map((e: any) => e.node);
  const status = async (token: string) => (await act.whoami(token)).status;

  beforeAll(async () => {
    server = await startTestServer({}, undefined, { now: clock.now });
    act = actions(server);
    await act.createUser('alice');
    await act.createUser('bob');
    alice = await act.login('alice');
    bob = await act.login('bob');
    await act.createNamespace(alice, 'team');
  });
  afterAll(async () => {
    await server?.close();
    expect(findLeakedSecrets(server)).toEqual([]);
  });

  it('creates one: the secret once, the metadata, and it acts as its user', async () => {
    const res = await server.ok(CREATE, { input: { name: 'laptop', description: 'my laptop', expiresInDays: 30 } }, alice);
    const { secret, personalAccessToken: pat } = res.createPersonalAccessToken;
    expect(secret).toMatch(/^sgp_[0-9A-Za-z]{36}$/);
    expect(pat).toMatchObject({
      name: 'laptop',
      description: 'my laptop',
      enabled: true,
      expired: false,
      maxRole: 'OWNER',
      admin: false,
      secretHint: `sgp_…${secret.slice(-4)}`,
      secretRotatedAt: null,
      lastUsedAt: null,
      owner: { username: 'alice' },
    });
    const days = (Date.parse(pat.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    const me = await act.whoami(secret);
    expect(me.data.viewer).toEqual({ kind: 'PERSONAL_ACCESS_TOKEN', isAdmin: false, user: { username: 'alice' }, apiToken: null, personalAccessToken: { name: 'laptop' } });
    expect((await server.ok('{ viewer { roleIn(namespace: "team") } }', {}, secret)).viewer.roleIn).toBe('OWNER');
    // Listed, without its secret.
    const list = await listOf(alice);
    expect(list.map((t: any) => t.name)).toEqual(['laptop']);
    expect(JSON.stringify(list)).not.toContain(secret);
    // Listed the same from the token itself.
    expect((await listOf(secret)).map((t: any) => t.name)).toEqual(['laptop']);
  });

  it('updates description, enabled, expiresAt and clearExpiry', async () => {
    const secret = await act.createPersonalToken(alice, { name: 'ci-box' });
    expect(await status(secret)).toBe(200);

    const described = await server.ok(UPDATE, { input: { name: 'ci-box', description: 'build box' } }, alice);
    expect(described.updatePersonalAccessToken).toMatchObject({ description: 'build box', enabled: true, expiresAt: null });

    const off = await server.ok(UPDATE, { input: { name: 'ci-box', enabled: false } }, alice);
    expect(off.updatePersonalAccessToken).toMatchObject({ enabled: false, description: 'build box' });
    const refused = await act.whoami(secret);
    expect(refused.status).toBe(401);
    expectGqlError(refused, { code: 'UNAUTHENTICATED', message: 'token is disabled' });
    await server.ok(UPDATE, { input: { name: 'ci-box', enabled: true } }, alice);
    expect(await status(secret)).toBe(200);

    const at = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const dated = await server.ok(UPDATE, { input: { name: 'ci-box', expiresAt: at } }, alice);
    expect(dated.updatePersonalAccessToken).toMatchObject({ expiresAt: at, expired: false });
    const both = await server.gql(UPDATE, { input: { name: 'ci-box', expiresAt: at, clearExpiry: true } }, alice);
    expectGqlError(both, { code: 'BAD_USER_INPUT', field: 'input.clearExpiry', message: 'input.clearExpiry: give either expiresAt or clearExpiry, not both' });
    const cleared = await server.ok(UPDATE, { input: { name: 'ci-box', clearExpiry: true } }, alice);
    expect(cleared.updatePersonalAccessToken).toMatchObject({ expiresAt: null, expired: false, description: 'build box', enabled: true });

    // An hour ahead: certainly still valid now; then the server's clock moves past it.
    const soon = new Date(clock.now().getTime() + HOUR).toISOString();
    await server.ok(UPDATE, { input: { name: 'ci-box', expiresAt: soon } }, alice);
    expect(await status(secret)).toBe(200);
    clock.advance(HOUR + 1000);
    const expired = await act.whoami(secret);
    expect(expired.status).toBe(401);
    expectGqlError(expired, { code: 'UNAUTHENTICATED', message: `token expired at ${soon}` });
  });

  it('regenerates without a grace period: the old secret stops at once', async () => {
    const old = await act.createPersonalToken(alice, { name: 'rotate-now' });
    expect(await status(old)).toBe(200); // cached
    const res = await server.ok(REGENERATE, { input: { name: 'rotate-now' } }, alice);
    const fresh = res.regeneratePersonalAccessToken.secret;
    expect(fresh).toMatch(/^sgp_/);
    expect(fresh).not.toBe(old);
    expect(res.regeneratePersonalAccessToken.personalAccessToken).toMatchObject({ name: 'rotate-now', secretHint: `sgp_…${fresh.slice(-4)}` });
    expect(res.regeneratePersonalAccessToken.personalAccessToken.secretRotatedAt).not.toBeNull();
    const refused = await act.whoami(old);
    expect(refused.status).toBe(401);
    expectGqlError(refused, { code: 'UNAUTHENTICATED', message: 'token has been regenerated; use the new secret' });
    expect(await status(fresh)).toBe(200);
  });

  it('regenerates with a grace period: both work until it ends', async () => {
    const old = await act.createPersonalToken(alice, { name: 'rotate-soft' });
    const res = await server.ok(REGENERATE, { input: { name: 'rotate-soft', gracePeriodSeconds: 3600 } }, alice);
    const fresh = res.regeneratePersonalAccessToken.secret;
    expect(await status(old)).toBe(200);
    expect(await status(fresh)).toBe(200);
    clock.advance(HOUR + 1000);
    const ended = await act.whoami(old);
    expect(ended.status).toBe(401);
    expectGqlError(ended, { code: 'UNAUTHENTICATED', message: 'token has been regenerated; use the new secret' });
    expect(await status(fresh)).toBe(200);
  });

  it('revokes: refused at once, gone from the list, and the name can be reused', async () => {
    const secret = await act.createPersonalToken(alice, { name: 'throwaway' });
    expect(await status(secret)).toBe(200);
    const res = await server.ok(REVOKE, { input: { name: 'throwaway' } }, alice);
    expect(res.revokePersonalAccessToken.deleted).toBe('user:alice/tokens/throwaway');
    const refused = await act.whoami(secret);
    expect(refused.status).toBe(401);
    expectGqlError(refused, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
    expect((await listOf(alice)).map((t: any) => t.name)).not.toContain('throwaway');
    const again = await server.gql(REVOKE, { input: { name: 'throwaway' } }, alice);
    expect(codeOf(again)).toBe('NOT_FOUND');

    const dup = await server.gql(CREATE, { input: { name: 'laptop' } }, alice);
    expect(codeOf(dup)).toBe('CONFLICT');
    const reused = await act.createPersonalToken(alice, { name: 'throwaway' });
    expect(await status(reused)).toBe(200);
    expect(await status(secret)).toBe(401);
    expect((await listOf(alice)).filter((t: any) => t.name === 'throwaway')).toHaveLength(1);
  });

  it('a token acts as its user capped at maxRole', async () => {
    const viewerPat = await act.createPersonalToken(alice, { name: 'read-only', maxRole: 'VIEWER' });
    const editorPat = await act.createPersonalToken(alice, { name: 'editor', maxRole: 'EDITOR' });
    const roles = await server.ok('{ viewer { roleIn(namespace: "team") } }', {}, viewerPat);
    expect(roles.viewer.roleIn).toBe('VIEWER');
    expect((await server.ok('{ viewer { roleIn(namespace: "team") } }', {}, editorPat)).viewer.roleIn).toBe('EDITOR');
    expect((await server.ok('{ namespace(name: "team") { viewerRole } }', {}, viewerPat)).namespace.viewerRole).toBe('VIEWER');
    // It can read what a viewer reads...
    const read = await server.ok('{ namespace(name: "team") { name members { edges { node { role user { username } } } } } }', {}, viewerPat);
    expect(read.namespace.members.edges).toEqual([{ node: { role: 'OWNER', user: { username: 'alice' } } }]);
    // ...but not what an owner does, though its user is an owner.
    for (const [token, role] of [
      [viewerPat, 'VIEWER'],
      [editorPat, 'EDITOR'],
    ]) {
      const res = await server.gql('mutation { createApiToken(input: { namespace: "team", name: "nope", role: VIEWER }) { secret } }', {}, token);
      expect(res.status).toBe(200);
      const error = expectGqlError(res, { code: 'FORBIDDEN', message: `requires role OWNER in namespace "team" (your role is ${role})` });
      expect(error.extensions!.neededRole).toBe('OWNER');
      const rename = await server.gql('mutation { updateNamespace(input: { name: "team", description: "nope" }) { name } }', {}, token);
      expect(codeOf(rename)).toBe('FORBIDDEN');
    }
    expect((await server.ok('{ namespace(name: "team") { description apiToken(name: "nope") { name } } }', {}, alice)).namespace).toEqual({
      description: null,
      apiToken: null,
    });
  });

  it('an EDITOR operation is FORBIDDEN to a VIEWER-capped token, naming EDITOR', async () => {
    const viewerPat = await act.createPersonalToken(alice, { name: 'viewer-for-editor-op', maxRole: 'VIEWER' });
    const res = await server.gql(
      'mutation { createSshKeyCredential(input: { namespace: "team", name: "deploy-key", generate: true }) { credential { name } } }',
      {},
      viewerPat,
    );
    const error = expectGqlError(res, { code: 'FORBIDDEN', message: /EDITOR/ });
    expect(error.extensions!.neededRole).toBe('EDITOR');
  });

  it('only administrators may create admin tokens; an admin token without admin: true has no admin rights', async () => {
    const denied = await server.gql(CREATE, { input: { name: 'wannabe', admin: true } }, alice);
    expectGqlError(denied, { code: 'FORBIDDEN', message: 'only administrators (acting with administrator rights) may create or manage admin personal access tokens' });
    expect((await listOf(alice)).map((t: any) => t.name)).not.toContain('wannabe');

    const admin = server.adminToken;
    const plain = await server.ok(CREATE, { input: { name: 'plain' } }, admin);
    expect(plain.createPersonalAccessToken.personalAccessToken.admin).toBe(false);
    const plainSecret = plain.createPersonalAccessToken.secret;
    const me = await server.ok('{ viewer { isAdmin user { username isAdmin } } }', {}, plainSecret);
    expect(me.viewer).toEqual({ isAdmin: false, user: { username: 'admin', isAdmin: true } });
    const users = await server.gql('{ users { edges { node { username } } } }', {}, plainSecret);
    expectGqlError(users, { code: 'FORBIDDEN', message: 'requires administrator rights' });
    // Nor may it mint an admin token, or see a namespace it is no member of.
    expect(codeOf(await server.gql(CREATE, { input: { name: 'escalate', admin: true } }, plainSecret))).toBe('FORBIDDEN');
    expect((await server.ok('{ namespace(name: "team") { name } }', {}, plainSecret)).namespace).toBeNull();

    const full = await server.ok(CREATE, { input: { name: 'full', admin: true, maxRole: 'VIEWER' } }, admin);
    const fullSecret = full.createPersonalAccessToken.secret;
    expect(full.createPersonalAccessToken.personalAccessToken).toMatchObject({ admin: true, maxRole: 'VIEWER' });
    const adminView = await server.ok('{ viewer { isAdmin roleIn(namespace: "team") } users { edges { node { username } } } }', {}, fullSecret);
    expect(adminView.viewer).toEqual({ isAdmin: true, roleIn: 'VIEWER' });
    expect(adminView.users.edges.map((e: any) => e.node.username)).toEqual(['admin', 'alice', 'bob']);
  });

  it('a token cannot mint a token with a higher maxRole than its own', async () => {
    const editorPat = await act.createPersonalToken(alice, { name: 'minter', maxRole: 'EDITOR' });
    for (const maxRole of ['OWNER', undefined]) {
      const res = await server.gql(CREATE, { input: { name: 'wider', ...(maxRole ? { maxRole } : {}) } }, editorPat);
      expectGqlError(res, { code: 'FORBIDDEN', message: 'role OWNER is above the role EDITOR of the token making this request' });
    }
    const same = await server.ok(CREATE, { input: { name: 'same', maxRole: 'EDITOR' } }, editorPat);
    expect(same.createPersonalAccessToken.personalAccessToken.maxRole).toBe('EDITOR');
    const narrower = await server.ok(CREATE, { input: { name: 'narrower', maxRole: 'VIEWER' } }, editorPat);
    expect(narrower.createPersonalAccessToken.personalAccessToken.maxRole).toBe('VIEWER');
    expect((await listOf(alice)).map((t: any) => t.name)).not.toContain('wider');
    // The session (no cap) may create an OWNER token.
    expect((await server.ok(CREATE, { input: { name: 'wide' } }, alice)).createPersonalAccessToken.personalAccessToken.maxRole).toBe('OWNER');
  });

  // A token manages only tokens no wider than itself: regenerating a wider one would hand
  // over its secret (maxRole or administrator rights the caller does not have).
  it('a VIEWER-capped token cannot regenerate an OWNER token of its user and so obtain its secret', async () => {
    await act.createPersonalToken(alice, { name: 'wide-target', maxRole: 'OWNER' });
    const viewerPat = await act.createPersonalToken(alice, { name: 'narrow-caller', maxRole: 'VIEWER' });
    const widened = await server.gql(REGENERATE, { input: { name: 'wide-target' } }, viewerPat);
    expectGqlError(widened, { code: 'FORBIDDEN', message: 'role OWNER is above the role VIEWER of the token making this request' });
    expect(widened.data).toBeNull();
    const update = await server.gql('mutation { updatePersonalAccessToken(input: { name: "wide-target", enabled: false }) { enabled } }', {}, viewerPat);
    expect(codeOf(update)).toBe('FORBIDDEN');
  });

  it("an administrator's token without admin rights cannot regenerate their admin token and so obtain admin rights", async () => {
    const admin = server.adminToken;
    await act.createPersonalToken(admin, { name: 'admin-target', admin: true });
    const noAdmin = await act.createPersonalToken(admin, { name: 'no-admin-rights', admin: false });
    expect((await server.ok('{ viewer { isAdmin } }', {}, noAdmin)).viewer.isAdmin).toBe(false);
    const escalated = await server.gql(REGENERATE, { input: { name: 'admin-target' } }, noAdmin);
    expect(codeOf(escalated)).toBe('FORBIDDEN');
    expect(escalated.data).toBeNull();
  });

  it('users never see, change or revoke each other\'s tokens', async () => {
    const bobSecret = await act.createPersonalToken(bob, { name: 'bobs-token' });
    const bobList = await listOf(bob);
    expect(bobList.map((t: any) => t.name)).toEqual(['bobs-token']);
    const bobId = bobList[0].id;
    const aliceList = await listOf(alice);
    expect(aliceList.map((t: any) => t.name)).not.toContain('bobs-token');
    expect(aliceList.every((t: any) => t.owner.username === 'alice')).toBe(true);

    // Not by global id either.
    const byId = await server.gql('query($id: ID!) { node(id: $id) { id ... on PersonalAccessToken { name } } }', { id: bobId }, alice);
    expect(byId.errors).toBeUndefined();
    expect(byId.data.node).toBeNull();
    const ownById = await server.ok('query($id: ID!) { node(id: $id) { ... on PersonalAccessToken { name } } }', { id: bobId }, bob);
    expect(ownById.node).toEqual({ name: 'bobs-token' });

    // Names are per user: alice addressing "bobs-token" addresses her own (which does not exist).
    for (const [query, input] of [
      [UPDATE, { name: 'bobs-token', enabled: false }],
      [REGENERATE, { name: 'bobs-token' }],
      [REVOKE, { name: 'bobs-token' }],
    ] as const) {
      const res = await server.gql(query, { input }, alice);
      expectGqlError(res, { code: 'NOT_FOUND', message: 'personal access token "bobs-token" not found' });
    }
    expect(await status(bobSecret)).toBe(200);
    expect((await listOf(bob))[0]).toMatchObject({ name: 'bobs-token', enabled: true, secretRotatedAt: null });
    // Both may hold a token of the same name.
    const aliceSame = await act.createPersonalToken(alice, { name: 'bobs-token' });
    expect((await act.whoami(aliceSame)).data.viewer.user.username).toBe('alice');
    expect((await act.whoami(bobSecret)).data.viewer.user.username).toBe('bob');
  });

  it('an API token has no personal tokens and cannot make one', async () => {
    const api = await act.createApiToken(alice, { namespace: 'team', name: 'robot', role: 'OWNER' });
    expect(await listOf(api)).toEqual([]);
    const res = await server.gql(CREATE, { input: { name: 'robot-pat' } }, api);
    expectGqlError(res, { code: 'FORBIDDEN', message: 'requires a user (session or personal access token); namespace API tokens cannot do this' });
  });

  it('a token cannot make or keep a token that outlives it', async () => {
    const shortLived = await act.createPersonalToken(alice, { name: 'short-lived', expiresInDays: 7 });
    const forever = await server.gql(CREATE, { input: { name: 'forever' } }, shortLived);
    expectGqlError(forever, { code: 'FORBIDDEN', message: /^the token making this request expires at .+: the tokens it creates or manages must expire no later$/ });
    const longer = await server.gql(CREATE, { input: { name: 'longer', expiresInDays: 8 } }, shortLived);
    expect(codeOf(longer)).toBe('FORBIDDEN');
    const within = await server.gql(CREATE, { input: { name: 'within', expiresInDays: 6 } }, shortLived);
    expect(within.errors).toBeUndefined();
    const extendSelf = await server.gql(
      'mutation($at: DateTime) { updatePersonalAccessToken(input: { name: "short-lived", expiresAt: $at }) { expiresAt } }',
      { at: new Date(Date.now() + 30 * 86_400_000).toISOString() },
      shortLived,
    );
    expect(codeOf(extendSelf)).toBe('FORBIDDEN');
  });
});
