import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, findLeakedSecrets, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

/**
 * Many requests at once against the same row: each mutation is one transaction, so the
 * outcome is as if they ran one after another, with clean refusals for the losers.
 */

const N = 20;

/** Every response is a success or a clean, coded refusal: never a 500 or an internal error. */
function expectCleanOutcome(res: GqlResponse, allowed: string[]) {
  expect(res.status).toBe(200);
  expect(JSON.stringify(res.body)).not.toContain('INTERNAL_SERVER_ERROR');
  if (res.errors) {
    expect(res.errors).toHaveLength(1);
    expect(allowed).toContain(codeOf(res));
  }
}

describe('concurrent mutations', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let owner: string;

  beforeAll(async () => {
    // Storms of 20 concurrent mutations by one user, one after another: near the default mutation limit on a fast machine.
    server = await startTestServer({ SCOPEGATE_MUTATION_LIMIT: '1000' });
    act = actions(server);
    await act.createUser('cora');
    owner = await act.login('cora');
    await act.createNamespace(owner, 'race');
  });
  afterAll(async () => {
    await server?.close();
    expect(findLeakedSecrets(server)).toEqual([]);
  });

  it(`regenerating one token from ${N} concurrent requests leaves exactly one working secret`, async () => {
    const original = await act.createApiToken(owner, { namespace: 'race', name: 'hot', role: 'EDITOR' });
    expect((await act.whoami(original)).status).toBe(200); // cached before the storm
    const results = await Promise.all(
      Array.from({ length: N }, () =>
        server.gql('mutation { regenerateApiToken(input: { namespace: "race", name: "hot" }) { secret apiToken { secretHint } } }', {}, owner),
      ),
    );
    for (const res of results) expectCleanOutcome(res, ['CONFLICT']);
    const secrets = results.filter((r) => !r.errors).map((r) => r.data.regenerateApiToken.secret as string);
    expect(secrets.length).toBeGreaterThanOrEqual(1);
    expect(new Set(secrets).size).toBe(secrets.length);

    const statuses = await Promise.all([original, ...secrets].map(async (s) => [s, (await act.whoami(s)).status] as const));
    const working = statuses.filter(([, status]) => status === 200).map(([s]) => s);
    expect(working).toHaveLength(1);
    expect(statuses.filter(([, status]) => status !== 200).every(([, status]) => status === 401)).toBe(true);
    const current = (await server.ok('{ namespace(name: "race") { apiToken(name: "hot") { secretHint } } }', {}, owner)).namespace.apiToken.secretHint;
    expect(current).toBe(`sgt_…${working[0].slice(-4)}`);
    expect(working[0]).not.toBe(original);
    // It still is the same token, with its role.
    expect((await server.ok('{ viewer { apiToken { name } roleIn(namespace: "race") } }', {}, working[0])).viewer).toEqual({ apiToken: { name: 'hot' }, roleIn: 'EDITOR' });
  });

  it(`regenerating ${N} times at once with a grace period keeps exactly the current and the one before it`, async () => {
    const original = await act.createApiToken(owner, { namespace: 'race', name: 'graceful', role: 'VIEWER' });
    const results = await Promise.all(
      Array.from({ length: N }, () =>
        server.gql('mutation { regenerateApiToken(input: { namespace: "race", name: "graceful", gracePeriodSeconds: 600 }) { secret } }', {}, owner),
      ),
    );
    for (const res of results) expectCleanOutcome(res, ['CONFLICT']);
    const secrets = results.filter((r) => !r.errors).map((r) => r.data.regenerateApiToken.secret as string);
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    const statuses = await Promise.all([original, ...secrets].map(async (s) => [s, (await act.whoami(s)).status] as const));
    const working = statuses.filter(([, status]) => status === 200).map(([s]) => s);
    expect(working).toHaveLength(2);
    const current = (await server.ok('{ namespace(name: "race") { apiToken(name: "graceful") { secretHint } } }', {}, owner)).namespace.apiToken.secretHint;
    expect(working.map((s) => `sgt_…${s.slice(-4)}`)).toContain(current);
  });

  it(`${N} concurrent createApiToken with the same name: exactly one succeeds, the others are CONFLICT`, async () => {
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        server.gql(
          'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { description } } }',
          { input: { namespace: 'race', name: 'same-name', role: 'VIEWER', description: `attempt ${i}` } },
          owner,
        ),
      ),
    );
    for (const res of results) expectCleanOutcome(res, ['CONFLICT']);
    const winners = results.filter((r) => !r.errors);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => r.errors);
    expect(losers).toHaveLength(N - 1);
    for (const res of losers) expectGqlError(res, { code: 'CONFLICT', message: 'a token named "same-name" already exists here; choose another name or revoke it first' });

    const listed = await server.ok('{ namespace(name: "race") { apiTokens(first: 100) { edges { node { name description } } } } }', {}, owner);
    const same = listed.namespace.apiTokens.edges.map((e: any) => e.node).filter((t: any) => t.name === 'same-name');
    expect(same).toEqual([{ name: 'same-name', description: winners[0].data.createApiToken.apiToken.description }]);
    expect((await act.whoami(winners[0].data.createApiToken.secret)).status).toBe(200);
  });

  it(`${N} concurrent createNamespace with the same name: exactly one owner`, async () => {
    const users = Array.from({ length: 5 }, (_, i) => `racer${i}`);
    for (const u of users) await act.createUser(u);
    const sessions = await Promise.all(users.map((u) => act.login(u)));
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => server.gql('mutation { createNamespace(input: { name: "contested" }) { name viewerRole } }', {}, sessions[i % sessions.length])),
    );
    for (const res of results) expectCleanOutcome(res, ['CONFLICT']);
    const winners = results.map((r, i) => [r, users[i % users.length]] as const).filter(([r]) => !r.errors);
    expect(winners).toHaveLength(1);
    const members = await server.ok('{ namespace(name: "contested") { members { edges { node { role user { username } } } } } }', {}, server.adminToken);
    expect(members.namespace.members.edges).toEqual([{ node: { role: 'OWNER', user: { username: winners[0][1] } } }]);
  });

  it('two owners demoting each other at once: one wins, the namespace keeps an owner', async () => {
    await act.createUser('dana');
    const dana = await act.login('dana');
    await act.createNamespace(owner, 'duel');
    await act.setRole(owner, 'duel', 'dana', 'OWNER');
    const [a, b] = await Promise.all([
      server.gql('mutation { setMemberRole(input: { namespace: "duel", username: "dana", role: VIEWER }) { role } }', {}, owner),
      server.gql('mutation { setMemberRole(input: { namespace: "duel", username: "cora", role: VIEWER }) { role } }', {}, dana),
    ]);
    for (const res of [a, b]) expectCleanOutcome(res, ['CONFLICT', 'FORBIDDEN']);
    expect([a, b].filter((r) => !r.errors)).toHaveLength(1);
    const members = await server.ok('{ namespace(name: "duel") { members { edges { node { role } } } } }', {}, server.adminToken);
    expect(members.namespace.members.edges.map((e: any) => e.node.role).sort()).toEqual(['OWNER', 'VIEWER']);
  });

  it('two administrators demoting each other at once: one wins, an active administrator remains', async () => {
    await act.createUser('second-admin', 'a-long-password-1', true);
    const second = await act.login('second-admin');
    const [a, b] = await Promise.all([
      server.gql('mutation { updateUser(input: { username: "second-admin", isAdmin: false }) { isAdmin } }', {}, server.adminToken),
      server.gql('mutation { updateUser(input: { username: "admin", isAdmin: false }) { isAdmin } }', {}, second),
    ]);
    for (const res of [a, b]) expectCleanOutcome(res, ['CONFLICT', 'FORBIDDEN']);
    expect([a, b].filter((r) => !r.errors)).toHaveLength(1);
    const users = await server.ok('{ users(first: 100) { edges { node { username isAdmin disabled } } } }', {}, a.errors ? second : server.adminToken);
    const admins = users.users.edges.map((e: any) => e.node).filter((u: any) => u.isAdmin && !u.disabled);
    expect(admins).toHaveLength(1);
  });
});
