/**
 * Relay `node(id)` refetches what the caller may see and nothing else (DESIGN.md, "Known
 * pitfalls": node/nodes have bypassed type scopes before). An object the caller may not
 * see reads exactly like one that does not exist: `{ "data": { "node": null } }`, with no
 * error that would tell it apart. Garbage ids never reach the error mask.
 */
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { type GraphQLObjectType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';
import { actions } from './helpers/fixtures.js';
import { createCredential, CREDENTIALS, type CredentialType, OTHER, TEAM } from './helpers/principals.js';
import { expectGqlError, startTestServer, type TestServer } from './helpers/server.js';

const NODE_QUERY = `query($id: ID!) { node(id: $id) {
  __typename id
  ... on Namespace { name }
  ... on User { username }
  ... on Token { name }
  ... on Credential { name }
  ... on Registry { name }
  ... on AuditEvent { action }
} }`;

type Viewer = 'alice' | 'carol' | 'bob' | 'api token of team' | 'administrator';
const VIEWERS: Viewer[] = ['alice', 'carol', 'bob', 'api token of team', 'administrator'];

/** Who may see what (DESIGN.md "Authorization"), written down by hand. */
const IN_TEAM: Viewer[] = ['alice', 'carol', 'api token of team', 'administrator'];
const IN_OTHER: Viewer[] = ['bob', 'administrator'];

interface Target {
  label: string;
  typename: string;
  /** What the `name`/`username`/`action` of the fragment reads when the object is returned. */
  name: string;
  seenBy: Viewer[];
  id?: string;
}

const CREDENTIAL_TYPES = Object.keys(CREDENTIALS) as CredentialType[];

/**
 * alice owns "team", carol is its VIEWER, bob owns "other", loner belongs nowhere.
 * Everything below is created in beforeAll; ids are filled in there.
 */
const targets: Target[] = [
  { label: 'namespace team', typename: 'Namespace', name: TEAM, seenBy: IN_TEAM },
  { label: 'namespace other', typename: 'Namespace', name: OTHER, seenBy: IN_OTHER },
  // Users: yourself, the members of namespaces you have a role in; administrators everyone.
  { label: 'user alice', typename: 'User', name: 'alice', seenBy: ['alice', 'carol', 'api token of team', 'administrator'] },
  { label: 'user carol', typename: 'User', name: 'carol', seenBy: ['alice', 'carol', 'api token of team', 'administrator'] },
  { label: 'user bob', typename: 'User', name: 'bob', seenBy: ['bob', 'administrator'] },
  { label: 'user loner (shares no namespace)', typename: 'User', name: 'loner', seenBy: ['administrator'] },
  { label: 'api token of team', typename: 'ApiToken', name: 'ci', seenBy: IN_TEAM },
  { label: 'api token of other', typename: 'ApiToken', name: 'ci', seenBy: IN_OTHER },
  { label: 'revoked api token of team', typename: 'ApiToken', name: 'gone', seenBy: [] },
  // Personal tokens: their owner and administrators only, never an API token.
  { label: "alice's personal token", typename: 'PersonalAccessToken', name: 'laptop', seenBy: ['alice', 'administrator'] },
  { label: "bob's personal token", typename: 'PersonalAccessToken', name: 'laptop', seenBy: ['bob', 'administrator'] },
  { label: "alice's revoked personal token", typename: 'PersonalAccessToken', name: 'old', seenBy: [] },
  ...CREDENTIAL_TYPES.flatMap((type) => [
    { label: `${type} credential of team`, typename: CREDENTIALS[type].typeName, name: `cred-${type.toLowerCase()}`, seenBy: IN_TEAM },
    { label: `${type} credential of other`, typename: CREDENTIALS[type].typeName, name: `cred-${type.toLowerCase()}`, seenBy: IN_OTHER },
  ]),
  { label: 'SSH_KEY credential of team', typename: 'SshKeyCredential', name: 'cred-ssh', seenBy: IN_TEAM },
  { label: 'SSH_KEY credential of other', typename: 'SshKeyCredential', name: 'cred-ssh', seenBy: IN_OTHER },
  { label: 'registry of team', typename: 'Registry', name: 'charts', seenBy: IN_TEAM },
  { label: 'registry of other', typename: 'Registry', name: 'charts', seenBy: IN_OTHER },
  // The audit log of a namespace is for its owners; the instance's for administrators.
  { label: 'audit event of team', typename: 'AuditEvent', name: 'registry.create', seenBy: ['alice', 'administrator'] },
  { label: 'audit event of other', typename: 'AuditEvent', name: 'registry.create', seenBy: ['bob', 'administrator'] },
  { label: 'instance-wide audit event', typename: 'AuditEvent', name: 'user.create', seenBy: ['administrator'] },
];
const target = (label: string) => targets.find((t) => t.label === label)!;

let server: TestServer;
const tokens = {} as Record<Viewer, string>;

const rawId = (globalId: string) => decodeGlobalID(globalId).id;

beforeAll(async () => {
  server = await startTestServer();
  const s = actions(server);
  const admin = server.adminToken;
  for (const u of ['alice', 'carol', 'bob', 'loner']) await s.createUser(u);
  const alice = await s.login('alice');
  const bob = await s.login('bob');
  tokens.alice = alice;
  tokens.bob = bob;
  tokens.carol = await s.login('carol');
  tokens.administrator = admin;
  await s.createNamespace(alice, TEAM);
  await s.createNamespace(bob, OTHER);
  await s.setRole(alice, TEAM, 'carol', 'VIEWER');
  tokens['api token of team'] = (await s.apiToken(alice, { namespace: TEAM, name: 'reader', role: 'VIEWER' })).secret;

  const ids = (await server.ok('{ a: namespace(name: "team") { id } b: namespace(name: "other") { id } }', {}, admin)) as any;
  target('namespace team').id = ids.a.id;
  target('namespace other').id = ids.b.id;
  for (const u of ['alice', 'carol', 'bob']) {
    target(`user ${u}`).id = (await server.ok(`{ user(username: "${u}") { id } }`, {}, admin)).user.id;
  }
  target('user loner (shares no namespace)').id = (await server.ok('{ user(username: "loner") { id } }', {}, admin)).user.id;

  target('api token of team').id = (await s.apiToken(alice, { namespace: TEAM, name: 'ci', role: 'EDITOR' })).id;
  target('api token of other').id = (await s.apiToken(bob, { namespace: OTHER, name: 'ci', role: 'EDITOR' })).id;
  target('revoked api token of team').id = (await s.apiToken(alice, { namespace: TEAM, name: 'gone', role: 'VIEWER' })).id;
  await server.ok('mutation { revokeApiToken(input: { namespace: "team", name: "gone" }) { deleted } }', {}, alice);

  target("alice's personal token").id = (await s.personalToken(alice, { name: 'laptop' })).id;
  target("bob's personal token").id = (await s.personalToken(bob, { name: 'laptop' })).id;
  target("alice's revoked personal token").id = (await s.personalToken(alice, { name: 'old' })).id;
  await server.ok('mutation { revokePersonalAccessToken(input: { name: "old" }) { deleted } }', {}, alice);

  for (const [ns, owner, where] of [[TEAM, alice, 'team'], [OTHER, bob, 'other']] as const) {
    for (const type of CREDENTIAL_TYPES) {
      target(`${type} credential of ${where}`).id = await createCredential(server, owner, type, ns, `cred-${type.toLowerCase()}`);
    }
    const ssh = await server.ok(
      'mutation($i: CreateSshKeyCredentialInput!) { createSshKeyCredential(input: $i) { credential { id } } }',
      { i: { namespace: ns, name: 'cred-ssh', generate: true } },
      owner,
    );
    target(`SSH_KEY credential of ${where}`).id = ssh.createSshKeyCredential.credential.id;
    const registry = await server.ok(
      'mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { id } }',
      { i: { namespace: ns, name: 'charts', url: 'https://charts.example.com', credential: 'cred-registry' } },
      owner,
    );
    target(`registry of ${where}`).id = registry.createRegistry.id;
  }

  const eventId = async (filter: Record<string, string>) => {
    const data = await server.ok('query($f: AuditEventFilter) { auditEvents(first: 1, filter: $f) { edges { node { id } } } }', { f: filter }, admin);
    if (!data.auditEvents.edges.length) throw new Error(`no audit event for ${JSON.stringify(filter)}`);
    return data.auditEvents.edges[0].node.id as string;
  };
  target('audit event of team').id = await eventId({ action: 'registry.create', target: 'namespaces/team/registries/charts' });
  target('audit event of other').id = await eventId({ action: 'registry.create', target: 'namespaces/other/registries/charts' });
  target('instance-wide audit event').id = await eventId({ action: 'user.create', target: 'users/loner' });
});
afterAll(async () => {
  await server?.close();
});

const fetchNode = (id: string, viewer: Viewer) => server.gql(NODE_QUERY, { id }, tokens[viewer]);

describe('node(id) shows each Node type to those who may see it, and to nobody else', () => {
  it('covers every Node type of the schema', () => {
    const nodeTypes = Object.values(schema.getTypeMap())
      .filter((t): t is GraphQLObjectType => isObjectType(t) && t.getInterfaces().some((i) => i.name === 'Node'))
      .map((t) => t.name)
      .sort();
    expect([...new Set(targets.map((t) => t.typename))].sort()).toEqual(nodeTypes);
  });

  for (const t of targets) {
    for (const viewer of VIEWERS) {
      const visible = t.seenBy.includes(viewer);
      it(`${t.label} as ${viewer} → ${visible ? t.typename : 'null'}`, async () => {
        expect(t.id, 'target was created').toBeTruthy();
        expect(decodeGlobalID(t.id!).typename).toBe(t.typename);
        const res = await fetchNode(t.id!, viewer);
        expect(res.status).toBe(200);
        if (visible) {
          expect(res.errors).toBeUndefined();
          const node = res.data.node;
          expect(node).toMatchObject({ __typename: t.typename, id: t.id });
          expect(node.name ?? node.username ?? node.action).toBe(t.name);
        } else {
          // Exactly what a missing object gives: no error, no name, no hint that it exists.
          expect(res.body).toEqual({ data: { node: null } });
        }
      });
    }
  }

  it('an invisible object reads exactly like an id that was never issued', async () => {
    for (const [label, typename] of [
      ['namespace other', 'Namespace'],
      ['api token of other', 'ApiToken'],
      ["bob's personal token", 'PersonalAccessToken'],
      ['user bob', 'User'],
    ] as const) {
      const hidden = await fetchNode(target(label).id!, 'alice');
      const missing = await fetchNode(encodeGlobalID(typename, '00000000-0000-4000-8000-000000000000'), 'alice');
      expect({ label, status: hidden.status, body: hidden.body }).toEqual({ label, status: missing.status, body: missing.body });
    }
  });
});

describe('node(id) with ids that do not name anything the caller may see', () => {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const garbage: [string, () => string][] = [
    ['not base64 at all', () => '%%% not an id %%%'],
    ['empty', () => ''],
    ['base64 without a type', () => b64('just-some-text')],
    ['unknown type', () => b64('Nope:123')],
    ['known type, empty id', () => b64('Namespace:')],
    ['known type, not a uuid', () => b64('Namespace:not-a-uuid')],
    ['a type that is not a Node', () => b64(`Membership:${rawId(target('namespace team').id!)}`)],
    ['an interface name', () => b64(`Credential:${rawId(target('HETZNER credential of team').id!)}`)],
    ['very long', () => b64(`Namespace:${'x'.repeat(4000)}`)],
    ['ApiToken id re-encoded as PersonalAccessToken', () => encodeGlobalID('PersonalAccessToken', rawId(target('api token of team').id!))],
    ["alice's personal token re-encoded as ApiToken", () => encodeGlobalID('ApiToken', rawId(target("alice's personal token").id!))],
    ['namespace id re-encoded as User', () => encodeGlobalID('User', rawId(target('namespace team').id!))],
    ['user id re-encoded as Namespace', () => encodeGlobalID('Namespace', rawId(target('user alice').id!))],
    ['Hetzner credential re-encoded as RegistryCredential', () => encodeGlobalID('RegistryCredential', rawId(target('HETZNER credential of team').id!))],
    ['registry id re-encoded as GitCredential', () => encodeGlobalID('GitCredential', rawId(target('registry of team').id!))],
  ];

  for (const viewer of ['alice', 'administrator'] as const) {
    it.each(garbage)(`%s, as ${viewer} → null or BAD_USER_INPUT, never an internal error`, async (_label, make) => {
      const res = await fetchNode(make(), viewer);
      expect(res.status).toBe(200);
      expect(res.data).toEqual({ node: null });
      const codes = (res.errors ?? []).map((e) => e.extensions?.code);
      expect(codes.filter((c) => c !== 'BAD_USER_INPUT')).toEqual([]);
      // Whatever the message says, it does not echo another object's data.
      expect(JSON.stringify(res.body)).not.toMatch(/alice|team|laptop|charts|registry-password/);
    });
  }
});

describe('relay nodes(ids)', () => {
  it('is not part of the schema', () => {
    expect(schema.getQueryType()!.getFields()).not.toHaveProperty('nodes');
  });

  it('is refused as an unknown field over HTTP, even for the administrator', async () => {
    const res = await server.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [target('namespace other').id] }, server.adminToken);
    // A validation error: 400, or 200 for an application/json response (GraphQL over HTTP); never executed.
    expect([200, 400]).toContain(res.status);
    expect(res.body).not.toHaveProperty('data');
    expectGqlError(res, { code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "nodes"/ });
  });
});

describe('createdBy shows a user exactly when node(id) would', () => {
  // The administrator, no member of "team", makes a token and a credential there; alice, its owner, made "ci".
  const CREATORS = `{ namespace(name: "team") {
    apiTokens(first: 50) { edges { node { name createdBy { username } } } }
    credentials(first: 50) { edges { node { name createdBy { username } } } } } }`;
  const createdBy = async (viewer: Viewer) => {
    const data = await server.ok(CREATORS, {}, tokens[viewer]);
    const all = [...data.namespace.apiTokens.edges, ...data.namespace.credentials.edges].map((e: any) => e.node);
    return Object.fromEntries(all.filter((n: any) => ['ci', 'token-by-admin', 'cred-by-admin'].includes(n.name)).map((n: any) => [n.name, n.createdBy?.username ?? null]));
  };
  let adminId: string;

  beforeAll(async () => {
    await actions(server).apiToken(server.adminToken, { namespace: TEAM, name: 'token-by-admin', role: 'VIEWER' });
    await createCredential(server, server.adminToken, 'HETZNER', TEAM, 'cred-by-admin');
    adminId = (await server.ok('{ user(username: "admin") { id } }', {}, server.adminToken)).user.id;
  });

  it.each(['carol', 'alice', 'api token of team'] as const)('as %s, who sees team but not the administrator: null for the administrator', async (viewer) => {
    expect((await fetchNode(adminId, viewer)).body).toEqual({ data: { node: null } });
    expect(await createdBy(viewer)).toEqual({ 'token-by-admin': null, 'cred-by-admin': null, ci: 'alice' });
  });

  it('as the administrator: the administrator', async () => {
    expect((await fetchNode(adminId, 'administrator')).data.node.username).toBe('admin');
    expect(await createdBy('administrator')).toEqual({ 'token-by-admin': 'admin', 'cred-by-admin': 'admin', ci: 'alice' });
  });
});
