import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/auth/secrets.js';
import { movableClock } from './helpers/clock.js';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, findLeakedSecrets, startTestServer, type TestServer } from './helpers/server.js';

const TOKEN_FIELDS = 'id name resourceName role description enabled expiresAt expired createdAt updatedAt lastUsedAt secretHint secretRotatedAt createdBy { username }';

describe('namespace API token lifecycle, as a user of the seeds does it', () => {
  const HOUR = 3_600_000;
  const clock = movableClock();
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let owner: string;

  beforeAll(async () => {
    server = await startTestServer({}, undefined, { now: clock.now });
    act = actions(server);
    await act.createUser('olivia');
    owner = await act.login('olivia');
    await act.createNamespace(owner, 'default');
  });
  afterAll(async () => {
    await server.close();
    expect(findLeakedSecrets(server)).toEqual([]);
  });

  const viewerOf = (token: string) => act.whoami(token);

  it('creates a token whose secret is shown once and works as a bearer token', async () => {
    const res = await server.ok(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { ${TOKEN_FIELDS} } } }`,
      { input: { namespace: 'default', name: 'ci-token', role: 'EDITOR', description: 'CI pipeline', expiresInDays: 30 } },
      owner,
    );
    const { secret, apiToken } = res.createApiToken;
    expect(secret).toMatch(/^sgt_[0-9A-Za-z]{36}$/);
    expect(apiToken).toMatchObject({
      name: 'ci-token',
      resourceName: 'namespaces/default/apitokens/ci-token',
      role: 'EDITOR',
      description: 'CI pipeline',
      enabled: true,
      expired: false,
      lastUsedAt: null,
      secretRotatedAt: null,
      secretHint: `sgt_…${secret.slice(-4)}`,
      createdBy: { username: 'olivia' },
    });
    const days = (Date.parse(apiToken.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const me = await viewerOf(secret);
    expect(me.status).toBe(200);
    expect(me.data.viewer).toMatchObject({ kind: 'API_TOKEN', isAdmin: false, user: null, apiToken: { name: 'ci-token' } });
    const role = await server.ok('{ viewer { here: roleIn(namespace: "default") elsewhere: roleIn(namespace: "nope") } }', {}, secret);
    expect(role.viewer).toEqual({ here: 'EDITOR', elsewhere: null });

    // The secret is never readable again: no field of the type carries it.
    const listed = await server.ok('{ namespace(name: "default") { apiTokens { edges { node { name secretHint } } } } }', {}, owner);
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  it('records lastUsedAt off the response path, at most once a minute', async () => {
    const secret = await act.createApiToken(owner, { namespace: 'default', name: 'used', role: 'VIEWER' });
    const marker = await act.createApiToken(owner, { namespace: 'default', name: 'used-marker', role: 'VIEWER' });
    const lastUsed = async () => {
      const data = await server.ok('{ namespace(name: "default") { used: apiToken(name: "used") { lastUsedAt } marker: apiToken(name: "used-marker") { lastUsedAt } } }', {}, owner);
      return { used: data.namespace.used.lastUsedAt as string | null, marker: data.namespace.marker.lastUsedAt as string | null };
    };
    /** Polls (the write is off the response path) until `done`; fails after 10 s. */
    const until = async (done: (seen: Awaited<ReturnType<typeof lastUsed>>) => boolean) => {
      for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 20))) {
        const seen = await lastUsed();
        if (done(seen)) return seen;
        if (Date.now() > deadline) throw new Error(`lastUsedAt never got there: ${JSON.stringify(seen)}`);
      }
    };

    await viewerOf(secret);
    const first = (await until((seen) => seen.used !== null)).used!;
    // Used again 30 s later (by the server's clock): within the minute, nothing is written.
    // The marker's first use comes after it; writes run in the order their uses came (one queue
    // of callbacks, one database connection), so once the marker's is in, a second write of
    // "used" would be too, and would read 30 s later.
    clock.advance(30_000);
    await viewerOf(secret);
    await viewerOf(marker);
    const after = await until((seen) => seen.marker !== null);
    expect(after.used).toBe(first);
    // Past the minute, a use is written again.
    clock.advance(31_000);
    await viewerOf(secret);
    const later = await until((seen) => seen.used !== first);
    expect(Date.parse(later.used!)).toBeGreaterThanOrEqual(Date.parse(first) + 61_000);
  });

  it('disables and re-enables a token, refusing it while disabled', async () => {
    const secret = await act.createApiToken(owner, { namespace: 'default', name: 'toggle', role: 'VIEWER' });
    expect((await viewerOf(secret)).status).toBe(200);
    const off = await server.ok(
      'mutation { updateApiToken(input: { namespace: "default", name: "toggle", enabled: false, description: "paused" }) { enabled description } }',
      {},
      owner,
    );
    expect(off.updateApiToken).toEqual({ enabled: false, description: 'paused' });
    const refused = await viewerOf(secret);
    expect(refused.status).toBe(401);
    expectGqlError(refused, { code: 'UNAUTHENTICATED', message: 'token is disabled' });
    expect(refused.headers.get('www-authenticate')).toBe(
      'Bearer realm="scopegate", error="invalid_token", error_description="token is disabled"',
    );
    expect(refused.data).toBeUndefined();
    await server.ok('mutation { updateApiToken(input: { namespace: "default", name: "toggle", enabled: true }) { enabled } }', {}, owner);
    expect((await viewerOf(secret)).status).toBe(200);
  });

  it('changes the role of a token at once, even while its principal is cached', async () => {
    const secret = await act.createApiToken(owner, { namespace: 'default', name: 'promote', role: 'VIEWER' });
    const before = await server.ok('{ viewer { roleIn(namespace: "default") } }', {}, secret);
    expect(before.viewer.roleIn).toBe('VIEWER');
    await server.ok('mutation { updateApiToken(input: { namespace: "default", name: "promote", role: OWNER }) { role } }', {}, owner);
    const after = await server.ok('{ viewer { roleIn(namespace: "default") } }', {}, secret);
    expect(after.viewer.roleIn).toBe('OWNER');
  });

  it('sets and clears expiry; an expired token gets 401 saying when it expired', async () => {
    const secret = await act.createApiToken(owner, { namespace: 'default', name: 'short', role: 'VIEWER', expiresInDays: 7 });
    // An hour ahead: certainly still valid now; then the server's clock moves past it.
    const soon = new Date(clock.now().getTime() + HOUR).toISOString();
    const upd = await server.ok(
      'mutation($at: DateTime) { updateApiToken(input: { namespace: "default", name: "short", expiresAt: $at }) { expiresAt expired } }',
      { at: soon },
      owner,
    );
    expect(upd.updateApiToken).toEqual({ expiresAt: soon, expired: false });
    expect((await viewerOf(secret)).status).toBe(200);
    clock.advance(HOUR + 1000);
    const expired = await viewerOf(secret);
    expect(expired.status).toBe(401);
    expectGqlError(expired, { code: 'UNAUTHENTICATED', message: `token expired at ${soon}` });
    expect(expired.headers.get('www-authenticate')).toContain(`error_description="token expired at ${soon}"`);

    const listed = await server.ok(
      '{ namespace(name: "default") { all: apiTokens { edges { node { name expired } } } live: apiTokens(includeExpired: false) { edges { node { name } } } } }',
      {},
      owner,
    );
    expect(listed.namespace.all.edges.map((e: any) => e.node)).toContainEqual({ name: 'short', expired: true });
    expect(listed.namespace.live.edges.map((e: any) => e.node.name)).not.toContain('short');

    const cleared = await server.ok(
      'mutation { updateApiToken(input: { namespace: "default", name: "short", clearExpiry: true }) { expiresAt expired } }',
      {},
      owner,
    );
    expect(cleared.updateApiToken).toEqual({ expiresAt: null, expired: false });
    expect((await viewerOf(secret)).status).toBe(200);
  });

  it('regenerates: the old secret is refused at once, the new one works', async () => {
    const old = await act.createApiToken(owner, { namespace: 'default', name: 'rotate', role: 'EDITOR' });
    expect((await viewerOf(old)).status).toBe(200); // now cached
    const res = await server.ok(
      'mutation { regenerateApiToken(input: { namespace: "default", name: "rotate" }) { secret apiToken { name role secretHint secretRotatedAt } } }',
      {},
      owner,
    );
    const fresh = res.regenerateApiToken.secret;
    expect(fresh).not.toBe(old);
    expect(res.regenerateApiToken.apiToken).toMatchObject({ name: 'rotate', role: 'EDITOR', secretHint: `sgt_…${fresh.slice(-4)}` });
    expect(res.regenerateApiToken.apiToken.secretRotatedAt).not.toBeNull();
    const refused = await viewerOf(old);
    expect(refused.status).toBe(401);
    expectGqlError(refused, { code: 'UNAUTHENTICATED', message: 'token has been regenerated; use the new secret' });
    expect((await viewerOf(fresh)).status).toBe(200);
  });

  it('regenerates with a grace period: both secrets work until it ends', async () => {
    const old = await act.createApiToken(owner, { namespace: 'default', name: 'graceful', role: 'EDITOR' });
    const res = await server.ok(
      'mutation { regenerateApiToken(input: { namespace: "default", name: "graceful", gracePeriodSeconds: 3600 }) { secret } }',
      {},
      owner,
    );
    const fresh = res.regenerateApiToken.secret;
    expect((await viewerOf(old)).status).toBe(200);
    expect((await viewerOf(fresh)).status).toBe(200);
    clock.advance(HOUR + 1000);
    const ended = await viewerOf(old);
    expect(ended.status).toBe(401);
    expectGqlError(ended, { code: 'UNAUTHENTICATED', message: 'token has been regenerated; use the new secret' });
    expect((await viewerOf(fresh)).status).toBe(200);
  });

  it('revokes: refused at once, gone from the list, and the name can be reused', async () => {
    const secret = await act.createApiToken(owner, { namespace: 'default', name: 'gone', role: 'VIEWER' });
    expect((await viewerOf(secret)).status).toBe(200);
    const res = await server.ok('mutation { revokeApiToken(input: { namespace: "default", name: "gone" }) { deleted } }', {}, owner);
    expect(res.revokeApiToken.deleted).toBe('namespaces/default/apitokens/gone');
    const refused = await viewerOf(secret);
    expect(refused.status).toBe(401);
    expectGqlError(refused, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
    // Unknown (well formed, valid checksum, in no row) and revoked read the same; a bad checksum says so.
    const unknown = await viewerOf(generateSecret('API'));
    const shape = (res: typeof refused) => ({ status: res.status, code: codeOf(res), message: res.errors?.[0]?.message, data: res.data });
    expect(shape(unknown)).toEqual(shape(refused));
    const mistyped = await viewerOf(`${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`);
    expect(mistyped.status).toBe(401);
    expectGqlError(mistyped, { code: 'UNAUTHENTICATED', message: 'token is malformed (bad prefix, length or checksum)' });
    const tokens = await server.ok('{ namespace(name: "default") { apiToken(name: "gone") { name } } }', {}, owner);
    expect(tokens.namespace.apiToken).toBeNull();
    const again = await act.createApiToken(owner, { namespace: 'default', name: 'gone', role: 'VIEWER' });
    expect((await viewerOf(again)).status).toBe(200);
    expect((await viewerOf(secret)).status).toBe(401);
  });

  it('refuses a duplicate name while the first token lives', async () => {
    await act.createApiToken(owner, { namespace: 'default', name: 'dupe', role: 'VIEWER' });
    const res = await server.gql('mutation { createApiToken(input: { namespace: "default", name: "dupe", role: VIEWER }) { secret } }', {}, owner);
    expectGqlError(res, { code: 'CONFLICT', message: /"dupe" already exists/ });
  });

  it('pages through tokens by name with opaque cursors', async () => {
    await act.createNamespace(owner, 'paging');
    for (const name of ['t-c', 't-a', 't-e', 't-b', 't-d']) await act.createApiToken(owner, { namespace: 'paging', name, role: 'VIEWER' });
    const page = (after: string | null) =>
      server.ok(
        'query($after: String) { namespace(name: "paging") { apiTokens(first: 2, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } } }',
        { after },
        owner,
      );
    const names: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const { apiTokens }: { apiTokens: any } = (await page(after)).namespace;
      names.push(...apiTokens.edges.map((e: any) => e.node.name));
      if (!apiTokens.pageInfo.hasNextPage) break;
      after = apiTokens.pageInfo.endCursor;
      expect(after).not.toContain('t-');
    }
    expect(names).toEqual(['t-a', 't-b', 't-c', 't-d', 't-e']);
    const tooMany = await server.gql('{ namespace(name: "paging") { apiTokens(first: 101) { edges { cursor } } } }', {}, owner);
    expectGqlError(tooMany, { code: 'BAD_USER_INPUT', field: 'first', message: 'first: must be between 0 and 100' });
  });
});

describe('maximum token lifetime', () => {
  let server: TestServer;
  let admin: string;
  beforeAll(async () => {
    server = await startTestServer({ SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS: '90' });
    admin = server.adminToken;
    await actions(server).createNamespace(admin, 'limited');
  });
  afterAll(() => server.close());

  it('requires an expiry within the maximum and refuses to clear it', async () => {
    const none = await server.gql('mutation { createApiToken(input: { namespace: "limited", name: "forever", role: VIEWER }) { secret } }', {}, admin);
    expectGqlError(none, { code: 'BAD_USER_INPUT', field: 'input.expiresAt', message: 'input.expiresAt: this instance requires an expiry within 90 days: give expiresAt or expiresInDays' });
    const far = await server.gql('mutation { createApiToken(input: { namespace: "limited", name: "far", role: VIEWER, expiresInDays: 91 }) { secret } }', {}, admin);
    expectGqlError(far, {
      code: 'BAD_USER_INPUT',
      field: 'input.expiresInDays',
      message: "input.expiresInDays: must be within 90 days from now (the instance's maximum token lifetime)",
    });
    // (89, not 90: the bootstrap token itself expires within the maximum, and a token
    // cannot make one that outlives it.)
    await server.ok('mutation { createApiToken(input: { namespace: "limited", name: "ok", role: VIEWER, expiresInDays: 89 }) { secret } }', {}, admin);
    const clear = await server.gql('mutation { updateApiToken(input: { namespace: "limited", name: "ok", clearExpiry: true }) { name } }', {}, admin);
    expectGqlError(clear, {
      code: 'BAD_USER_INPUT',
      field: 'input.clearExpiry',
      message: 'input.clearExpiry: refused: this instance requires every token to expire within 90 days',
    });
    // Regenerating without a new expiry keeps the one it had.
    const regen = await server.ok('mutation { regenerateApiToken(input: { namespace: "limited", name: "ok" }) { apiToken { expiresAt } } }', {}, admin);
    expect(regen.regenerateApiToken.apiToken.expiresAt).not.toBeNull();
  });
});

describe('a maximum lifetime set on an instance that already has tokens', () => {
  const DAY = 86_400_000;
  const TOKENS = `{ namespace(name: "legacy") { apiTokens(first: 50) { edges { node { name createdAt expiresAt } } } }
    viewer { personalAccessTokens(first: 50) { edges { node { name createdAt expiresAt } } } } }`;
  const CAPPED = `{ api: auditEvents(first: 50, filter: { action: "apitoken.expiry_capped" }) { edges { node { outcome actor { name } namespace target details } } }
    personal: auditEvents(first: 50, filter: { action: "personaltoken.expiry_capped" }) { edges { node { outcome actor { name } target details } } } }`;

  /** Olive's tokens by name (personal ones as personal:name), as she reads them. */
  async function tokensOf(server: TestServer, session: string): Promise<Record<string, { createdAt: string; expiresAt: string | null }>> {
    const data = await server.ok(TOKENS, {}, session);
    const api = data.namespace.apiTokens.edges.map((e: any) => [e.node.name, e.node]);
    const personal = data.viewer.personalAccessTokens.edges.map((e: any) => [`personal:${e.node.name}`, e.node]);
    return Object.fromEntries([...api, ...personal]);
  }

  /** A server without a maximum where olive owns "legacy" with tokens made before any maximum. */
  async function instanceWithOldTokens() {
    const server = await startTestServer();
    const act = actions(server);
    await act.createUser('olive');
    const olive = await act.login('olive');
    await act.createNamespace(olive, 'legacy');
    const secrets = {
      forever: await act.createApiToken(olive, { namespace: 'legacy', name: 'forever', role: 'VIEWER' }),
      far: await act.createApiToken(olive, { namespace: 'legacy', name: 'far', role: 'VIEWER', expiresInDays: 365 }),
      soon: await act.createApiToken(olive, { namespace: 'legacy', name: 'soon', role: 'VIEWER', expiresInDays: 20 }),
      laptop: await act.createPersonalToken(olive, { name: 'laptop' }),
    };
    const before = await tokensOf(server, olive);
    await server.close();
    return { first: server, secrets, before };
  }

  it('gives a token without an expiry, or with a later one, its creation + the maximum; audited and logged, once', async () => {
    const { first, secrets, before } = await instanceWithOldTokens();
    let server = await startTestServer({ SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS: '30' }, first);
    try {
      const act = actions(server);
      const after = await tokensOf(server, await act.login('olive'));
      for (const name of ['forever', 'far', 'personal:laptop']) {
        expect(Date.parse(after[name].expiresAt!), name).toBe(Date.parse(before[name].createdAt) + 30 * DAY);
      }
      expect(after.soon.expiresAt).toBe(before.soon.expiresAt);
      // Still working: the holders have until then to act.
      for (const secret of Object.values(secrets)) expect((await act.whoami(secret)).status).toBe(200);

      const trail = await server.ok(CAPPED, {}, server.adminToken);
      expect(trail.api.edges.map((e: any) => e.node).sort((x: any, y: any) => x.target.localeCompare(y.target))).toEqual(
        ['far', 'forever'].map((name) => ({
          outcome: 'SUCCESS',
          actor: { name: null },
          namespace: 'legacy',
          target: `namespaces/legacy/apitokens/${name}`,
          details: JSON.stringify({ previousExpiresAt: before[name].expiresAt, expiresAt: after[name].expiresAt, maxLifetimeDays: 30 }),
        })),
      );
      // The first-start administrator's token had no expiry either.
      expect(trail.personal.edges.map((e: any) => e.node.target).sort()).toEqual(['user:admin/tokens/bootstrap', 'user:olive/tokens/laptop']);
      expect(server.logs.filter((line) => line.includes('"action":"apitoken.expiry_capped"'))).toHaveLength(2);
      await server.close();

      // Another start with the same maximum changes nothing.
      server = await startTestServer({ SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS: '30' }, first);
      expect(await tokensOf(server, await actions(server).login('olive'))).toEqual(after);
      const again = await server.ok(CAPPED, {}, server.adminToken);
      expect([again.api.edges.length, again.personal.edges.length]).toEqual([2, 2]);
    } finally {
      await server.close();
    }
  });

  it('never ends a token sooner than 7 days after the maximum is first seen; a regenerated secret gets one within the maximum', async () => {
    const { first, secrets } = await instanceWithOldTokens();
    let offset = 0;
    const seenAfter = Date.now();
    const server = await startTestServer({ SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS: '3' }, first, { now: () => new Date(Date.now() + offset) });
    const seenBefore = Date.now();
    try {
      const act = actions(server);
      const olive = await act.login('olive');
      const after = await tokensOf(server, olive);
      for (const name of ['forever', 'far', 'personal:laptop']) {
        // Created moments ago, so creation + 3 days would be sooner: the 7 days from first sight count.
        expect(Date.parse(after[name].expiresAt!), name).toBeGreaterThanOrEqual(seenAfter + 7 * DAY);
        expect(Date.parse(after[name].expiresAt!), name).toBeLessThanOrEqual(seenBefore + 7 * DAY);
      }
      expect((await act.whoami(secrets.laptop)).status).toBe(200);

      // Regenerated without asking for an expiry: the new secret lives at most the maximum.
      const regenerated = await server.ok('mutation { regenerateApiToken(input: { namespace: "legacy", name: "forever" }) { apiToken { expiresAt } } }', {}, olive);
      const expiresAt = Date.parse(regenerated.regenerateApiToken.apiToken.expiresAt);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3 * DAY);
      expect(expiresAt).toBeGreaterThan(seenAfter + 3 * DAY);
      // Nor can an update take a token past its secret's issue + the maximum, though "3 days from now" would allow it.
      offset = 6 * 3_600_000;
      const later = new Date(Date.parse(after.far.createdAt) + 3 * DAY + 60_000).toISOString();
      const update = await server.gql('mutation($at: DateTime) { updateApiToken(input: { namespace: "legacy", name: "far", expiresAt: $at }) { expiresAt } }', { at: later }, olive);
      expectGqlError(update, {
        code: 'BAD_USER_INPUT',
        field: 'input.expiresAt',
        message: /^input\.expiresAt: must be no later than .*; regenerate the token for a later expiry$/,
      });

      // Eight days on, the warning period is over.
      offset = 8 * DAY;
      const refused = await act.whoami(secrets.laptop);
      expect(refused.status).toBe(401);
      expectGqlError(refused, { code: 'UNAUTHENTICATED', message: `token expired at ${after['personal:laptop'].expiresAt}` });
    } finally {
      await server.close();
    }
  });
});
