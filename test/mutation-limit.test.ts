/**
 * The mutation limit (issue 8, finding 4): SCOPEGATE_MUTATION_LIMIT mutation fields per
 * window for each user (all their sessions and personal tokens together) and each API token.
 * An operation is counted whole before anything runs: over the limit it is refused with 429,
 * Retry-After and RATE_LIMITED, and nothing of it is applied. Administrators are not limited;
 * refusals fold into few audit events.
 *
 * The window is an hour here, so that no assertion depends on how fast this machine is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from './helpers/db.js';
import { actions, PASSWORD } from './helpers/fixtures.js';
import { expectGqlError, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

const LIMIT = 5;
const WINDOW_SECONDS = 3600;
const ENV = { SCOPEGATE_MUTATION_LIMIT: String(LIMIT), SCOPEGATE_MUTATION_WINDOW_SECONDS: String(WINDOW_SECONDS) };

/** One operation creating a namespace per name, each under an alias. */
const createNamespaces = (names: string[]) =>
  `mutation { ${names.map((n, i) => `n${i}: createNamespace(input: { name: "${n}" }) { name }`).join(' ')} }`;

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function expectLimited(res: GqlResponse) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  const error = expectGqlError(res, { code: 'RATE_LIMITED', message: /SCOPEGATE_MUTATION_LIMIT/ });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `Retry-After ${retryAfter}`).toBe(true);
  expect(error.extensions!.retryAfterSeconds).toBe(retryAfter);
  expect(res.data ?? null).toBeNull();
}

describe(`the mutation limit (${LIMIT} per window)`, () => {
  let server: TestServer;
  let s: ReturnType<typeof actions>;

  const user = async (username: string) => {
    await s.createUser(username);
    return s.login(username); // logging in is not counted
  };
  const existing = async (namespaces: string[]) => {
    const found = await Promise.all(namespaces.map((n) => server.ok('query($n: String!) { namespace(name: $n) { name } }', { n }, server.adminToken)));
    return found.filter((r) => r.namespace).map((r) => r.namespace.name);
  };

  beforeAll(async () => {
    server = await startTestServer(ENV);
    s = actions(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('an aliased batch over the limit is refused whole, fragments included; one that fits runs', async () => {
    const batcher = await user('batcher');
    const six = names('six', 6);
    // Two direct fields, two through a fragment, two through an inline fragment.
    const batch = `mutation {
      a: createNamespace(input: { name: "${six[0]}" }) { name }
      b: createNamespace(input: { name: "${six[1]}" }) { name }
      ...More
      ... on Mutation { e: createNamespace(input: { name: "${six[4]}" }) { name } f: createNamespace(input: { name: "${six[5]}" }) { name } }
    }
    fragment More on Mutation { c: createNamespace(input: { name: "${six[2]}" }) { name } d: createNamespace(input: { name: "${six[3]}" }) { name } }`;
    const refused = await server.gql(batch, {}, batcher);
    expectLimited(refused);
    expect(refused.errors![0].message).toMatch(/6 mutation fields, more than the 5 allowed/);
    expect(await existing(six)).toEqual([]);

    // A refused operation cost nothing: five still fit.
    const five = names('five', 5);
    expect(Object.keys((await server.ok(createNamespaces(five), {}, batcher)) as object)).toHaveLength(5);
    expect(await existing(five)).toEqual(five);

    const sixth = await server.gql(createNamespaces(['one-more']), {}, batcher);
    expectLimited(sixth);
    expect(sixth.errors![0].message).toMatch(/1 mutation field and 0 of 5 per 3600 s are left/);
    expect(await existing(['one-more'])).toEqual([]);

    // Reads and logging in are not limited.
    expect((await server.gql('{ viewer { kind } }', {}, batcher)).status).toBe(200);
    expect((await server.gql('{ viewer { kind } }', {}, await s.login('batcher'))).status).toBe(200);
  });

  it('fields that @skip leaves out are not counted; a repeated response key runs, and counts, once', async () => {
    const skipper = await user('skipper');
    const query = `mutation($no: Boolean!) {
      ${names('kept', 4).map((n, i) => `k${i}: createNamespace(input: { name: "${n}" }) { name }`).join(' ')}
      k0: createNamespace(input: { name: "kept-0" }) { name }
      skipped: createNamespace(input: { name: "skipped" }) @skip(if: true) { name }
      alsoSkipped: createNamespace(input: { name: "also-skipped" }) @include(if: $no) { name }
      last: createNamespace(input: { name: "kept-4" }) { name }
    }`;
    await server.ok(query, { no: false }, skipper);
    expect(await existing([...names('kept', 5), 'skipped', 'also-skipped'])).toEqual(names('kept', 5));
    expectLimited(await server.gql(createNamespaces(['kept-5']), {}, skipper));
  });

  it("a user's sessions and personal tokens share one budget", async () => {
    const session = await user('sharer');
    const first = (await s.personalToken(session, { name: 'first' })).secret;
    const second = (await s.personalToken(session, { name: 'second' })).secret; // 2 of 5 spent
    await server.ok(createNamespaces(['shared-0', 'shared-1']), {}, first); // 4
    await server.ok(createNamespaces(['shared-2']), {}, second); // 5
    // Each token has spent at most two itself; together with the session they spent all five.
    for (const token of [second, first, session]) expectLimited(await server.gql(createNamespaces(['shared-3']), {}, token));
    const third = await server.gql('mutation { createPersonalAccessToken(input: { name: "third" }) { secret } }', {}, session);
    expectLimited(third);
  });

  it('an API token has a budget of its own, apart from its creator', async () => {
    const owner = await user('ci-owner');
    await s.createNamespace(owner, 'ci');
    const { secret: ci } = await s.apiToken(owner, { namespace: 'ci', name: 'pipeline', role: 'OWNER' }); // the owner spent 2
    const tokens = (prefix: string, n: number) =>
      `mutation { ${names(prefix, n).map((n, i) => `t${i}: createApiToken(input: { namespace: "ci", name: "${n}", role: VIEWER }) { secret }`).join(' ')} }`;
    await server.ok(tokens('by-ci', 5), {}, ci);
    expectLimited(await server.gql(tokens('by-ci-more', 1), {}, ci));
    await server.ok(tokens('by-owner', 3), {}, owner);
    expectLimited(await server.gql(tokens('by-owner-more', 1), {}, owner));
  });

  it('administrators are not limited, but a token of theirs without administrator rights is', async () => {
    for (let round = 0; round < 3; round++) await server.ok(createNamespaces(names(`admin-${round}`, 10)), {}, server.adminToken);
    await server.ok('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username: 'ada', password: PASSWORD, isAdmin: true } }, server.adminToken);
    const ada = await s.login('ada');
    for (let round = 0; round < 3; round++) await server.ok(createNamespaces(names(`ada-${round}`, 10)), {}, ada);
    const { secret: plain } = await s.personalToken(ada, { name: 'no-admin-rights' });
    await server.ok(createNamespaces(names('ada-plain', 5)), {}, plain);
    expectLimited(await server.gql(createNamespaces(['ada-plain-5']), {}, plain));
  });
});

describe('refusals in the audit trail', () => {
  it('fold into one event per caller and window, with a count', async () => {
    const server = await startTestServer(ENV);
    const s = actions(server);
    await s.createUser('hammer');
    const hammer = await s.login('hammer');
    await server.ok(createNamespaces(names('hammered', 5)), {}, hammer);
    const REFUSALS = 8;
    for (let i = 0; i < REFUSALS; i++) expectLimited(await server.gql(createNamespaces([`again-${i}`]), {}, hammer));

    const written = await server.ok('{ auditEvents(filter: { action: "mutation.rate_limited" }) { edges { node { outcome actor { kind name } details } } } }', {}, server.adminToken);
    expect(written.auditEvents.edges.map((e: any) => e.node)).toEqual([
      { outcome: 'DENIED', actor: { kind: 'USER_SESSION', name: 'user:hammer' }, details: expect.stringContaining('"count":1') },
    ]);

    // The rest are written, as one event, when the window closes or the server stops.
    await server.close();
    withDatabase(server, (db) => {
      const rows = db.prepare("SELECT actor_name, details FROM audit_events WHERE action = 'mutation.rate_limited' ORDER BY seq").all() as { actor_name: string; details: string }[];
      expect(rows.every((r) => r.actor_name === 'user:hammer')).toBe(true);
      expect(rows.length).toBeLessThan(REFUSALS / 2);
      expect(rows.reduce((sum, r) => sum + JSON.parse(r.details).count, 0)).toBe(REFUSALS);
    });
  });

});

describe('turned off', () => {
  it('SCOPEGATE_MUTATION_LIMIT=0 turns the limit off', async () => {
    // More than the default 100 per window; the namespace quota is raised out of the way.
    const server = await startTestServer({ SCOPEGATE_MUTATION_LIMIT: '0', SCOPEGATE_QUOTA_NAMESPACES_PER_USER: '1000' });
    try {
      const s = actions(server);
      await s.createUser('unlimited');
      const token = await s.login('unlimited');
      for (let round = 0; round < 11; round++) await server.ok(createNamespaces(names(`free-${round}`, 10)), {}, token);
    } finally {
      await server.close();
    }
  });
});
