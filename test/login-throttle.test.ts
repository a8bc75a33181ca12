import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { codeOf, startTestServer, type TestServer } from './helpers/server.js';

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
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.errors![0].message).toMatch(/^too many failed logins: try again in \d+ seconds$/);
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
