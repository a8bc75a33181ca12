/**
 * A refusal is audited by field, whatever the alias (DESIGN.md, "Security invariants"): every
 * Mutation field the policy table refuses a low-privilege caller is sent over real HTTP under
 * an alias, and through a named fragment and an inline fragment, and the trail must hold
 * exactly one DENIED event for that request, with that field's action and that caller.
 */
import { getNamedType, type GraphQLInputType, isEnumType, isInputObjectType, isLeafType, isListType, isNonNullType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditActionOf, type MutationName, policy, type Rule } from '../src/policy.js';
import { schema } from '../src/schema/index.js';
import { auditEventsOf } from './helpers/db.js';
import { matrixPrincipals, PASSWORD, provisionPrincipals, TEAM } from './helpers/principals.js';
import { expectGqlError, startTestServer, type TestServer } from './helpers/server.js';

/** The caller: an API token with VIEWER in "team", refused every mutation but login and logout. */
const CALLER = 'api token VIEWER';
const CALLER_NAME = 'namespaces/team/apitokens/as-viewer';

const refusesCaller = (rule: Rule) => rule.needs === 'user' || rule.needs === 'person' || rule.needs === 'admin' || (rule.needs === 'role' && rule.role !== 'VIEWER');
const refused = (Object.keys(policy.Mutation) as MutationName[]).filter((field) => refusesCaller(policy.Mutation[field]));

/** A minimal value of an input type, from the schema: required fields only, strings naming "team". */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [];
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return Object.fromEntries(fields.map((f) => [f.name, sample(f.type)]));
  }
  if (isEnumType(type)) return type.getValues()[0].value;
  return ({ Boolean: false, Int: 1, Float: 1, DateTime: '2099-01-01T00:00:00Z' } as Record<string, unknown>)[type.name] ?? TEAM;
}

/** The field's selection under a response key, its variable definitions and values. */
function call(field: MutationName, responseKey: string) {
  const def = schema.getMutationType()!.getFields()[field];
  const args = def.args.filter((a) => isNonNullType(a.type));
  const definitions = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const selection = `${responseKey}: ${field}${args.length ? `(${args.map((a) => `${a.name}: $${a.name}`).join(', ')})` : ''}`;
  return {
    definitions: definitions ? `(${definitions})` : '',
    selection: isLeafType(getNamedType(def.type)) ? selection : `${selection} { __typename }`,
    variables: Object.fromEntries(args.map((a) => [a.name, sample(a.type)])),
  };
}

let server: TestServer;
let tokens: Record<string, string>;
let requests = 0;

/** Sends one request with its own request id; returns the response and the events written for it. */
async function send(query: string, variables: Record<string, unknown>, token: string) {
  const requestId = `denial-${++requests}`;
  const res = await server.gql(query, variables, token, { 'x-request-id': requestId });
  return { res, events: auditEventsOf(server, requestId) };
}

beforeAll(async () => {
  server = await startTestServer();
  const principals = await provisionPrincipals(server, matrixPrincipals());
  tokens = Object.fromEntries(Object.values(principals).map((p) => [p.label, p.token!]));
});
afterAll(async () => {
  await server?.close();
});

describe('a refused mutation under an alias', () => {
  it('the caller is refused every mutation but login and logout', () => {
    expect(refused).toEqual((Object.keys(policy.Mutation) as MutationName[]).filter((f) => f !== 'login' && f !== 'logout'));
  });

  it.each(refused)('%s: exactly one DENIED event, for its action and the caller', async (field) => {
    const { definitions, selection, variables } = call(field, 'x');
    const { res, events } = await send(`mutation${definitions} { ${selection} }`, variables, tokens[CALLER]);
    expect(res.status).toBe(200);
    expect(res.errors).toHaveLength(1);
    expectGqlError(res, { code: 'FORBIDDEN', path: ['x'] });
    expect(events).toMatchObject([
      {
        action: auditActionOf(field),
        outcome: 'DENIED',
        actor_name: CALLER_NAME,
        namespace: policy.Mutation[field].needs === 'role' ? TEAM : null,
        details: expect.stringContaining('"code":"FORBIDDEN"'),
      },
    ]);
  });

  it('through a named fragment spread, aliased inside the fragment', async () => {
    const { definitions, selection, variables } = call('createApiToken', 'quiet');
    const { res, events } = await send(`mutation${definitions} { ...Sneaky } fragment Sneaky on Mutation { ${selection} }`, variables, tokens[CALLER]);
    expectGqlError(res, { code: 'FORBIDDEN', path: ['quiet'] });
    // The coordinate the executor now records stays on the server.
    expect(Object.keys(res.errors![0]).sort()).toEqual(['extensions', 'locations', 'message', 'path']);
    expect(events).toEqual([expect.objectContaining({ action: 'apitoken.create', outcome: 'DENIED', actor_name: CALLER_NAME })]);
  });

  it('through an inline fragment on Mutation, aliased inside it', async () => {
    const { definitions, selection, variables } = call('revealCredentialSecret', 'peek');
    const { res, events } = await send(`mutation${definitions} { ... on Mutation { ${selection} } }`, variables, tokens[CALLER]);
    expectGqlError(res, { code: 'FORBIDDEN', path: ['peek'] });
    expect(events).toEqual([expect.objectContaining({ action: 'credential.reveal', outcome: 'DENIED', actor_name: CALLER_NAME })]);
  });

  it('a namespace the caller has no role in (NOT_FOUND) is a denial too', async () => {
    const { res, events } = await send('mutation { gone: deleteNamespace(input: { name: "team" }) { deleted } }', {}, tokens['owner of another namespace']);
    expectGqlError(res, { code: 'NOT_FOUND', path: ['gone'] });
    expect(events).toEqual([expect.objectContaining({ action: 'namespace.delete', outcome: 'DENIED', actor_name: 'user:otto', namespace: TEAM })]);
  });

  // Mutation fields run one after another and all are non-null: the first refusal ends the
  // operation (data: null), so the second alias is never attempted and nothing records it.
  it('two aliases of one refused field: the first is refused and recorded, the second never runs', async () => {
    const a = call('revealCredentialSecret', 'a');
    const b = call('revealCredentialSecret', 'b');
    const { res, events } = await send(`mutation${a.definitions} { ${a.selection} ${b.selection} }`, a.variables, tokens[CALLER]);
    expect(res.body).toMatchObject({ data: null });
    expect(res.errors!.map((e) => e.path)).toEqual([['a']]);
    expect(events).toEqual([expect.objectContaining({ action: 'credential.reveal', outcome: 'DENIED', actor_name: CALLER_NAME })]);
  });

  it('an allowed alias then a refused one: a SUCCESS event and a DENIED event', async () => {
    const { res, events } = await send(
      'mutation { me: createPersonalAccessToken(input: { name: "alias-ok", maxRole: VIEWER }) { __typename } them: createUser(input: { username: "nope", password: "a-long-password-1" }) { __typename } }',
      {},
      tokens['user VIEWER'],
    );
    expect(res.errors!.map((e) => e.path)).toEqual([['them']]);
    expect(events.map((e) => [e.action, e.outcome, e.actor_name])).toEqual([
      ['personaltoken.create', 'SUCCESS', 'user:vera'],
      ['user.create', 'DENIED', 'user:vera'],
    ]);
  });

  it('a refusal that mutate() already recorded is not recorded again', async () => {
    // Passes the `user` scope; refused inside the transaction: only administrators set others' passwords.
    const { res, events } = await send(
      'mutation($i: SetPasswordInput!) { pw: setPassword(input: $i) }',
      { i: { username: 'olga', newPassword: PASSWORD } },
      tokens['user VIEWER'],
    );
    expectGqlError(res, { code: 'FORBIDDEN', path: ['pw'] });
    expect(events).toEqual([expect.objectContaining({ action: 'user.set_password', outcome: 'DENIED', actor_name: 'user:vera' })]);
  });
});
