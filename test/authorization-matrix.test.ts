/**
 * The authorization matrix, driven by the policy table in src/policy.ts: every operation the
 * table names is run over real HTTP by every kind of caller, and the outcome is compared with
 * what the table's rule says (DESIGN.md, "Authorization"). The expected role of each caller is
 * written down by hand (test/helpers/principals.ts), not computed by src.
 *
 * Adding an operation to the table without a sample here fails this file (and `tsc`).
 */
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditActionOf, type MutationName, type Operation, policy, ruleFor } from '../src/policy.js';
import { schema } from '../src/schema/index.js';
import {
  createCredential,
  CREDENTIALS,
  type CredentialType,
  matrixPrincipals,
  PASSWORD,
  type Principal,
  provisionPrincipals,
  type Role,
  ROLE_ORDER,
  TEAM,
} from './helpers/principals.js';
import { auditEventsOf, type StoredAuditEvent } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { expectGqlError, type GqlResponse, startTestServer, type TestServer } from './helpers/server.js';

// ---------------------------------------------------------------- expectations from the table

type Outcome =
  | { is: 'allowed' }
  /** No credentials at all: 401 with the bare challenge. */
  | { is: 'unauthenticated' }
  /** A secret that must be refused: 401 invalid_token. */
  | { is: 'invalid token' }
  | { is: 'FORBIDDEN'; role?: Role }
  | { is: 'NOT_FOUND' }
  /** A read through `namespace(name:)` of a namespace the caller has no role in: plain null. */
  | { is: 'invisible' };

const rank = (role: Role) => ROLE_ORDER.indexOf(role);

function expectedOutcome(operation: Operation, who: Principal): Outcome {
  const rule = ruleFor(operation);
  if (who.refused) return { is: 'invalid token' };
  if (who.kind === 'ANONYMOUS') return rule.needs === 'anyone' ? { is: 'allowed' } : { is: 'unauthenticated' };
  switch (rule.needs) {
    case 'anyone':
    case 'principal':
      return { is: 'allowed' };
    case 'user':
      return who.kind === 'API_TOKEN' ? { is: 'FORBIDDEN' } : { is: 'allowed' };
    case 'person':
      // A session, or an administrator token without a cap.
      if (who.kind === 'USER_SESSION' || (who.admin && who.maxRole === 'OWNER')) return { is: 'allowed' };
      return { is: 'FORBIDDEN' };
    case 'admin': {
      // Administrator rights, capped by a personal token's maxRole like any role.
      if (!who.admin) return { is: 'FORBIDDEN' };
      const cap = who.kind === 'USER_SESSION' ? 'OWNER' : who.maxRole!;
      return rank(cap) < rank(rule.role) ? { is: 'FORBIDDEN', role: rule.role } : { is: 'allowed' };
    }
    case 'role':
      if (who.teamRole === null) return operation.startsWith('Namespace.') ? { is: 'invisible' } : { is: 'NOT_FOUND' };
      return rank(who.teamRole) < rank(rule.role) ? { is: 'FORBIDDEN', role: rule.role } : { is: 'allowed' };
  }
}

const describeOutcome = (o: Outcome) =>
  ({ allowed: 'allowed', unauthenticated: '401', 'invalid token': '401 invalid_token', FORBIDDEN: 'FORBIDDEN', NOT_FOUND: 'NOT_FOUND', invisible: 'null (invisible)' })[o.is];

/** Every entry of the table, as "Query.viewer", "Namespace.read", "Mutation.login", ... */
const tableOperations = (): Operation[] =>
  (Object.keys(policy) as (keyof typeof policy)[]).flatMap((type) => Object.keys(policy[type]).map((field) => `${type}.${field}` as Operation));

// ---------------------------------------------------------------- samples, one per table entry

interface Env {
  who: Principal;
  /** Unique per case, for the names of what a case creates. */
  n: string;
}
interface Prepared {
  variables?: Record<string, unknown>;
  /** An equivalent caller to use instead of `who.token` (a fresh session, a token in a fresh namespace). */
  token?: string | null;
  /** A snapshot of what the operation would change: must differ after an allowed call, must not after a refused one. */
  observe?: () => Promise<unknown>;
}
interface Sample {
  query: string;
  /** Creates, as the administrator (or as the caller for its own tokens), what this case acts on. */
  prepare?: (env: Env) => Promise<Prepared>;
  /** Domain errors that still count as allowed for this caller: the call passed authorization. */
  tolerate?: (who: Principal) => string[];
  /** Checks on the data of an allowed call. */
  check?: (data: any, who: Principal) => void;
}

let server: TestServer;
let admin: string;
let teamId: string;
let s: ReturnType<typeof actions>;

const isUser = (who: Principal) => !who.refused && (who.kind === 'USER_SESSION' || who.kind === 'PERSONAL_ACCESS_TOKEN');

const asAdmin = (query: string, variables: Record<string, unknown> = {}) => server.ok(query, variables, admin);

const apiTokenState = (name: string) => async () =>
  (await asAdmin('query($n: String!) { namespace(name: "team") { apiToken(name: $n) { name description enabled secretHint secretRotatedAt } } }', { n: name }))
    .namespace.apiToken;

const memberRole = (username: string) => async () =>
  (await asAdmin('{ namespace(name: "team") { members(first: 100) { edges { node { role user { username } } } } } }')).namespace.members.edges
    .map((e: any) => e.node)
    .find((m: any) => m.user.username === username)?.role ?? null;

const namespaceExists = (name: string) => async () => (await asAdmin('query($n: String!) { namespace(name: $n) { id } }', { n: name })).namespace !== null;

const ownPersonalTokens = (token: string) => async () =>
  (await server.ok('{ viewer { personalAccessTokens(first: 100) { edges { node { name description secretHint } } } } }', {}, token)).viewer
    .personalAccessTokens.edges.map((e: any) => e.node);

/** A personal access token of the caller itself (only a user can own one), to act on. */
async function ownPersonalToken(who: Principal, name: string): Promise<Prepared> {
  if (!isUser(who)) return {};
  await s.personalToken(who.token!, { name, maxRole: 'VIEWER' });
  return { observe: ownPersonalTokens(who.token!) };
}

/** The same kind of caller with the same role, in another namespace (for deleting a whole namespace). */
async function placeIn(namespace: string, who: Principal, n: string): Promise<string | null> {
  if (who.refused || who.kind === 'ANONYMOUS' || who.teamRole === null || who.admin) return who.token;
  if (who.kind === 'API_TOKEN') return (await s.apiToken(admin, { namespace, name: `as-${n}`, role: who.teamRole })).secret;
  await s.setRole(admin, namespace, who.username!, who.membership!);
  return who.token;
}

const NAMESPACE_READ = `{ namespace(name: "team") {
  members(first: 100) { edges { node { role user { username } } } }
  apiTokens(first: 100) { edges { node { name } } }
  apiToken(name: "as-viewer") { name role }
  credentials(first: 100) { edges { node { name type } } }
  credential(name: "seen-cred") { name type }
  registries(first: 100) { edges { node { name } } }
  registry(name: "seen-reg") { name credential { name } }
} }`;

// ---------------------------------------------------------------- credentials and registries

const createCredentialAsAdmin = (type: CredentialType, name: string) => createCredential(server, admin, type, TEAM, name);

const credentialState = (name: string) => async () =>
  (await asAdmin('query($n: String!) { namespace(name: "team") { credential(name: $n) { name description validationStatus validationMessage lastValidatedAt } } }', { n: name }))
    .namespace.credential;

const registryState = (name: string) => async () =>
  (await asAdmin('query($n: String!) { namespace(name: "team") { registry(name: $n) { name url credential { name } } } }', { n: name })).namespace.registry;

function createCredentialSample(type: CredentialType, prefix: string): Sample {
  const { typeName: mutation, input, fields } = CREDENTIALS[type];
  return {
    query: `mutation($i: Create${input}!) { create${mutation}(input: $i) { name type validationStatus } }`,
    prepare: async ({ n }) => ({ variables: { i: { namespace: TEAM, name: `${prefix}-${n}`, ...fields } }, observe: credentialState(`${prefix}-${n}`) }),
    check: (data) => expect(data[`create${mutation}`]).toMatchObject({ type, validationStatus: 'UNCHECKED' }),
  };
}

function updateCredentialSample(type: CredentialType, prefix: string): Sample {
  const { typeName: mutation, input } = CREDENTIALS[type];
  return {
    query: `mutation($i: Update${input}!) { update${mutation}(input: $i) { name description } }`,
    prepare: async ({ n }) => {
      await createCredentialAsAdmin(type, `${prefix}-${n}`);
      return { variables: { i: { namespace: TEAM, name: `${prefix}-${n}`, description: 'changed' } }, observe: credentialState(`${prefix}-${n}`) };
    },
    check: (data) => expect(data[`update${mutation}`].description).toBe('changed'),
  };
}

const samples = {
  'Query.node': {
    query: 'query($id: ID!) { node(id: $id) { id ... on Namespace { name } } }',
    prepare: async () => ({ variables: { id: teamId } }),
    check: (data, who) => expect(data.node).toEqual(who.teamRole ? { id: teamId, name: TEAM } : null),
  },
  'Query.viewer': {
    query: '{ viewer { kind isAdmin } }',
    check: (data, who) => expect(data.viewer).toEqual({ kind: who.kind, isAdmin: who.admin }),
  },
  'Query.namespace': {
    query: '{ namespace(name: "team") { name viewerRole } }',
    check: (data, who) => expect(data.namespace).toEqual(who.teamRole ? { name: TEAM, viewerRole: who.teamRole } : null),
  },
  'Query.namespaces': {
    query: '{ namespaces(first: 100) { edges { node { name } } } }',
    check: (data, who) => expect(data.namespaces.edges.map((e: any) => e.node.name).includes(TEAM)).toBe(who.teamRole !== null),
  },
  'Query.users': {
    query: '{ users(first: 100) { edges { node { username } } } }',
    check: (data) => expect(data.users.edges.map((e: any) => e.node.username)).toEqual(expect.arrayContaining(['admin', 'vera', 'otto'])),
  },
  'Query.user': {
    query: '{ user(username: "vera") { username } }',
    check: (data) => expect(data.user).toEqual({ username: 'vera' }),
  },
  'Query.auditEvents': {
    query: '{ auditEvents(first: 5) { edges { node { action outcome } } } }',
    check: (data) => expect(data.auditEvents.edges.length).toBeGreaterThan(0),
  },
  'Namespace.read': {
    query: NAMESPACE_READ,
    check: (data) => {
      expect(data.namespace.members.edges.map((e: any) => e.node)).toContainEqual({ role: 'OWNER', user: { username: 'olga' } });
      expect(data.namespace.apiTokens.edges.map((e: any) => e.node.name)).toEqual(expect.arrayContaining(['as-viewer', 'as-editor', 'as-owner']));
      expect(data.namespace.apiToken).toEqual({ name: 'as-viewer', role: 'VIEWER' });
      expect(data.namespace.credentials.edges.map((e: any) => e.node)).toContainEqual({ name: 'seen-cred', type: 'REGISTRY' });
      expect(data.namespace.credential).toEqual({ name: 'seen-cred', type: 'REGISTRY' });
      expect(data.namespace.registries.edges.map((e: any) => e.node.name)).toContain('seen-reg');
      expect(data.namespace.registry).toEqual({ name: 'seen-reg', credential: { name: 'seen-cred' } });
    },
  },
  'Namespace.auditEvents': {
    query: '{ namespace(name: "team") { auditEvents(first: 5) { edges { node { action outcome } } } } }',
    check: (data) => expect(data.namespace.auditEvents.edges.length).toBeGreaterThan(0),
  },
  'Mutation.login': {
    query: 'mutation($i: LoginInput!) { login(input: $i) { token user { username } } }',
    prepare: async () => ({ variables: { i: { username: 'spare', password: PASSWORD } } }),
    check: (data) => {
      expect(data.login.token).toMatch(/^sgs_/);
      expect(data.login.user).toEqual({ username: 'spare' });
    },
  },
  'Mutation.logout': {
    query: 'mutation { logout }',
    // Logging out ends the caller's session: each case gets a fresh session of the same user.
    prepare: async ({ who }) => {
      if (who.refused || who.kind !== 'USER_SESSION') return {};
      const fresh = await s.login(who.username!);
      return { token: fresh, observe: async () => (await server.gql('{ viewer { kind } }', {}, fresh)).status };
    },
    // Only a session can be ended this way; tokens are told to revoke themselves instead.
    tolerate: (who) => (who.kind === 'USER_SESSION' ? [] : ['BAD_USER_INPUT']),
  },
  'Mutation.createNamespace': {
    query: 'mutation($i: CreateNamespaceInput!) { createNamespace(input: $i) { name viewerRole } }',
    prepare: async ({ n }) => ({ variables: { i: { name: `cn-${n}` } }, observe: namespaceExists(`cn-${n}`) }),
    // The creator owns it (a personal token still acts within its cap there).
    check: (data, who) => expect(data.createNamespace.viewerRole).toBe(who.maxRole ?? 'OWNER'),
  },
  'Mutation.updateNamespace': {
    query: 'mutation($i: UpdateNamespaceInput!) { updateNamespace(input: $i) { description } }',
    prepare: async ({ n }) => ({
      variables: { i: { name: TEAM, description: `d-${n}` } },
      observe: async () => (await asAdmin('{ namespace(name: "team") { description } }')).namespace.description,
    }),
  },
  'Mutation.deleteNamespace': {
    query: 'mutation($i: DeleteNamespaceInput!) { deleteNamespace(input: $i) { deleted } }',
    // Its own namespace, with the caller placed there exactly as it is in "team".
    prepare: async ({ who, n }) => {
      const name = `dn-${n}`;
      await s.createNamespace(admin, name);
      return { token: await placeIn(name, who, n), variables: { i: { name } }, observe: namespaceExists(name) };
    },
    check: (data) => expect(data.deleteNamespace.deleted).toMatch(/^namespaces\/dn-/),
  },
  'Mutation.setMemberRole': {
    query: 'mutation($i: SetMemberRoleInput!) { setMemberRole(input: $i) { role user { username } } }',
    prepare: async () => {
      await s.setRole(admin, TEAM, 'spare', 'EDITOR');
      return { variables: { i: { namespace: TEAM, username: 'spare', role: 'VIEWER' } }, observe: memberRole('spare') };
    },
    check: (data) => expect(data.setMemberRole).toEqual({ role: 'VIEWER', user: { username: 'spare' } }),
  },
  'Mutation.removeMember': {
    query: 'mutation($i: RemoveMemberInput!) { removeMember(input: $i) { deleted } }',
    prepare: async () => {
      await s.setRole(admin, TEAM, 'spare', 'VIEWER');
      return { variables: { i: { namespace: TEAM, username: 'spare' } }, observe: memberRole('spare') };
    },
  },
  'Mutation.createApiToken': {
    query: 'mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret apiToken { name role } } }',
    prepare: async ({ n }) => ({ variables: { i: { namespace: TEAM, name: `mk-${n}`, role: 'VIEWER' } }, observe: apiTokenState(`mk-${n}`) }),
    check: (data) => expect(data.createApiToken.secret).toMatch(/^sgt_/),
  },
  'Mutation.updateApiToken': {
    query: 'mutation($i: UpdateApiTokenInput!) { updateApiToken(input: $i) { description } }',
    prepare: async ({ n }) => {
      await s.apiToken(admin, { namespace: TEAM, name: `up-${n}`, role: 'VIEWER' });
      return { variables: { i: { namespace: TEAM, name: `up-${n}`, description: 'changed' } }, observe: apiTokenState(`up-${n}`) };
    },
  },
  'Mutation.regenerateApiToken': {
    query: 'mutation($i: RegenerateApiTokenInput!) { regenerateApiToken(input: $i) { secret } }',
    prepare: async ({ n }) => {
      await s.apiToken(admin, { namespace: TEAM, name: `rg-${n}`, role: 'VIEWER' });
      return { variables: { i: { namespace: TEAM, name: `rg-${n}` } }, observe: apiTokenState(`rg-${n}`) };
    },
  },
  'Mutation.revokeApiToken': {
    query: 'mutation($i: RevokeApiTokenInput!) { revokeApiToken(input: $i) { deleted } }',
    prepare: async ({ n }) => {
      await s.apiToken(admin, { namespace: TEAM, name: `rv-${n}`, role: 'VIEWER' });
      return { variables: { i: { namespace: TEAM, name: `rv-${n}` } }, observe: apiTokenState(`rv-${n}`) };
    },
  },
  'Mutation.createPersonalAccessToken': {
    query: 'mutation($i: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $i) { secret personalAccessToken { name } } }',
    // maxRole VIEWER: within the cap of every user principal here.
    prepare: async ({ who, n }) => ({
      variables: { i: { name: `pn-${n}`, maxRole: 'VIEWER' } },
      observe: isUser(who) ? ownPersonalTokens(who.token!) : undefined,
    }),
    check: (data) => expect(data.createPersonalAccessToken.secret).toMatch(/^sgp_/),
  },
  'Mutation.updatePersonalAccessToken': {
    query: 'mutation($i: UpdatePersonalAccessTokenInput!) { updatePersonalAccessToken(input: $i) { description } }',
    prepare: async ({ who, n }) => ({ ...(await ownPersonalToken(who, `pu-${n}`)), variables: { i: { name: `pu-${n}`, description: 'changed' } } }),
  },
  'Mutation.regeneratePersonalAccessToken': {
    query: 'mutation($i: RegeneratePersonalAccessTokenInput!) { regeneratePersonalAccessToken(input: $i) { secret } }',
    prepare: async ({ who, n }) => ({ ...(await ownPersonalToken(who, `pg-${n}`)), variables: { i: { name: `pg-${n}` } } }),
  },
  'Mutation.revokePersonalAccessToken': {
    query: 'mutation($i: RevokePersonalAccessTokenInput!) { revokePersonalAccessToken(input: $i) { deleted } }',
    prepare: async ({ who, n }) => ({ ...(await ownPersonalToken(who, `pr-${n}`)), variables: { i: { name: `pr-${n}` } } }),
  },
  'Mutation.createUser': {
    query: 'mutation($i: CreateUserInput!) { createUser(input: $i) { username } }',
    prepare: async ({ n }) => ({
      variables: { i: { username: `nu-${n}`, password: PASSWORD } },
      observe: async () => (await asAdmin('query($u: String!) { user(username: $u) { username } }', { u: `nu-${n}` })).user,
    }),
  },
  'Mutation.updateUser': {
    query: 'mutation($i: UpdateUserInput!) { updateUser(input: $i) { displayName } }',
    prepare: async ({ n }) => ({
      variables: { i: { username: 'spare', displayName: `Spare ${n}` } },
      observe: async () => (await asAdmin('{ user(username: "spare") { displayName } }')).user.displayName,
    }),
  },
  'Mutation.setPassword': {
    query: 'mutation($i: SetPasswordInput!) { setPassword(input: $i) }',
    // One's own password, set to the same value (later logins keep working). A new password
    // ends the user's other sessions: a second session shows whether it happened.
    prepare: async ({ who }) => {
      const variables = { i: { currentPassword: PASSWORD, newPassword: PASSWORD } };
      if (!isUser(who) || who.admin) return { variables };
      const other = await s.login(who.username!);
      return { variables, observe: async () => (await server.gql('{ viewer { kind } }', {}, other)).status };
    },
    check: (data) => expect(data.setPassword).toBe(true),
  },
  'Mutation.createRegistryCredential': createCredentialSample('REGISTRY', 'crc'),
  'Mutation.updateRegistryCredential': updateCredentialSample('REGISTRY', 'urc'),
  'Mutation.createGitCredential': createCredentialSample('GIT', 'cgc'),
  'Mutation.updateGitCredential': updateCredentialSample('GIT', 'ugc'),
  'Mutation.createHetznerCredential': createCredentialSample('HETZNER', 'chc'),
  'Mutation.updateHetznerCredential': updateCredentialSample('HETZNER', 'uhc'),
  'Mutation.createOvhCredential': createCredentialSample('OVH', 'coc'),
  'Mutation.updateOvhCredential': updateCredentialSample('OVH', 'uoc'),
  'Mutation.createSshKeyCredential': {
    query: 'mutation($i: CreateSshKeyCredentialInput!) { createSshKeyCredential(input: $i) { privateKey credential { name generated } } }',
    prepare: async ({ n }) => ({ variables: { i: { namespace: TEAM, name: `ssh-${n}`, generate: true } }, observe: credentialState(`ssh-${n}`) }),
    check: (data) => {
      expect(data.createSshKeyCredential.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
      expect(data.createSshKeyCredential.credential.generated).toBe(true);
    },
  },
  'Mutation.deleteCredential': {
    query: 'mutation($i: DeleteCredentialInput!) { deleteCredential(input: $i) { deleted } }',
    prepare: async ({ n }) => {
      await createCredentialAsAdmin('HETZNER', `dc-${n}`);
      return { variables: { i: { namespace: TEAM, name: `dc-${n}` } }, observe: credentialState(`dc-${n}`) };
    },
    check: (data) => expect(data.deleteCredential.deleted).toMatch(/^namespaces\/team\/credentials\/dc-/),
  },
  'Mutation.validateCredential': {
    // A registry credential no registry uses yet: checked without asking any provider.
    query: 'mutation($i: CredentialRefInput!) { validateCredential(input: $i) { name validationStatus lastValidatedAt } }',
    prepare: async ({ n }) => {
      await createCredentialAsAdmin('REGISTRY', `vc-${n}`);
      return { variables: { i: { namespace: TEAM, name: `vc-${n}` } }, observe: credentialState(`vc-${n}`) };
    },
    check: (data) => expect(data.validateCredential.lastValidatedAt).not.toBeNull(),
  },
  'Mutation.revealCredentialSecret': {
    query: 'mutation($i: CredentialRefInput!) { revealCredentialSecret(input: $i) { credential { name } fields { name value } } }',
    prepare: async ({ n }) => {
      await createCredentialAsAdmin('REGISTRY', `rs-${n}`);
      return { variables: { i: { namespace: TEAM, name: `rs-${n}` } } };
    },
    check: (data) => expect(data.revealCredentialSecret.fields).toEqual([{ name: 'password', value: 'registry-password' }]),
  },
  'Mutation.createRegistry': {
    query: 'mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { name kind } }',
    prepare: async ({ n }) => ({
      variables: { i: { namespace: TEAM, name: `cr-${n}`, url: 'https://charts.example.com', credential: 'seen-cred' } },
      observe: registryState(`cr-${n}`),
    }),
    check: (data) => expect(data.createRegistry).toEqual({ name: expect.stringMatching(/^cr-/), kind: 'HTTP' }),
  },
  'Mutation.updateRegistry': {
    query: 'mutation($i: UpdateRegistryInput!) { updateRegistry(input: $i) { url } }',
    prepare: async ({ n }) => {
      await asAdmin('mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { id } }', { i: { namespace: TEAM, name: `ur-${n}`, url: 'https://charts.example.com' } });
      return { variables: { i: { namespace: TEAM, name: `ur-${n}`, url: 'oci://registry.example.com/charts' } }, observe: registryState(`ur-${n}`) };
    },
  },
  'Mutation.deleteRegistry': {
    query: 'mutation($i: DeleteRegistryInput!) { deleteRegistry(input: $i) { deleted } }',
    prepare: async ({ n }) => {
      await asAdmin('mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { id } }', { i: { namespace: TEAM, name: `dr-${n}`, url: 'https://charts.example.com' } });
      return { variables: { i: { namespace: TEAM, name: `dr-${n}` } }, observe: registryState(`dr-${n}`) };
    },
  },
} satisfies Record<Operation, Sample>;

// ---------------------------------------------------------------- the cases

const principals = matrixPrincipals();
let counter = 0;

beforeAll(async () => {
  // Every mutation for every principal, three of them one user's tokens sharing one budget:
  // about a hundred mutations a user within seconds, past the default mutation limit on a fast machine.
  server = await startTestServer({ SCOPEGATE_MUTATION_LIMIT: '1000' });
  admin = server.adminToken;
  s = actions(server);
  await provisionPrincipals(server, principals);
  await s.createUser('spare');
  await createCredentialAsAdmin('REGISTRY', 'seen-cred');
  await asAdmin('mutation { createRegistry(input: { namespace: "team", name: "seen-reg", url: "https://charts.example.com", credential: "seen-cred" }) { id } }');
  teamId = (await asAdmin('{ namespace(name: "team") { id } }')).namespace.id;
});
afterAll(async () => {
  await server?.close();
});

const AUTH_CODES = ['FORBIDDEN', 'NOT_FOUND', 'UNAUTHENTICATED'];
const codesOf = (res: GqlResponse) => (res.errors ?? []).map((e) => e.extensions?.code);

/**
 * "Every mutation is audited" (README, "Audit trail"): the events one case's request wrote.
 * Allowed: exactly one, SUCCESS (ERROR for a tolerated domain error), by the caller. Refused
 * by a rule: exactly one DENIED event naming the code (and the role needed). Refused before
 * anything runs (no or a bad token): no event of the mutation, only the folded auth.failed.
 */
function expectAudited(mutation: MutationName, outcome: Outcome, who: Principal, res: GqlResponse, events: StoredAuditEvent[]) {
  const action = auditActionOf(mutation);
  // A login is recorded as the session it opens, whoever sent it.
  const actor = mutation === 'login' && outcome.is === 'allowed' ? { kind: 'USER_SESSION', name: 'user:spare' } : { kind: who.kind === 'ANONYMOUS' ? null : who.kind };
  const seen = events.map((e) => ({ action: e.action, outcome: e.outcome, actor: { kind: e.actor_kind, ...('name' in actor ? { name: e.actor_name } : {}) } }));
  switch (outcome.is) {
    case 'allowed':
      expect(seen, 'one audit event for an allowed mutation').toEqual([{ action, outcome: res.errors?.length ? 'ERROR' : 'SUCCESS', actor }]);
      break;
    case 'FORBIDDEN':
    case 'NOT_FOUND': {
      expect(seen, 'one DENIED event for a refused mutation').toEqual([{ action, outcome: 'DENIED', actor }]);
      const details = JSON.parse(events[0].details ?? '{}');
      expect(details.code).toBe(outcome.is);
      if (outcome.is === 'FORBIDDEN' && outcome.role) expect(details.neededRole).toBe(outcome.role);
      break;
    }
    case 'unauthenticated':
    case 'invalid token':
      expect(events.filter((e) => e.action !== 'auth.failed'), 'nothing but auth.failed for a request refused whole').toEqual([]);
      break;
    case 'invisible':
      expect.fail(`${mutation}: a mutation is never merely invisible`);
  }
}

describe('the matrix covers the policy table', () => {
  it('has a sample for every entry of the table, and none for anything else', () => {
    const entries: string[] = tableOperations();
    expect(entries.filter((op) => !(op in samples))).toEqual([]);
    expect(Object.keys(samples).filter((op) => !entries.includes(op))).toEqual([]);
  });

  it('the table says what DESIGN.md says, family by family', () => {
    // DESIGN.md "Authorization": reads VIEWER; credentials and registries EDITOR; tokens,
    // members, namespace changes and its audit log OWNER; namespaces and one's own tokens
    // and password a user in person; users and the instance's audit log administrators.
    // A new operation must fit exactly one family (or get one here, deliberately).
    const families: [RegExp, string][] = [
      [/^Mutation\.login$/, 'anyone'],
      [/^(Query\.(node|viewer|namespace|namespaces)|Mutation\.logout)$/, 'principal'],
      [/^Query\.(users|user|auditEvents)$/, 'admin VIEWER'],
      [/^Mutation\.(createUser|updateUser)$/, 'admin OWNER'],
      [/^Mutation\.(createNamespace|\w+PersonalAccessToken)$/, 'user'],
      // A password leads to a session, the user in full: no narrower token sets one.
      [/^Mutation\.setPassword$/, 'person'],
      [/^Namespace\.read$/, 'role VIEWER'],
      [/^(Namespace\.auditEvents|Mutation\.(updateNamespace|deleteNamespace|setMemberRole|removeMember|\w+ApiToken))$/, 'role OWNER'],
      [/^Mutation\.\w*(Credential|Registry)\w*$/, 'role EDITOR'],
    ];
    const disagreements = tableOperations().flatMap((op) => {
      const rule = ruleFor(op);
      const actual = rule.needs === 'role' || rule.needs === 'admin' ? `${rule.needs} ${rule.role}` : rule.needs;
      const matching = families.filter(([pattern]) => pattern.test(op)).map(([, needs]) => needs);
      return matching.length === 1 && matching[0] === actual ? [] : [`${op}: table says ${actual}, design says ${matching.join(' or ') || 'nothing'}`];
    });
    expect(disagreements).toEqual([]);
  });

  it('the callers cover every rule outcome', () => {
    const seen = new Set(tableOperations().flatMap((op) => principals.map((who) => describeOutcome(expectedOutcome(op, who)))));
    expect([...seen].sort()).toEqual(['401', '401 invalid_token', 'FORBIDDEN', 'NOT_FOUND', 'allowed', 'null (invisible)']);
  });
});

for (const operation of tableOperations()) {
  describe(operation, () => {
    const sample = (samples as Record<string, Sample | undefined>)[operation];
    if (!sample) {
      it(`${operation} has a sample in the matrix`, () => {
        expect.fail(`policy table entry ${operation} has no sample operation in test/authorization-matrix.test.ts`);
      });
      return;
    }
    // A sample the schema cannot run (the table names an operation the schema lacks): one clear failure.
    const invalid = validate(schema, parse(sample.query)).map((e) => e.message);
    if (invalid.length) {
      it(`${operation}: the sample runs against the schema`, () => {
        expect.fail(`${operation} is in the policy table but its sample does not validate: ${invalid.join('; ')}`);
      });
      return;
    }
    const field = operation.startsWith('Namespace.') ? 'namespace' : operation.split('.')[1];
    const mutation = operation.startsWith('Mutation.') ? (field as MutationName) : null;

    for (const who of principals) {
      const outcome = expectedOutcome(operation, who);
      it(`${operation} × ${who.label} → ${describeOutcome(outcome)}`, async () => {
        const prepared = sample.prepare ? await sample.prepare({ who, n: String(++counter) }) : {};
        const token = prepared.token !== undefined ? prepared.token : who.token;
        const before = prepared.observe ? await prepared.observe() : undefined;
        const requestId = `matrix-${++counter}`;
        const res = await server.gql(sample.query, prepared.variables ?? {}, token, { 'x-request-id': requestId });
        const codes = codesOf(res);

        switch (outcome.is) {
          case 'unauthenticated':
            expect(res.status).toBe(401);
            expect(res.headers.get('www-authenticate')).toBe('Bearer realm="scopegate"');
            expect(codes).toEqual(['UNAUTHENTICATED']);
            expect(res.body).not.toHaveProperty('data');
            break;
          case 'invalid token': {
            expect(res.status).toBe(401);
            const challenge = res.headers.get('www-authenticate') ?? '';
            expect(challenge).toMatch(/^Bearer realm="scopegate", error="invalid_token", error_description="[^"]+"$/);
            expect(/error_description="([^"]*)"/.exec(challenge)![1]).toMatch(who.refused!);
            expect(codes).toEqual(['UNAUTHENTICATED']);
            expect(res.errors![0].message).toMatch(who.refused!);
            expect(res.body).not.toHaveProperty('data');
            break;
          }
          case 'FORBIDDEN':
            // A field-level denial: the request itself was fine, so HTTP stays 200.
            expect(res.status).toBe(200);
            expect(codes).toEqual(['FORBIDDEN']);
            expect(res.errors![0].path?.[0]).toBe(field);
            if (outcome.role) expect(res.errors![0].message).toMatch(new RegExp(`\\b${outcome.role}\\b`));
            break;
          case 'NOT_FOUND':
            expect(res.status).toBe(200);
            expect(codes).toEqual(['NOT_FOUND']);
            expect(res.errors![0].path?.[0]).toBe(field);
            break;
          case 'invisible':
            expect(res.status).toBe(200);
            expect(res.body).toEqual({ data: { namespace: null } });
            break;
          case 'allowed': {
            expect(res.status).toBe(200);
            const tolerated = sample.tolerate?.(who) ?? [];
            expect(codes.filter((c) => AUTH_CODES.includes(String(c)))).toEqual([]);
            expect((res.errors ?? []).filter((e) => !tolerated.includes(String(e.extensions?.code)))).toEqual([]);
            if (!res.errors?.length) sample.check?.(res.data, who);
            break;
          }
        }

        if (mutation) expectAudited(mutation, outcome, who, res, auditEventsOf(server, requestId));

        if (prepared.observe) {
          const after = await prepared.observe();
          if (outcome.is === 'allowed' && !res.errors?.length) expect(after, 'an allowed call changes its target').not.toEqual(before);
          else expect(after, 'a refused call changes nothing').toEqual(before);
        }
      });
    }
  });
}

describe('denials in detail', () => {
  const who = (label: string) => principals.find((p) => p.label === label)!;
  const tokenNames = async () =>
    (await asAdmin('{ namespace(name: "team") { apiTokens(first: 100) { edges { node { name role enabled } } } } }')).namespace.apiTokens.edges.map(
      (e: any) => e.node,
    );

  it.each(['user VIEWER', 'api token EDITOR', 'owner of another namespace'])("%s: a refused createApiToken leaves the token list as it was", async (label) => {
    const before = await tokenNames();
    const res = await server.gql('mutation { createApiToken(input: { namespace: "team", name: "sneaky", role: VIEWER }) { secret } }', {}, who(label).token);
    expect(codesOf(res)).toEqual([label === 'owner of another namespace' ? 'NOT_FOUND' : 'FORBIDDEN']);
    expect(res.data).toBeNull();
    expect(JSON.stringify(res.body)).not.toMatch(/sgt_/);
    expect(await tokenNames()).toEqual(before);
  });

  it('a FORBIDDEN field keeps HTTP 200 and the data that was allowed', async () => {
    const res = await server.gql('{ viewer { kind } user(username: "vera") { username } }', {}, who('user VIEWER').token);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ viewer: { kind: 'USER_SESSION' }, user: null });
    expect(res.errors).toHaveLength(1);
    expectGqlError(res, { code: 'FORBIDDEN', path: ['user'] });
  });

  it('a role too low is told which role it needs; no role at all is told nothing exists', async () => {
    const low = await server.gql('mutation { updateNamespace(input: { name: "team", description: "x" }) { name } }', {}, who('api token EDITOR').token);
    expect(expectGqlError(low, { code: 'FORBIDDEN', message: /\bOWNER\b/ }).extensions).toMatchObject({ neededRole: 'OWNER' });
    const none = await server.gql('mutation { updateNamespace(input: { name: "team", description: "x" }) { name } }', {}, who('owner of another namespace').token);
    const missing = await server.gql('mutation { updateNamespace(input: { name: "no-such-namespace", description: "x" }) { name } }', {}, who('owner of another namespace').token);
    // Indistinguishable from a namespace that does not exist (but for the name it was asked about).
    expect(none.errors![0].extensions).toEqual(missing.errors![0].extensions);
    expect(none.errors![0].message.replace('team', 'X')).toBe(missing.errors![0].message.replace('no-such-namespace', 'X'));
  });
});
