/**
 * `npm run admin:token`: a way back in when the first-start token is lost, run on the
 * server's machine against the server's own database while it serves.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify, runScript } from './helpers/scripts.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const KEY = randomBytes(32).toString('base64');
let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer({ SCOPEGATE_MASTER_KEY: KEY });
  env = { DATABASE_URL: server.dbFile, SCOPEGATE_DATA_DIR: server.dir, SCOPEGATE_MASTER_KEY: KEY };
});
afterAll(() => server?.close());

describe('npm run admin:token', () => {
  it('prints a new administrator token, once, that works on the running server and expires in a day', async () => {
    const run = await runScript('admin:token', env);
    expect(run.code, run.output).toBe(0);
    const secret = run.stdout.trim();
    expect(secret).toMatch(/^sgp_[0-9A-Za-z]{36}$/);
    expect(run.stderr).not.toContain(secret);
    const me = await server.ok('{ viewer { isAdmin user { username } personalAccessToken { expiresAt } } }', {}, secret);
    expect(me.viewer).toMatchObject({ isAdmin: true, user: { username: 'admin' } });
    const hours = (Date.parse(me.viewer.personalAccessToken.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23);
    expect(hours).toBeLessThanOrEqual(24);
  });

  it('records user.token_recovered by system:cli, and the chain stays intact', async () => {
    const events = await server.ok('{ auditEvents(first: 5, filter: { action: "user.token_recovered" }) { edges { node { actor { name } target details } } } }', {}, server.adminToken);
    expect(events.auditEvents.edges[0].node).toMatchObject({ actor: { name: 'system:cli' }, target: 'users/admin' });
    expect(JSON.stringify(events)).not.toMatch(/sgp_[0-9A-Za-z]{36}/);
    const verify = await auditVerify(env);
    expect(verify.code, verify.output).toBe(0);
  });

  it('--expires-in sets the lifetime; a user who is not an active administrator is refused', async () => {
    const week = await runScript('admin:token', env, ['--expires-in', '7']);
    expect(week.code, week.output).toBe(0);
    const days = (Date.parse((await server.ok('{ viewer { personalAccessToken { expiresAt } } }', {}, week.stdout.trim())).viewer.personalAccessToken.expiresAt) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(7);
    await server.ok('mutation { createUser(input: { username: "plain", password: "a-long-password-1" }) { id } }', {}, server.adminToken);
    const plain = await runScript('admin:token', env, ['--user', 'plain']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/"plain" is not an active administrator/);
    expect(plain.stdout).toBe('');
  });

  it('refuses, saying why, when the database cannot be reached or the key is not the server\'s', async () => {
    const unreachable = await runScript('admin:token', { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/database at DATABASE_URL cannot be reached/);
    const wrongKey = await runScript('admin:token', { ...env, SCOPEGATE_MASTER_KEY: randomBytes(32).toString('base64') });
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/\bk1\b/);
    expect(wrongKey.stdout).toBe('');
  });
});
