/**
 * Failed authentications are folded so a flood stays a few events, but the fold names what
 * was attacked: a decoy login cannot hide the real target, and a flood of random names past
 * the first twenty becomes one event that counts them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/auth/secrets.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

type Event = { target: string | null; details: Record<string, any> };

async function denied(action: string): Promise<Event[]> {
  // Folded counts are written when their window closes; flush closes them now.
  await server.gate.app.authFailures.flush();
  const data = await server.ok(
    'query($a: String!) { auditEvents(first: 100, filter: { action: $a, outcome: DENIED }) { edges { node { target details } } } }',
    { a: action },
    server.adminToken,
  );
  return data.auditEvents.edges.map((e: any) => ({ target: e.node.target, details: JSON.parse(e.node.details) }));
}

const login = (username: string) =>
  server.gql('mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username, password: 'not-the-password-1' } });

describe('folds name the target', () => {
  it('a decoy login first does not fold the real target under the decoy', async () => {
    await login('decoy');
    for (let i = 0; i < 3; i++) await login('admin');
    const events = await denied('auth.login');
    const counts = (target: string) => events.filter((e) => e.target === target).reduce((sum, e) => sum + e.details.count, 0);
    // A name no account has is not recorded (it may be a password typed in the wrong field).
    expect(counts('users/(unknown)')).toBe(1);
    expect(counts('users/admin')).toBe(3);
  });

  it('a flood of 200 random well-formed tokens stays a few events, naming 20 and counting the rest', async () => {
    const before = (await denied('auth.failed')).length;
    for (let i = 0; i < 200; i++) {
      const res = await server.gql('{ viewer { kind } }', {}, generateSecret('API'));
      expect(res.status).toBe(401);
    }
    // Newest first: what the flood added comes before what was there.
    const all = await denied('auth.failed');
    const events = all.slice(0, all.length - before);
    const named = events.filter((e) => e.details.hint);
    const unnamed = events.filter((e) => !e.details.hint);
    expect(named).toHaveLength(20);
    expect(unnamed.length).toBeLessThanOrEqual(2);
    expect(unnamed.reduce((sum, e) => sum + e.details.count, 0)).toBe(180);
    expect(unnamed.find((e) => e.details.folded)?.details.distinctTargets).toBe(180);
    expect(events.length).toBeLessThanOrEqual(22);
  });
});
