/**
 * setPassword as a signed-in caller may abuse it (issue 8): guessing the current password
 * is throttled like login, a change never stalls the requests of others, and two changes
 * racing on one account never both land. Real server, real HTTP, real scrypt.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { codeOf, startTestServer, type TestServer } from './helpers/server.js';

const PASSWORD = 'a-long-password-1';
const SET_PASSWORD = 'mutation($i: SetPasswordInput!) { setPassword(input: $i) }';
/** The login throttle's limit per username and address (src/auth/login-throttle.ts). */
const LOGIN_LIMIT = 10;

describe('guessing the current password', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  beforeAll(async () => {
    server = await startTestServer();
    act = actions(server);
  });
  afterAll(() => server?.close());

  const setPassword = (token: string, input: Record<string, unknown>) => server.gql(SET_PASSWORD, { i: input }, token);
  const login = (username: string, password: string) =>
    server.gql('mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username, password } });

  it('is throttled with login: of 25 concurrent guesses at most the limit are checked, then the right one is refused too', async () => {
    await act.createUser('guessed');
    const session = await act.login('guessed');
    const guesses = Array.from({ length: 25 }, (_, i) => `wrong-guess-${i}-xxxx`);
    const results = await Promise.all(guesses.map((g) => setPassword(session, { currentPassword: g, newPassword: 'a-brand-new-password-2' })));
    const codes = results.map(codeOf);
    expect(codes.filter((c) => c === 'BAD_USER_INPUT').length).toBeLessThanOrEqual(LOGIN_LIMIT);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(25 - LOGIN_LIMIT);
    expect(codes.every((c) => c === 'BAD_USER_INPUT' || c === 'RATE_LIMITED')).toBe(true);

    // The same account key as login: the right password, by setPassword or login, waits for the window.
    const right = await setPassword(session, { currentPassword: PASSWORD, newPassword: 'a-brand-new-password-2' });
    expect(codeOf(right)).toBe('RATE_LIMITED');
    expect(right.errors![0].extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect(codeOf(await login('guessed', PASSWORD))).toBe('RATE_LIMITED');

    // Every refusal is in the trail.
    const trail = await server.ok(
      '{ auditEvents(first: 100, filter: { action: "user.set_password", target: "users/guessed" }) { edges { node { outcome details } } } }',
      {},
      server.adminToken,
    );
    const recorded = trail.auditEvents.edges.map((e: any) => JSON.parse(e.node.details).code);
    expect(recorded).toHaveLength(26);
    expect(recorded.filter((c: string) => c === 'RATE_LIMITED').length).toBe(codes.filter((c) => c === 'RATE_LIMITED').length + 1);
  });

  it('a right current password gives its attempt back: a user who mistyped a few times is not locked out', async () => {
    await act.createUser('typo');
    const session = await act.login('typo');
    for (let i = 0; i < LOGIN_LIMIT - 1; i++) {
      expect(codeOf(await setPassword(session, { currentPassword: `typo-${i}-xxxxxxxx`, newPassword: 'a-brand-new-password-2' }))).toBe('BAD_USER_INPUT');
    }
    expect((await setPassword(session, { currentPassword: PASSWORD, newPassword: 'a-brand-new-password-2' })).data).toEqual({ setPassword: true });
    expect(codeOf(await login('typo', 'a-brand-new-password-2'))).toBeUndefined();
  });

  it('two changes racing with the same current password: exactly one lands, the other is told so', async () => {
    await act.createUser('racer');
    const session = await act.login('racer');
    const candidates = ['first-new-password-1', 'second-new-password-2'];
    const results = await Promise.all(candidates.map((newPassword) => setPassword(session, { currentPassword: PASSWORD, newPassword })));
    const won = results.findIndex((r) => r.data?.setPassword === true);
    const lost = 1 - won;
    expect(won).toBeGreaterThanOrEqual(0);
    // CONFLICT when both checked the old password; BAD_USER_INPUT if the loser checked after the winner committed.
    expect(['CONFLICT', 'BAD_USER_INPUT']).toContain(codeOf(results[lost]));
    expect(codeOf(await login('racer', candidates[won]))).toBeUndefined();
    expect(codeOf(await login('racer', candidates[lost]))).toBe('UNAUTHENTICATED');
  });
});

describe('a burst of password changes', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  beforeAll(async () => {
    server = await startTestServer();
    act = actions(server);
  });
  afterAll(() => server?.close());

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ms = (x: number) => `${x.toFixed(1)} ms`;

  it('does not hold up the reads of others: they are not served after all the changes', { timeout: 120_000 }, async () => {
    const USERS = 30;
    const READS = 20;
    const names = Array.from({ length: USERS }, (_, i) => `changer-${i}`);
    await Promise.all([...names, 'reader'].map((name) => act.createUser(name)));
    const sessions = await Promise.all(names.map((name) => act.login(name)));
    const reader = await act.login('reader');
    // A read that reaches the database (the user row), not only the cached principal.
    const read = async () => {
      const started = performance.now();
      const res = await server.gql('{ viewer { kind user { username } } }', {}, reader);
      expect(res.errors).toBeUndefined();
      return performance.now() - started;
    };
    await Promise.all(sessions.map((s) => act.whoami(s))); // every principal cached, as in steady use
    const idle: number[] = [];
    for (let i = 0; i < READS; i++) idle.push(await read());

    let lastChange = 0;
    const changes = Promise.all(
      sessions.map(async (session, i) => {
        const res = await server.gql(SET_PASSWORD, { i: { currentPassword: PASSWORD, newPassword: `changed-password-${i}` } }, session);
        lastChange = Math.max(lastChange, performance.now());
        return res;
      }),
    );
    const started = performance.now();
    const busy: number[] = [];
    for (let i = 0; i < READS; i++) busy.push(await read());
    const lastRead = performance.now();
    const results = await changes;
    expect(results.map((r) => r.errors?.[0]?.message ?? r.data.setPassword)).toEqual(names.map(() => true));

    console.info(
      `reads of { viewer { kind user { username } } }: idle median ${ms(median(idle))}, max ${ms(Math.max(...idle))}; ` +
        `during ${USERS} password changes median ${ms(median(busy))}, max ${ms(Math.max(...busy))}; ` +
        `${READS} reads done after ${ms(lastRead - started)}, the changes after ${ms(lastChange - started)}`,
    );
    // Serialised behind the changes, the last read would come after the last change.
    expect(lastRead).toBeLessThan(lastChange);
  });
});
