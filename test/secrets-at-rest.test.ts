import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/auth/secrets.js';
import { withDatabase } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { databaseBytes, expectGqlError, findLeakedSecrets, startTestServer, type TestServer } from './helpers/server.js';

/**
 * Every secret the server hands out (API tokens, regenerated ones, personal tokens,
 * sessions, the first-start token) and every password it is given must be absent from
 * the database file, its WAL, the audit trail and the logs.
 */

const SECRET_SHAPE = /^sg[tps]_[0-9A-Za-z]{36}$/;
const password = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

describe('secrets and passwords at rest', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  /** Passwords given to createUser / setPassword / login, and strings typed as passwords in failed logins. */
  const passwords: string[] = [];
  /** Token-shaped strings that were sent but never issued (failed logins, mistyped tokens). */
  const sentNotIssued: string[] = [];
  let closed = false;

  beforeAll(async () => {
    server = await startTestServer();
    act = actions(server);
  });
  afterAll(async () => {
    if (!closed) await server?.close();
  });

  it('issues secrets of every kind and uses them', async () => {
    const admin = server.adminToken;
    expect(admin).toMatch(SECRET_SHAPE);

    // Users with passwords; sessions from login; passwords changed by self and by an administrator.
    const alicePw = password('alice-first');
    const alicePw2 = password('alice-second');
    const bobPw = password('bob-first');
    const bobPw2 = password('bob-reset');
    passwords.push(alicePw, alicePw2, bobPw, bobPw2);
    await act.createUser('alice', alicePw);
    await act.createUser('bob', bobPw, true);
    const aliceSession = await act.login('alice', alicePw);
    expect(aliceSession).toMatch(/^sgs_/);
    await server.ok(
      'mutation($input: SetPasswordInput!) { setPassword(input: $input) }',
      { input: { currentPassword: alicePw, newPassword: alicePw2 } },
      aliceSession,
    );
    await server.ok('mutation($input: SetPasswordInput!) { setPassword(input: $input) }', { input: { username: 'bob', newPassword: bobPw2 } }, admin);
    const aliceSession2 = await act.login('alice', alicePw2);
    const bobSession = await act.login('bob', bobPw2);
    await server.ok('mutation { logout }', {}, aliceSession2);

    // Namespace API tokens: created, regenerated (with and without grace), updated, revoked.
    await act.createNamespace(aliceSession, 'vault');
    const apiSecrets: string[] = [];
    for (const [name, role] of [['ci', 'EDITOR'], ['deploy', 'OWNER'], ['read', 'VIEWER']] as const) {
      apiSecrets.push(await act.createApiToken(aliceSession, { namespace: 'vault', name, role, description: `token ${name}`, expiresInDays: 30 }));
    }
    for (const grace of [0, 3600]) {
      const regen = await server.ok(
        'mutation($input: RegenerateApiTokenInput!) { regenerateApiToken(input: $input) { secret } }',
        { input: { namespace: 'vault', name: 'ci', gracePeriodSeconds: grace } },
        aliceSession,
      );
      apiSecrets.push(regen.regenerateApiToken.secret);
    }
    // A token minted by a token (which may not outlive it).
    apiSecrets.push(await act.createApiToken(apiSecrets[1], { namespace: 'vault', name: 'child', role: 'VIEWER', expiresInDays: 7 }));
    await server.ok('mutation { updateApiToken(input: { namespace: "vault", name: "read", enabled: false }) { enabled } }', {}, aliceSession);
    await server.ok('mutation { revokeApiToken(input: { namespace: "vault", name: "deploy" }) { deleted } }', {}, aliceSession);

    // Personal access tokens, regenerated and revoked; an admin one.
    const patSecrets = [
      await act.createPersonalToken(aliceSession, { name: 'laptop', maxRole: 'EDITOR' }),
      await act.createPersonalToken(bobSession, { name: 'admin-cli', admin: true }),
      await act.createPersonalToken(admin, { name: 'ops' }),
    ];
    const regenPat = await server.ok('mutation { regeneratePersonalAccessToken(input: { name: "laptop", gracePeriodSeconds: 3600 }) { secret } }', {}, aliceSession);
    patSecrets.push(regenPat.regeneratePersonalAccessToken.secret);
    await server.ok('mutation { revokePersonalAccessToken(input: { name: "ops" }) { deleted } }', {}, admin);

    // Use each: successful, refused (disabled, revoked, regenerated) and cached paths all run,
    // each with the answer it must get.
    const VALID = 200;
    const GONE = 'token is not valid (unknown or revoked)';
    const uses: [label: string, secret: string, expected: typeof VALID | string][] = [
      ['ci, regenerated twice since', apiSecrets[0], GONE],
      ['deploy, revoked', apiSecrets[1], GONE],
      ['read, disabled', apiSecrets[2], 'token is disabled'],
      ['ci, regenerated since with an hour of grace', apiSecrets[3], VALID],
      ['ci, current', apiSecrets[4], VALID],
      ['child, made by deploy before it was revoked', apiSecrets[5], VALID],
      ['laptop, regenerated since with an hour of grace', patSecrets[0], VALID],
      ['admin-cli', patSecrets[1], VALID],
      ['ops, revoked', patSecrets[2], GONE],
      ['laptop, current', patSecrets[3], VALID],
      ["alice's session, which changed her password", aliceSession, VALID],
      ["bob's session", bobSession, VALID],
    ];
    expect(uses.map(([, secret]) => secret).sort()).toEqual([...apiSecrets, ...patSecrets, aliceSession, bobSession].sort());
    for (const [label, secret, expected] of uses) {
      expect(secret, label).toMatch(SECRET_SHAPE);
      const res = await act.whoami(secret);
      if (expected === VALID) expect(res.status, label).toBe(200);
      else {
        expect(res.status, label).toBe(401);
        expectGqlError(res, { code: 'UNAUTHENTICATED', message: expected });
      }
    }
    // Every one of them was collected by the harness for the leak check.
    for (const secret of [...apiSecrets, ...patSecrets, aliceSession, aliceSession2, bobSession, admin]) {
      expect(server.issuedSecrets.has(secret)).toBe(true);
    }
    expect(server.issuedSecrets.size).toBeGreaterThanOrEqual(14);
  });

  it('failed logins, even with a password that looks like a token, do not record the password', async () => {
    const tokenLike = generateSecret('PERSONAL');
    const plain = password('typed-wrong');
    sentNotIssued.push(tokenLike);
    passwords.push(plain);
    for (const [username, pw] of [
      ['alice', tokenLike],
      ['alice', plain],
      ['nobody', tokenLike],
    ]) {
      const res = await server.gql('mutation($input: LoginInput!) { login(input: $input) { token } }', { input: { username, password: pw } });
      expectGqlError(res, { code: 'UNAUTHENTICATED', message: 'invalid username or password' });
      expect(JSON.stringify(res.body)).not.toContain(pw);
    }
    // A mistyped bearer token and one that was never issued are refused and not logged either.
    const mistyped = server.adminToken.slice(0, -1) + (server.adminToken.endsWith('a') ? 'b' : 'a');
    const neverIssued = generateSecret('API');
    sentNotIssued.push(mistyped, neverIssued);
    expect((await act.whoami(mistyped)).status).toBe(401);
    expect((await act.whoami(neverIssued)).status).toBe(401);
    const logged = server.logs.join('\n');
    for (const s of [tokenLike, plain, mistyped, neverIssued]) expect(logged).not.toContain(s);
    // The failures were logged (as audit events), just without the secret.
    const failures = server.logs
      .flatMap((chunk) => chunk.split('\n'))
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.audit && entry.audit.outcome !== 'SUCCESS')
      .map((entry) => entry.audit.action);
    expect(failures).toContain('auth.login');
  });

  it('leaves no secret or password in the database file, its WAL, or the logs', async () => {
    // Checked while running (WAL not yet checkpointed) and after a clean close.
    const before = databaseBytes(server);
    expect(before.length).toBeGreaterThan(0);
    expect(findLeakedSecrets(server, [...passwords, ...sentNotIssued])).toEqual([]);
    await server.close();
    closed = true;
    expect(findLeakedSecrets(server, [...passwords, ...sentNotIssued])).toEqual([]);
    // The check can see what is in the file: names and hints are there.
    const after = databaseBytes(server);
    expect(after).toContain('alice');
    expect(after).toContain('token ci');
  });

  it('keeps only hashes: scrypt for passwords, SHA-256 for tokens, and audit events free of secrets', () => {
    withDatabase(server, (db) => {
      const users = db.prepare('select username, password_hash from users').all() as { username: string; password_hash: string | null }[];
      for (const user of users.filter((u) => u.password_hash !== null)) expect(user.password_hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$/);
      expect(users.filter((u) => u.password_hash !== null).map((u) => u.username).sort()).toEqual(['alice', 'bob']);

      const tokens = db.prepare('select * from tokens').all() as Record<string, unknown>[];
      // bootstrap, 3 sessions, 4 API tokens, 3 personal tokens (regenerating replaces a secret in place).
      expect(tokens.length).toBe(11);
      for (const row of tokens) expect(String(row.secret_hash)).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const events = db.prepare('select * from audit_events order by seq').all() as Record<string, unknown>[];
      const actions = new Set(events.map((e) => `${e.action}:${e.outcome}`));
      // Every failed authentication is in the trail (a refused login, a refused token).
      expect(events.some((e) => e.action === 'auth.login' && e.outcome !== 'SUCCESS')).toBe(true);
      expect(events.some((e) => e.outcome !== 'SUCCESS' && String(e.action).startsWith('auth.') && e.action !== 'auth.login')).toBe(true);
      for (const expected of [
        'instance.bootstrap:SUCCESS',
        'user.create:SUCCESS',
        'user.set_password:SUCCESS',
        'auth.login:SUCCESS',
        'auth.logout:SUCCESS',
        'apitoken.create:SUCCESS',
        'apitoken.regenerate:SUCCESS',
        'apitoken.revoke:SUCCESS',
        'personaltoken.create:SUCCESS',
        'personaltoken.regenerate:SUCCESS',
      ]) {
        expect(actions, expected).toContain(expected);
      }
      const secrets = [...server.issuedSecrets, ...sentNotIssued, ...passwords];
      expect(secrets.length).toBeGreaterThanOrEqual(20);
      const leaks = events.flatMap((event) => {
        const text = JSON.stringify(event);
        return secrets.filter((s) => text.includes(s)).map((s) => `${event.action}: ${s.slice(0, 8)}…`);
      });
      expect(leaks).toEqual([]);
      // Nothing token-shaped at all, in any column of any table.
      const tables = (db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((t) => t.name);
      for (const table of tables) {
        const text = JSON.stringify(db.prepare(`select * from "${table}"`).all());
        expect(text.match(/sg[tps]_[0-9A-Za-z]{36}/g), table).toBeNull();
      }
    });
  });
});
