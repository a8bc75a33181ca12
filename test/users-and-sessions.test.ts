import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, findLeakedSecrets, startTestServer, type TestServer } from './helpers/server.js';

/** Users, passwords and sessions, as an administrator and their colleagues use them. */

const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { token expiresAt user { username displayName isAdmin } } }';
const SET_PASSWORD = 'mutation($input: SetPasswordInput!) { setPassword(input: $input) }';
const UPDATE_USER = 'mutation($input: UpdateUserInput!) { updateUser(input: $input) { username displayName isAdmin disabled } }';
const HOUR = 3_600_000;

describe('users and sessions', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let admin: string;

  const login = (username: string, password = 'a-long-password-1') => server.gql(LOGIN, { input: { username, password } });
  const status = async (token: string) => (await act.whoami(token)).status;
  const personalTokenNames = async (token: string) =>
    (await server.ok('{ viewer { personalAccessTokens(first: 50) { edges { node { name } } } } }', {}, token)).viewer.personalAccessTokens.edges.map(
      (e: any) => e.node.name,
    );

  beforeAll(async () => {
    server = await startTestServer();
    act = actions(server);
    admin = server.adminToken;
  });
  afterAll(async () => {
    await server?.close();
    expect(findLeakedSecrets(server, ['a-long-password-1', 'the-new-password-2', 'reset-by-admin-3'])).toEqual([]);
  });

  describe('login and logout', () => {
    beforeAll(async () => {
      await act.createUser('ursula');
    });

    it('login returns a session token that expires in 12 hours', async () => {
      const before = Date.now();
      const res = await login('ursula');
      const after = Date.now();
      expect(res.errors).toBeUndefined();
      const { token, expiresAt, user } = res.data.login;
      expect(token).toMatch(/^sgs_[0-9A-Za-z]{36}$/);
      expect(user).toEqual({ username: 'ursula', displayName: null, isAdmin: false });
      // 12 hours from the moment the server handled it, wherever that fell in the request.
      expect(Date.parse(expiresAt)).toBeGreaterThanOrEqual(before + 12 * HOUR);
      expect(Date.parse(expiresAt)).toBeLessThanOrEqual(after + 12 * HOUR);
      const me = await act.whoami(token);
      expect(me.data.viewer).toMatchObject({ kind: 'USER_SESSION', isAdmin: false, user: { username: 'ursula' } });
      // Every login is a new session.
      expect((await login('ursula')).data.login.token).not.toBe(token);
    });

    it('wrong password and unknown user read the same', async () => {
      const wrong = await login('ursula', 'not-the-password-at-all');
      const unknown = await login('nobody-here', 'a-long-password-1');
      for (const res of [wrong, unknown]) {
        expect(res.status).toBeLessThan(500);
        expectGqlError(res, { code: 'UNAUTHENTICATED', message: 'invalid username or password' });
        expect(res.data).toBeNull();
      }
      expect(JSON.stringify(wrong.errors)).toBe(JSON.stringify(unknown.errors));
    });

    it('logout ends the session at once; the next request is 401', async () => {
      const token = await act.login('ursula');
      const other = await act.login('ursula');
      expect(await status(token)).toBe(200); // cached now
      const res = await server.ok('mutation { logout }', {}, token);
      expect(res.logout).toBe(true);
      const after = await act.whoami(token);
      expect(after.status).toBe(401);
      expectGqlError(after, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
      // Only that session.
      expect(await status(other)).toBe(200);
      // Logging out twice is a 401, not a success.
      expect((await server.gql('mutation { logout }', {}, token)).status).toBe(401);
    });

    it('logout with an API token or a personal token is BAD_USER_INPUT, and ends nothing', async () => {
      await act.createNamespace(admin, 'sessions');
      const api = await act.createApiToken(admin, { namespace: 'sessions', name: 'ci', role: 'VIEWER' });
      const pat = await act.createPersonalToken(admin, { name: 'for-logout' });
      for (const [token, says] of [
        [api, 'logout: ends a session token; this request used an API token (see revokeApiToken)'],
        [pat, 'logout: ends a session token; this request used a personal access token (see revokePersonalAccessToken)'],
      ]) {
        const res = await server.gql('mutation { logout }', {}, token);
        expect(res.status).toBeLessThan(500);
        expectGqlError(res, { code: 'BAD_USER_INPUT', message: says });
        expect(await status(token)).toBe(200);
      }
    });

    it('an anonymous request may log in but nothing else', async () => {
      const res = await server.gql('{ viewer { kind } }');
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="scopegate"');
      const sneaky = await server.gql('mutation { login(input: { username: "ursula", password: "a-long-password-1" }) { token } logout }');
      expect(sneaky.status).toBe(401);
      expect(sneaky.data).toBeUndefined();
    });
  });

  describe('administering users', () => {
    it('creates and updates users (displayName, isAdmin)', async () => {
      const created = await server.ok(
        'mutation($input: CreateUserInput!) { createUser(input: $input) { username displayName isAdmin disabled } }',
        { input: { username: 'victor', displayName: 'Victor V.', password: 'a-long-password-1' } },
        admin,
      );
      expect(created.createUser).toEqual({ username: 'victor', displayName: 'Victor V.', isAdmin: false, disabled: false });
      const dup = await server.gql(
        'mutation($input: CreateUserInput!) { createUser(input: $input) { username } }',
        { input: { username: 'victor', password: 'a-long-password-1' } },
        admin,
      );
      expect(codeOf(dup)).toBe('CONFLICT');

      const session = await act.login('victor');
      expectGqlError(await server.gql('{ users { edges { node { username } } } }', {}, session), { code: 'FORBIDDEN' });

      const renamed = await server.ok(UPDATE_USER, { input: { username: 'victor', displayName: 'Victor Vance' } }, admin);
      expect(renamed.updateUser).toEqual({ username: 'victor', displayName: 'Victor Vance', isAdmin: false, disabled: false });
      // Promotion takes effect at once, even for a session whose principal is cached.
      const promoted = await server.ok(UPDATE_USER, { input: { username: 'victor', isAdmin: true } }, admin);
      expect(promoted.updateUser.isAdmin).toBe(true);
      const asAdmin = await server.gql('{ viewer { isAdmin } users { edges { node { username } } } }', {}, session);
      expect(asAdmin.errors).toBeUndefined();
      expect(asAdmin.data.viewer.isAdmin).toBe(true);
      expect(asAdmin.data.users.edges.map((e: any) => e.node.username)).toContain('victor');
      const demoted = await server.ok(UPDATE_USER, { input: { username: 'victor', isAdmin: false, displayName: null } }, admin);
      expect(demoted.updateUser).toEqual({ username: 'victor', displayName: null, isAdmin: false, disabled: false });
      expect(codeOf(await server.gql('{ users { edges { node { username } } } }', {}, session))).toBe('FORBIDDEN');

      const missing = await server.gql(UPDATE_USER, { input: { username: 'nobody-at-all', displayName: 'x' } }, admin);
      expect(codeOf(missing)).toBe('NOT_FOUND');
    });

    it('disabling a user ends their session and personal token at once; enabling brings neither back', async () => {
      await act.createUser('dora');
      const session = await act.login('dora');
      const pat = await act.createPersonalToken(session, { name: 'laptop' });
      // Both verified, so their principals are cached.
      expect(await status(session)).toBe(200);
      expect(await status(pat)).toBe(200);

      const off = await server.ok(UPDATE_USER, { input: { username: 'dora', disabled: true } }, admin);
      expect(off.updateUser.disabled).toBe(true);
      for (const token of [session, pat]) {
        const res = await act.whoami(token);
        expect(res.status).toBe(401);
        // Ended, not suspended: they read like any revoked token.
        expectGqlError(res, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
      }
      const refused = await login('dora');
      expect(codeOf(refused)).toBe('UNAUTHENTICATED');
      expect(refused.data).toBeNull();

      const on = await server.ok(UPDATE_USER, { input: { username: 'dora', disabled: false } }, admin);
      expect(on.updateUser.disabled).toBe(false);
      for (const token of [session, pat]) {
        const res = await act.whoami(token);
        expect(res.status).toBe(401);
        expectGqlError(res, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
      }
      const fresh = (await login('dora')).data.login.token;
      expect(await status(fresh)).toBe(200);
      expect(await personalTokenNames(fresh)).toEqual([]);

      const trail = await server.ok(
        '{ auditEvents(first: 2, filter: { action: "user.update", target: "users/dora" }) { edges { node { details } } } }',
        {},
        admin,
      );
      expect(trail.auditEvents.edges.map((e: any) => JSON.parse(e.node.details))).toEqual([
        { changed: ['disabled'], disabled: false, endedSessions: 0, endedPersonalTokens: 0 },
        { changed: ['disabled'], disabled: true, endedSessions: 1, endedPersonalTokens: 1 },
      ]);
    });

    it('enabling a user disabled by an older version, which only suspended them, brings back none of their tokens', async () => {
      await act.createUser('legacy');
      const session = await act.login('legacy');
      const pat = await act.createPersonalToken(session, { name: 'laptop' });
      // What disabling used to leave behind: the flag set, the tokens live.
      await server.gate.app.db.updateTable('users').set({ disabled: 1 }).where('username', '=', 'legacy').execute();
      await server.ok(UPDATE_USER, { input: { username: 'legacy', disabled: false } }, admin);
      for (const token of [session, pat]) expect(await status(token)).toBe(401);
      expect(await status((await login('legacy')).data.login.token)).toBe(200);
    });

    it('the last active administrator can be neither demoted nor disabled', async () => {
      for (const change of [{ isAdmin: false }, { disabled: true }]) {
        const res = await server.gql(UPDATE_USER, { input: { username: 'admin', ...change } }, admin);
        expectGqlError(res, { code: 'CONFLICT', message: 'admin is the last active administrator: make another user administrator first' });
      }
      // A second administrator who is disabled does not count.
      await act.createUser('backup', 'a-long-password-1', true);
      await server.ok(UPDATE_USER, { input: { username: 'backup', disabled: true } }, admin);
      expect(codeOf(await server.gql(UPDATE_USER, { input: { username: 'admin', isAdmin: false } }, admin))).toBe('CONFLICT');
      const still = await server.ok('{ user(username: "admin") { isAdmin disabled } }', {}, admin);
      expect(still.user).toEqual({ isAdmin: true, disabled: false });
      // An active one does: then either may step down, and the other becomes the last.
      await server.ok(UPDATE_USER, { input: { username: 'backup', disabled: false } }, admin);
      const backup = await act.login('backup');
      const stepDown = await server.ok(UPDATE_USER, { input: { username: 'backup', isAdmin: false } }, backup);
      expect(stepDown.updateUser.isAdmin).toBe(false);
      expect(codeOf(await server.gql(UPDATE_USER, { input: { username: 'admin', disabled: true } }, admin))).toBe('CONFLICT');
      // backup's cached session lost its rights with the change.
      expect(codeOf(await server.gql('{ users { edges { cursor } } }', {}, backup))).toBe('FORBIDDEN');
    });

    it('users and user are for administrators only', async () => {
      await act.createUser('plain');
      const session = await act.login('plain');
      for (const query of ['{ users { edges { node { username } } } }', '{ user(username: "admin") { username } }', '{ user(username: "plain") { username } }']) {
        const res = await server.gql(query, {}, session);
        expect(res.status).toBe(200);
        expectGqlError(res, { code: 'FORBIDDEN', message: 'requires administrator rights' });
        // users is non-null, so data is null; user is nullable, so data.user is.
        expect(res.data?.users ?? res.data?.user ?? null).toBeNull();
      }
      const adminView = await server.ok('{ user(username: "plain") { username isAdmin } nobody: user(username: "nobody") { username } }', {}, admin);
      expect(adminView).toEqual({ user: { username: 'plain', isAdmin: false }, nobody: null });
      const createAsPlain = await server.gql(
        'mutation($input: CreateUserInput!) { createUser(input: $input) { username } }',
        { input: { username: 'sneaky', password: 'a-long-password-1' } },
        session,
      );
      expect(codeOf(createAsPlain)).toBe('FORBIDDEN');
      expect(codeOf(await server.gql('{ user(username: "sneaky") { username } }', {}, admin))).toBeUndefined();
      expect((await server.ok('{ user(username: "sneaky") { username } }', {}, admin)).user).toBeNull();
    });
  });

  describe('passwords', () => {
    beforeAll(async () => {
      await act.createUser('petra');
      await act.createUser('quinn');
    });

    it('changing your own password needs the current one', async () => {
      const session = await act.login('petra');
      for (const currentPassword of ['wrong-password-here', undefined, '']) {
        const res = await server.gql(SET_PASSWORD, { input: { currentPassword, newPassword: 'the-new-password-2' } }, session);
        expect(res.status).toBeLessThan(500);
        expectGqlError(res, { code: 'BAD_USER_INPUT', message: 'input.currentPassword: does not match your current password' });
      }
      // Unchanged.
      expect((await login('petra')).data.login.token).toMatch(/^sgs_/);
      expect(codeOf(await login('petra', 'the-new-password-2'))).toBe('UNAUTHENTICATED');
    });

    it('a new password ends the other sessions of that user, keeps the current one', async () => {
      const here = await act.login('petra');
      const elsewhere = await act.login('petra');
      const quinn = await act.login('quinn');
      expect(await status(elsewhere)).toBe(200); // cached
      const res = await server.ok(SET_PASSWORD, { input: { currentPassword: 'a-long-password-1', newPassword: 'the-new-password-2' } }, here);
      expect(res.setPassword).toBe(true);
      expect(await status(here)).toBe(200);
      const ended = await act.whoami(elsewhere);
      expect(ended.status).toBe(401);
      expectGqlError(ended, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
      expect(await status(quinn)).toBe(200);
      expect(codeOf(await login('petra'))).toBe('UNAUTHENTICATED');
      expect((await login('petra', 'the-new-password-2')).data.login.token).toMatch(/^sgs_/);
    });

    it("an administrator sets another user's password without theirs, ending that user's sessions", async () => {
      const quinnSession = await act.login('quinn');
      expect(await status(quinnSession)).toBe(200);
      const res = await server.ok(SET_PASSWORD, { input: { username: 'quinn', newPassword: 'reset-by-admin-3' } }, admin);
      expect(res.setPassword).toBe(true);
      expect(await status(quinnSession)).toBe(401);
      expect(await status(admin)).toBe(200);
      expect(codeOf(await login('quinn'))).toBe('UNAUTHENTICATED');
      expect((await login('quinn', 'reset-by-admin-3')).data.login.token).toMatch(/^sgs_/);
      const missing = await server.gql(SET_PASSWORD, { input: { username: 'nobody-here', newPassword: 'reset-by-admin-3' } }, admin);
      expect(codeOf(missing)).toBe('NOT_FOUND');
    });

    it("a non-administrator cannot set someone else's password (FORBIDDEN), whether or not they exist", async () => {
      const petra = (await login('petra', 'the-new-password-2')).data.login.token;
      for (const username of ['quinn', 'admin', 'nobody-here']) {
        const res = await server.gql(SET_PASSWORD, { input: { username, currentPassword: 'the-new-password-2', newPassword: 'hijacked-password-9' } }, petra);
        expectGqlError(res, { code: 'FORBIDDEN', message: "only administrators may set another user's password" });
      }
      expect(codeOf(await login('quinn', 'hijacked-password-9'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login('admin', 'hijacked-password-9'))).toBe('UNAUTHENTICATED');
      // An administrator's personal token without admin rights cannot either.
      const limited = await act.createPersonalToken(admin, { name: 'no-admin', admin: false });
      const viaPat = await server.gql(SET_PASSWORD, { input: { username: 'quinn', newPassword: 'hijacked-password-9' } }, limited);
      expect(codeOf(viaPat)).toBe('FORBIDDEN');
      expect((await login('quinn', 'reset-by-admin-3')).data.login.token).toMatch(/^sgs_/);
    });
  });
});

describe('SCOPEGATE_SESSION_TTL_HOURS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SCOPEGATE_SESSION_TTL_HOURS: '1', SCOPEGATE_ADMIN_PASSWORD: 'admin-password-for-ttl' });
  });
  afterAll(() => server?.close());

  it('sets the lifetime of a session', async () => {
    const before = Date.now();
    const data = await server.ok(LOGIN, { input: { username: 'admin', password: 'admin-password-for-ttl' } });
    const ttl = Date.parse(data.login.expiresAt) - before;
    expect(ttl).toBeGreaterThan(HOUR - 60_000);
    expect(ttl).toBeLessThanOrEqual(HOUR + 1000);
    const token = (await server.ok('{ viewer { user { username } } }', {}, data.login.token)).viewer.user.username;
    expect(token).toBe('admin');
  });
});
