import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, startTestServer, type TestServer } from './helpers/server.js';

describe('login brute-force protection', () => {
  let server: TestServer;
  const login = (username: string, password: string) =>
    server.gql('mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username, password } });

  beforeAll(async () => {
    server = await startTestServer();
    await actions(server).createUser('target', 'right-password-123');
    await actions(server).createUser('bystander', 'right-password-456');
  });
  afterAll(() => server.close());

  it('refuses further logins for a username after 10 failures, even with the right password', async () => {
    for (let i = 0; i < 10; i++) expect(codeOf(await login('target', `guess-${i}-xxxxxx`))).toBe('UNAUTHENTICATED');
    const limited = await login('target', 'right-password-123');
    expectGqlError(limited, { code: 'RATE_LIMITED', message: /^too many failed logins: try again in \d+ seconds$/ });
    expect(limited.errors![0].extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.data).toBeNull();
  });

  it('does not lock out other users, and a success clears the count', async () => {
    for (let i = 0; i < 5; i++) await login('bystander', `guess-${i}-yyyyyy`);
    expect(codeOf(await login('bystander', 'right-password-456'))).toBeUndefined();
    for (let i = 0; i < 9; i++) await login('bystander', `guess-${i}-zzzzzz`);
    expect(codeOf(await login('bystander', 'right-password-456'))).toBeUndefined();
  });

  it('records the refusals in the audit trail, folded', async () => {
    const res = await server.ok('{ auditEvents(first: 100, filter: { action: "auth.login", outcome: DENIED }) { edges { node { target details } } } }', {}, server.adminToken);
    const reasons = res.auditEvents.edges.filter((e: any) => e.node.target === 'users/target').map((e: any) => JSON.parse(e.node.details).reason);
    expect(reasons.sort()).toEqual(['invalid username or password', 'rate limited']);
  });
});

// A server of its own: its hundred slow logins would close the folding windows the trail test above reads.
describe('login brute-force protection per address', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    await actions(server).createUser('roamer', 'right-password-789');
  });
  afterAll(() => server.close());

  it('refuses an address that tried 100 usernames, even with a right password, and no other address', async () => {
    // README: besides 10 per username and address, at most 100 failed logins per address.
    const PER_ADDRESS = 100;
    const guesser = server.fromAddress('127.0.0.2');
    const loginFrom = (client: typeof guesser, username: string, password: string) =>
      client.gql('mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username, password } });
    // Each name once, so neither the username nor the username+address limit is near.
    const guesses = await Promise.all(Array.from({ length: PER_ADDRESS }, (_, i) => loginFrom(guesser, `nobody-${i}`, 'a-guessed-password')));
    expect(guesses.map(codeOf)).toEqual(Array(PER_ADDRESS).fill('UNAUTHENTICATED'));

    const spent = await loginFrom(guesser, 'roamer', 'right-password-789');
    expect(codeOf(spent)).toBe('RATE_LIMITED');
    expect(spent.data).toBeNull();
    const elsewhere = await loginFrom(server.fromAddress('127.0.0.3'), 'roamer', 'right-password-789');
    expect(codeOf(elsewhere)).toBeUndefined();
    expect(elsewhere.data.login.token).toMatch(/^sgs_/);
    // A hundred scrypt checks (the limits are fixed in src/auth/login-throttle.ts), on a busy machine.
  }, 300_000);
});
