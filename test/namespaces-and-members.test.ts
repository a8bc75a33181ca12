import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, findLeakedSecrets, startTestServer, type TestServer } from './helpers/server.js';

/** Namespaces and their members: who may see, change, and delete what. */

const NS_FIELDS = 'name displayName description viewerRole createdAt updatedAt';
const CREATE = `mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { ${NS_FIELDS} } }`;
const UPDATE = `mutation($input: UpdateNamespaceInput!) { updateNamespace(input: $input) { ${NS_FIELDS} } }`;
const DELETE = 'mutation($input: DeleteNamespaceInput!) { deleteNamespace(input: $input) { deleted } }';
const SET_ROLE = 'mutation($input: SetMemberRoleInput!) { setMemberRole(input: $input) { role user { username } namespace { name } } }';
const REMOVE = 'mutation($input: RemoveMemberInput!) { removeMember(input: $input) { deleted } }';

describe('namespaces and members', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let admin: string;
  let olga: string;
  let max: string;
  let nina: string;

  const visible = async (token: string) =>
    (await server.ok('{ namespaces(first: 100) { edges { node { name viewerRole } } } }', {}, token)).namespaces.edges.map((e: any) => e.node.name);
  const members = async (token: string, namespace: string) =>
    (await server.ok(`{ namespace(name: "${namespace}") { members(first: 100) { edges { node { role user { username } } } } } }`, {}, token)).namespace.members.edges.map(
      (e: any) => [e.node.user.username, e.node.role],
    );
  const roleIn = async (token: string, namespace: string) => (await server.ok(`{ viewer { roleIn(namespace: "${namespace}") } }`, {}, token)).viewer.roleIn;

  beforeAll(async () => {
    server = await startTestServer();
    act = actions(server);
    admin = server.adminToken;
    for (const u of ['olga', 'max', 'nina']) await act.createUser(u);
    [olga, max, nina] = await Promise.all(['olga', 'max', 'nina'].map((u) => act.login(u)));
  });
  afterAll(async () => {
    await server?.close();
    expect(findLeakedSecrets(server)).toEqual([]);
  });

  it('creates a namespace whose creator becomes its owner; a duplicate name is CONFLICT', async () => {
    const res = await server.ok(CREATE, { input: { name: 'payments', displayName: 'Payments', description: 'the money' } }, olga);
    expect(res.createNamespace).toMatchObject({ name: 'payments', displayName: 'Payments', description: 'the money', viewerRole: 'OWNER' });
    expect(await members(olga, 'payments')).toEqual([['olga', 'OWNER']]);
    expect(await roleIn(olga, 'payments')).toBe('OWNER');

    for (const token of [olga, max]) {
      const dup = await server.gql(CREATE, { input: { name: 'payments' } }, token);
      expectGqlError(dup, { code: 'CONFLICT', message: 'namespace "payments" already exists; choose another name' });
    }
    // The refused attempt made max nothing.
    expect(await roleIn(max, 'payments')).toBeNull();
    expect(await members(olga, 'payments')).toEqual([['olga', 'OWNER']]);
  });

  it('updates displayName and description; null clears, omitted keeps', async () => {
    const before = (await server.ok('{ namespace(name: "payments") { updatedAt } }', {}, olga)).namespace.updatedAt;
    await new Promise((r) => setTimeout(r, 5));
    const renamed = await server.ok(UPDATE, { input: { name: 'payments', displayName: 'Payments & Billing' } }, olga);
    expect(renamed.updateNamespace).toMatchObject({ displayName: 'Payments & Billing', description: 'the money' });
    expect(Date.parse(renamed.updateNamespace.updatedAt)).toBeGreaterThan(Date.parse(before));
    const cleared = await server.ok(UPDATE, { input: { name: 'payments', description: null } }, olga);
    expect(cleared.updateNamespace).toMatchObject({ displayName: 'Payments & Billing', description: null });
    const both = await server.ok(UPDATE, { input: { name: 'payments', displayName: null, description: 'again' } }, olga);
    expect(both.updateNamespace).toMatchObject({ displayName: null, description: 'again' });
    // Read back, not just the payload.
    expect((await server.ok('{ namespace(name: "payments") { displayName description } }', {}, olga)).namespace).toEqual({ displayName: null, description: 'again' });
  });

  it('lists only namespaces with a role; administrators see all; an API token only its own', async () => {
    await act.createNamespace(max, 'max-lab');
    await act.createNamespace(nina, 'nina-lab');
    expect(await visible(olga)).toEqual(['payments']);
    expect(await visible(max)).toEqual(['max-lab']);
    const all = await visible(admin);
    expect(all).toEqual(expect.arrayContaining(['payments', 'max-lab', 'nina-lab']));
    expect(all).toEqual([...all].sort());
    const adminRoles = (await server.ok('{ namespaces { edges { node { viewerRole } } } }', {}, admin)).namespaces.edges.map((e: any) => e.node.viewerRole);
    expect(new Set(adminRoles)).toEqual(new Set(['OWNER']));

    const api = await act.createApiToken(olga, { namespace: 'payments', name: 'lister', role: 'VIEWER' });
    expect(await visible(api)).toEqual(['payments']);
    expect((await server.ok('{ namespace(name: "max-lab") { name } }', {}, api)).namespace).toBeNull();
  });

  it('namespace(name) is null when invisible, exactly as when it does not exist', async () => {
    const hidden = await server.gql('{ namespace(name: "nina-lab") { name } }', {}, olga);
    const missing = await server.gql('{ namespace(name: "no-such-ns") { name } }', {}, olga);
    expect(hidden.body).toEqual({ data: { namespace: null } });
    expect(missing.body).toEqual({ data: { namespace: null } });
    // Mutations on it are NOT_FOUND, with the same message as a namespace that does not exist.
    const update = await server.gql(UPDATE, { input: { name: 'nina-lab', description: 'mine now' } }, olga);
    const updateMissing = await server.gql(UPDATE, { input: { name: 'no-such-ns', description: 'mine now' } }, olga);
    expectGqlError(update, { code: 'NOT_FOUND', message: 'namespace "nina-lab" not found' });
    expectGqlError(updateMissing, { code: 'NOT_FOUND', message: 'namespace "no-such-ns" not found' });
    for (const [query, input] of [
      [SET_ROLE, { namespace: 'nina-lab', username: 'olga', role: 'OWNER' }],
      [REMOVE, { namespace: 'nina-lab', username: 'nina' }],
      [DELETE, { name: 'nina-lab' }],
    ] as const) {
      expect(codeOf(await server.gql(query, { input }, olga))).toBe('NOT_FOUND');
    }
    expect(await members(nina, 'nina-lab')).toEqual([['nina', 'OWNER']]);
    expect((await server.ok('{ namespace(name: "nina-lab") { description } }', {}, nina)).namespace.description).toBeNull();
  });

  it('setMemberRole adds a member and changes their role; lower roles are FORBIDDEN to manage', async () => {
    const added = await server.ok(SET_ROLE, { input: { namespace: 'payments', username: 'max', role: 'VIEWER' } }, olga);
    expect(added.setMemberRole).toEqual({ role: 'VIEWER', user: { username: 'max' }, namespace: { name: 'payments' } });
    expect(await roleIn(max, 'payments')).toBe('VIEWER');
    expect(await visible(max)).toEqual(['max-lab', 'payments']);
    // A viewer reads but does not manage.
    expect(await members(max, 'payments')).toEqual([
      ['max', 'VIEWER'],
      ['olga', 'OWNER'],
    ]);
    const selfPromote = await server.gql(SET_ROLE, { input: { namespace: 'payments', username: 'max', role: 'OWNER' } }, max);
    expectGqlError(selfPromote, { code: 'FORBIDDEN', message: 'requires role OWNER in namespace "payments" (your role is VIEWER)' });
    expect(codeOf(await server.gql(UPDATE, { input: { name: 'payments', description: 'by max' } }, max))).toBe('FORBIDDEN');

    const changed = await server.ok(SET_ROLE, { input: { namespace: 'payments', username: 'max', role: 'EDITOR' } }, olga);
    expect(changed.setMemberRole.role).toBe('EDITOR');
    expect(await roleIn(max, 'payments')).toBe('EDITOR');
    expect(codeOf(await server.gql(SET_ROLE, { input: { namespace: 'payments', username: 'nina', role: 'VIEWER' } }, max))).toBe('FORBIDDEN');

    const unknown = await server.gql(SET_ROLE, { input: { namespace: 'payments', username: 'nobody', role: 'VIEWER' } }, olga);
    expectGqlError(unknown, { code: 'NOT_FOUND', message: 'user "nobody" not found' });
  });

  it('the last owner can be neither demoted nor removed', async () => {
    for (const [query, input, message] of [
      [SET_ROLE, { namespace: 'payments', username: 'olga', role: 'EDITOR' }, 'olga is the last owner of namespace "payments": make someone else owner first'],
      [REMOVE, { namespace: 'payments', username: 'olga' }, 'olga is the last owner of namespace "payments" and cannot be removed'],
    ] as const) {
      const res = await server.gql(query, { input }, olga);
      expectGqlError(res, { code: 'CONFLICT', message });
    }
    // Not by an administrator either.
    expect(codeOf(await server.gql(REMOVE, { input: { namespace: 'payments', username: 'olga' } }, admin))).toBe('CONFLICT');
    expect(await roleIn(olga, 'payments')).toBe('OWNER');

    // With a second owner, the first may step down.
    await server.ok(SET_ROLE, { input: { namespace: 'payments', username: 'max', role: 'OWNER' } }, olga);
    const stepDown = await server.ok(SET_ROLE, { input: { namespace: 'payments', username: 'olga', role: 'EDITOR' } }, olga);
    expect(stepDown.setMemberRole.role).toBe('EDITOR');
    expect(await roleIn(olga, 'payments')).toBe('EDITOR');
    expect(codeOf(await server.gql(SET_ROLE, { input: { namespace: 'payments', username: 'max', role: 'VIEWER' } }, max))).toBe('CONFLICT');
    // Restore olga as owner for what follows.
    await server.ok(SET_ROLE, { input: { namespace: 'payments', username: 'olga', role: 'OWNER' } }, max);
    expect(await members(olga, 'payments')).toEqual([
      ['max', 'OWNER'],
      ['olga', 'OWNER'],
    ]);
  });

  it('removeMember takes the role away at once', async () => {
    await server.ok(SET_ROLE, { input: { namespace: 'payments', username: 'nina', role: 'EDITOR' } }, olga);
    expect(await roleIn(nina, 'payments')).toBe('EDITOR');
    const res = await server.ok(REMOVE, { input: { namespace: 'payments', username: 'nina' } }, olga);
    expect(res.removeMember.deleted).toBe('namespaces/payments/members/nina');
    expect(await roleIn(nina, 'payments')).toBeNull();
    expect((await server.ok('{ namespace(name: "payments") { name } }', {}, nina)).namespace).toBeNull();
    expect(await visible(nina)).toEqual(['nina-lab']);
    const again = await server.gql(REMOVE, { input: { namespace: 'payments', username: 'nina' } }, olga);
    expectGqlError(again, { code: 'NOT_FOUND', message: 'member "nina" of namespace "payments" not found' });
    // An owner may remove another owner while one remains.
    await server.ok(REMOVE, { input: { namespace: 'payments', username: 'max' } }, olga);
    expect(await members(olga, 'payments')).toEqual([['olga', 'OWNER']]);
  });

  it('pages members by username', async () => {
    await act.createNamespace(olga, 'crowd');
    const names = ['m-echo', 'm-alpha', 'm-delta', 'm-charlie', 'm-bravo'];
    for (const u of names) {
      await act.createUser(u);
      await act.setRole(olga, 'crowd', u, 'VIEWER');
    }
    const page = (after: string | null) =>
      server.ok(
        'query($after: String) { namespace(name: "crowd") { members(first: 2, after: $after) { edges { cursor node { user { username } } } pageInfo { hasNextPage endCursor } } } }',
        { after },
        olga,
      );
    const seen: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const members: any = (await page(after)).namespace.members;
      sizes.push(members.edges.length);
      seen.push(...members.edges.map((e: any) => e.node.user.username));
      if (!members.pageInfo.hasNextPage) break;
      after = members.pageInfo.endCursor;
      expect(after).not.toContain('m-');
    }
    expect(seen).toEqual([...names].sort().concat('olga'));
    expect(sizes).toEqual([2, 2, 2]);
  });

  it('an API token cannot create a namespace, even an owner one', async () => {
    const api = await act.createApiToken(olga, { namespace: 'payments', name: 'robot', role: 'OWNER' });
    const res = await server.gql(CREATE, { input: { name: 'robot-made' } }, api);
    expect(res.status).toBe(200);
    expectGqlError(res, { code: 'FORBIDDEN', message: 'requires a user (session or personal access token); namespace API tokens cannot do this' });
    expect(await visible(admin)).not.toContain('robot-made');
    // A personal token can.
    const pat = await act.createPersonalToken(olga, { name: 'ns-maker' });
    expect((await server.ok(CREATE, { input: { name: 'pat-made' } }, pat)).createNamespace.viewerRole).toBe('OWNER');
  });

  it('deleteNamespace removes its tokens (their secrets stop at once) and its memberships', async () => {
    await act.createNamespace(olga, 'doomed');
    await act.setRole(olga, 'doomed', 'max', 'EDITOR');
    const tokens = [
      await act.createApiToken(olga, { namespace: 'doomed', name: 'a', role: 'OWNER' }),
      await act.createApiToken(olga, { namespace: 'doomed', name: 'b', role: 'VIEWER' }),
    ];
    for (const t of tokens) expect((await act.whoami(t)).status).toBe(200); // cached
    const otherToken = await act.createApiToken(olga, { namespace: 'payments', name: 'survivor', role: 'VIEWER' });

    // Only owners.
    expect(codeOf(await server.gql(DELETE, { input: { name: 'doomed' } }, max))).toBe('FORBIDDEN');
    const res = await server.ok(DELETE, { input: { name: 'doomed' } }, olga);
    expect(res.deleteNamespace.deleted).toBe('namespaces/doomed');

    for (const t of tokens) {
      const refused = await act.whoami(t);
      expect(refused.status).toBe(401);
      expectGqlError(refused, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
    }
    expect((await act.whoami(otherToken)).status).toBe(200);
    expect((await server.ok('{ namespace(name: "doomed") { name } }', {}, olga)).namespace).toBeNull();
    expect(await visible(admin)).not.toContain('doomed');
    expect(await roleIn(max, 'doomed')).toBeNull();

    // A namespace of the same name made later starts empty: no old members, no old tokens.
    await act.createNamespace(nina, 'doomed');
    expect(await members(nina, 'doomed')).toEqual([['nina', 'OWNER']]);
    expect(await roleIn(max, 'doomed')).toBeNull();
    expect(await roleIn(olga, 'doomed')).toBeNull();
    const listed = await server.ok('{ namespace(name: "doomed") { apiTokens { edges { node { name } } } } }', {}, nina);
    expect(listed.namespace.apiTokens.edges).toEqual([]);
    for (const t of tokens) expect((await act.whoami(t)).status).toBe(401);
    // And deleting again is NOT_FOUND for olga, who has no role in the new one.
    expect(codeOf(await server.gql(DELETE, { input: { name: 'doomed' } }, olga))).toBe('NOT_FOUND');
  });
});
