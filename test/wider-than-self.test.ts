/**
 * No principal produces or reaches a principal wider than itself (role cap, admin rights,
 * lifetime): passwords, users, admin rights and tokens, each over real HTTP. The matrix test
 * covers every operation × every cap; these are the escalation paths a security review found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, type GqlResponse, startTestServer, type TestServer } from './helpers/server.js';

const PASSWORD = 'a-long-password-1';
const NEW_PASSWORD = 'a-brand-new-password-2';

let server: TestServer;
let a: ReturnType<typeof actions>;

beforeAll(async () => {
  // The default first start: no SCOPEGATE_ADMIN_PASSWORD, so admin has no password yet.
  server = await startTestServer();
  a = actions(server);
});
afterAll(() => server?.close());

const setPassword = (token: string, input: Record<string, unknown>) =>
  server.gql('mutation($i: SetPasswordInput!) { setPassword(input: $i) }', { i: input }, token);
const login = (username: string, password: string) =>
  server.gql('mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username, password } });
const personalTokens = async (token: string) =>
  (await server.ok('{ viewer { personalAccessTokens(first: 50) { edges { node { name } } } } }', {}, token)).viewer.personalAccessTokens.edges.map(
    (e: any) => e.node.name,
  );

describe('passwords: only the user in full sets one', () => {
  it('a read-only, non-admin token of the first-start administrator cannot give admin a password (and so no session)', async () => {
    const readOnly = await a.createPersonalToken(server.adminToken, { name: 'auditor', maxRole: 'VIEWER' });
    const res = await setPassword(readOnly, { newPassword: NEW_PASSWORD });
    expect(codeOf(res)).toBe('FORBIDDEN');
    expect(res.data).toBeNull();
    expect(codeOf(await login('admin', NEW_PASSWORD))).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['admin: true, maxRole EDITOR', { maxRole: 'EDITOR', admin: true }],
    ['admin: false, maxRole OWNER', { maxRole: 'OWNER', admin: false }],
  ])('nor can a token with %s', async (_label, fields) => {
    const token = await a.createPersonalToken(server.adminToken, { name: `t-${fields.maxRole.toLowerCase()}-${fields.admin}`, ...fields });
    expect(codeOf(await setPassword(token, { newPassword: NEW_PASSWORD }))).toBe('FORBIDDEN');
    expect(codeOf(await login('admin', NEW_PASSWORD))).toBe('UNAUTHENTICATED');
  });

  it('a session changes its own password only with the current one', async () => {
    await a.createUser('sam');
    const session = await a.login('sam');
    const wrong = await setPassword(session, { currentPassword: 'not-the-password', newPassword: NEW_PASSWORD });
    expectGqlError(wrong, { code: 'BAD_USER_INPUT', field: 'input.currentPassword' });
    const missing = await setPassword(session, { newPassword: NEW_PASSWORD });
    expect(codeOf(missing)).toBe('BAD_USER_INPUT');
    expect(codeOf(await login('sam', NEW_PASSWORD))).toBe('UNAUTHENTICATED');
    expect((await setPassword(session, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).data).toEqual({ setPassword: true });
    expect(codeOf(await login('sam', NEW_PASSWORD))).toBeUndefined();
  });

  it("a non-administrator's session cannot set someone else's password, and learns nothing about who exists", async () => {
    await a.createUser('nosy');
    const session = await a.login('nosy');
    const existing = await setPassword(session, { username: 'sam', newPassword: NEW_PASSWORD });
    const missing = await setPassword(session, { username: 'nobody-here', newPassword: NEW_PASSWORD });
    expect(codeOf(existing)).toBe('FORBIDDEN');
    expect(missing.errors![0].message).toBe(existing.errors![0].message);
  });

  it('the uncapped first-start token sets admin\'s first password itself, as the banner says', async () => {
    expect((await setPassword(server.adminToken, { newPassword: PASSWORD })).data).toEqual({ setPassword: true });
    expect(codeOf(await login('admin', PASSWORD))).toBeUndefined();
    // From now on admin's own password needs the current one, even from the uncapped token.
    expect(codeOf(await setPassword(server.adminToken, { newPassword: NEW_PASSWORD }))).toBe('BAD_USER_INPUT');
  });
});

describe('administrator rights are capped by maxRole', () => {
  let readOnlyAdmin: string;
  beforeAll(async () => {
    readOnlyAdmin = await a.createPersonalToken(server.adminToken, { name: 'read-only-admin', maxRole: 'VIEWER', admin: true });
    await a.createUser('victim');
  });

  it('reads what administrators read', async () => {
    const data = await server.ok('{ users(first: 50) { edges { node { username } } } auditEvents(first: 1) { edges { node { action } } } }', {}, readOnlyAdmin);
    expect(data.users.edges.map((e: any) => e.node.username)).toContain('victim');
    expect(data.auditEvents.edges).toHaveLength(1);
  });

  it.each([
    ['createUser', 'mutation { createUser(input: { username: "mallory", password: "a-long-password-1", isAdmin: true }) { id } }'],
    ['updateUser', 'mutation { updateUser(input: { username: "victim", isAdmin: true }) { isAdmin } }'],
  ])('cannot %s', async (field, query) => {
    const res = await server.gql(query, {}, readOnlyAdmin);
    expect(expectGqlError(res, { code: 'FORBIDDEN', path: [field] }).extensions).toMatchObject({ neededRole: 'OWNER' });
  });

  it("cannot set another user's password and sign in as them", async () => {
    expect(codeOf(await setPassword(readOnlyAdmin, { username: 'victim', newPassword: NEW_PASSWORD }))).toBe('FORBIDDEN');
    expect(codeOf(await login('victim', NEW_PASSWORD))).toBe('UNAUTHENTICATED');
    expect(codeOf(await login('mallory', PASSWORD))).toBe('UNAUTHENTICATED');
  });
});

describe('a token revokes only tokens within its own reach', () => {
  it("a VIEWER-capped, non-admin token cannot revoke its user's OWNER token, admin token or the first-start token", async () => {
    const admin = server.adminToken;
    const narrow = await a.createPersonalToken(admin, { name: 'narrow', maxRole: 'VIEWER' });
    await a.createPersonalToken(admin, { name: 'wide', maxRole: 'OWNER' });
    await a.createPersonalToken(admin, { name: 'wide-admin', maxRole: 'VIEWER', admin: true });
    for (const name of ['wide', 'wide-admin', 'bootstrap']) {
      const res = await server.gql('mutation($n: String!) { revokePersonalAccessToken(input: { name: $n }) { deleted } }', { n: name }, narrow);
      expect(codeOf(res), name).toBe('FORBIDDEN');
    }
    expect(await personalTokens(admin)).toEqual(expect.arrayContaining(['wide', 'wide-admin', 'bootstrap']));
    expect((await a.whoami(admin)).status).toBe(200);
    // Within its reach: itself.
    await server.ok('mutation { revokePersonalAccessToken(input: { name: "narrow" }) { deleted } }', {}, narrow);
  });

  it("nor update or regenerate one wider than itself, even to narrow it", async () => {
    const narrow = await a.createPersonalToken(server.adminToken, { name: 'narrow-2', maxRole: 'EDITOR' });
    const disable = await server.gql('mutation { updatePersonalAccessToken(input: { name: "wide", enabled: false }) { enabled } }', {}, narrow);
    expect(expectGqlError(disable, { code: 'FORBIDDEN' }).extensions).toMatchObject({ neededRole: 'OWNER' });
    const regenerate = await server.gql('mutation { regeneratePersonalAccessToken(input: { name: "wide" }) { secret } }', {}, narrow);
    expect(codeOf(regenerate)).toBe('FORBIDDEN');
    expect(JSON.stringify(regenerate.body)).not.toMatch(/sgp_/);
  });

  it('a session reaches every token of its user, also an admin token left over from before a demotion', async () => {
    await a.createUser('former', PASSWORD, true);
    const session = await a.login('former');
    await a.createPersonalToken(session, { name: 'old-admin', maxRole: 'OWNER', admin: true });
    await server.ok('mutation { updateUser(input: { username: "former", isAdmin: false }) { isAdmin } }', {}, server.adminToken);
    const fresh = await a.login('former');
    await server.ok('mutation { revokePersonalAccessToken(input: { name: "old-admin" }) { deleted } }', {}, fresh);
    expect(await personalTokens(fresh)).not.toContain('old-admin');
  });
});

describe('login', () => {
  it('anonymous login reads its user and their memberships as that user, and the token arrives', async () => {
    await a.createUser('member');
    const owner = await a.login('member');
    await a.createNamespace(owner, 'members-space');
    const res = await server.gql(
      'mutation($i: LoginInput!) { login(input: $i) { token user { username memberships(first: 10) { edges { node { role namespace { name } } } } } } }',
      { i: { username: 'member', password: PASSWORD } },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.login.token).toMatch(/^sgs_/);
    expect(res.data.login.user).toEqual({
      username: 'member',
      memberships: { edges: [{ node: { role: 'OWNER', namespace: { name: 'members-space' } } }] },
    });
    expect((await a.whoami(res.data.login.token)).data.viewer.user.username).toBe('member');
  });
});

/** A login sent from a given loopback address (Linux routes all of 127/8 to lo). */
const loginFrom = (localAddress: string, username: string, password: string) =>
  server.fromAddress(localAddress).gql('mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username, password } });

describe('the login throttle', () => {
  it('evaluates at most the limit of a burst of concurrent guesses, the right password included', async () => {
    await a.createUser('burst');
    const guesses = [...Array.from({ length: 24 }, (_, i) => `wrong-guess-${i}-xxxx`), PASSWORD];
    const results = await Promise.all(guesses.map((g) => loginFrom('127.0.0.3', 'burst', g)));
    const codes = results.map((r) => codeOf(r) ?? 'SIGNED_IN');
    const evaluated = codes.filter((c) => c !== 'RATE_LIMITED');
    expect(evaluated.length).toBeLessThanOrEqual(10);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(15);
    expect(evaluated.every((c) => c === 'UNAUTHENTICATED' || c === 'SIGNED_IN')).toBe(true);
  });

  it('failures from one address do not lock the user out from another', async () => {
    await a.createUser('lockme');
    for (let i = 0; i < 12; i++) await loginFrom('127.0.0.4', 'lockme', `wrong-${i}-xxxxxxxx`);
    expect(codeOf(await loginFrom('127.0.0.4', 'lockme', PASSWORD))).toBe('RATE_LIMITED');
    expect(codeOf(await loginFrom('127.0.0.5', 'lockme', PASSWORD))).toBeUndefined();
  });
});

describe('a token cannot outlive itself by another way', () => {
  const inOneDay = () => new Date(Date.now() + 86_400_000).toISOString();
  let shortAdmin: string;
  let shortOwner: string;
  beforeAll(async () => {
    shortAdmin = await a.createPersonalToken(server.adminToken, { name: 'one-day-admin', maxRole: 'OWNER', admin: true, expiresAt: inOneDay() });
    await a.createNamespace(server.adminToken, 'lifetimes');
    shortOwner = await a.createApiToken(server.adminToken, { namespace: 'lifetimes', name: 'one-day-owner', role: 'OWNER', expiresAt: inOneDay() });
    await a.createUser('eve');
  });

  it('a time zone offset does not carry an expiry past year 9999 (where it would sort before today)', async () => {
    const res = await server.gql(
      'mutation($at: DateTime!) { createPersonalAccessToken(input: { name: "far-future", admin: true, expiresAt: $at }) { secret } }',
      { at: '9999-12-31T23:59:00-23:59' },
      shortAdmin,
    );
    expectGqlError(res, { code: 'BAD_USER_INPUT', message: /between 1970 and 9999/ });
    const latest = await server.gql('mutation { createPersonalAccessToken(input: { name: "far-future", expiresAt: "9999-12-31T00:00:00Z" }) { secret } }', {}, shortAdmin);
    expect(codeOf(latest)).toBe('FORBIDDEN');
  });

  it('an old secret in its grace period acts only until the grace ends', async () => {
    const old = await a.createApiToken(server.adminToken, { namespace: 'lifetimes', name: 'in-grace', role: 'OWNER' });
    await server.ok('mutation { regenerateApiToken(input: { namespace: "lifetimes", name: "in-grace", gracePeriodSeconds: 600 }) { secret } }', {}, server.adminToken);
    expect((await a.whoami(old)).status).toBe(200);
    const mint = await server.gql('mutation { createApiToken(input: { namespace: "lifetimes", name: "forever", role: OWNER }) { secret } }', {}, old);
    expect(codeOf(mint)).toBe('FORBIDDEN');
    const again = await server.gql('mutation { regenerateApiToken(input: { namespace: "lifetimes", name: "in-grace" }) { secret } }', {}, old);
    expect(codeOf(again)).toBe('FORBIDDEN');
  });

  it.each([
    ['make a member', () => shortOwner, 'mutation { setMemberRole(input: { namespace: "lifetimes", username: "eve", role: OWNER }) { role } }'],
    ['create a user', () => shortAdmin, 'mutation { createUser(input: { username: "alt", password: "a-long-password-1", isAdmin: true }) { id } }'],
    ['promote a user', () => shortAdmin, 'mutation { updateUser(input: { username: "eve", isAdmin: true }) { isAdmin } }'],
    ["set someone else's password", () => shortAdmin, 'mutation { setPassword(input: { username: "eve", newPassword: "a-brand-new-password-2" }) }'],
  ])('an expiring token cannot %s, which would outlive it', async (_label, token, query) => {
    const res = await server.gql(query, {}, token());
    expectGqlError(res, { code: 'FORBIDDEN', message: /expires at .*would outlive it/ });
  });

  it('it may still narrow: demote or disable', async () => {
    await a.createUser('temp', PASSWORD, true);
    await server.ok('mutation { updateUser(input: { username: "temp", isAdmin: false, disabled: true }) { disabled } }', {}, shortAdmin);
  });
});

describe('what the trail records of a name is a name', () => {
  it('a token or password typed as a username is not stored as the audit target', async () => {
    const secret = await a.createPersonalToken(server.adminToken, { name: 'pasted' });
    await server.gql('mutation($u: String!) { createUser(input: { username: $u, password: "a-long-password-1" }) { id } }', { u: secret }, server.adminToken);
    await login('CorrectHorseBatteryStaple-typed-as-username', PASSWORD);
    await login('lowercase-password-not-a-user', PASSWORD);
    const { readFileSync } = await import('node:fs');
    const file = readFileSync(server.dbFile).toString('latin1') + (await import('node:fs')).readFileSync(`${server.dbFile}-wal`).toString('latin1');
    for (const typed of [secret, 'CorrectHorseBatteryStaple-typed-as-username', 'lowercase-password-not-a-user']) {
      expect(file).not.toContain(typed);
      expect(server.logs.join('')).not.toContain(typed);
    }
  });
});
