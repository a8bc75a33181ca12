/**
 * Deny by default (DESIGN.md, "Authorization"): Pothos has no switch that refuses fields
 * without scopes, so this walks the executable schema and fails on anything reachable
 * without a declared scope. The policy table in src/policy.ts is the single source of the
 * root fields' scopes: every root field is in it and everything in it is a root field.
 */
import { type GraphQLField, type GraphQLObjectType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Operation, policy, ruleFor, type Rule } from '../src/policy.js';
import { schema } from '../src/schema/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** The only fields that may skip the root type's scopes: reachable without a token. */
const PUBLIC_FIELDS = new Set(['Mutation.login']);

/** Types that only carry other types (which have their own scopes); they hold no data of their own. */
const isStructural = (name: string) =>
  /(Connection|Edge|Payload)$/.test(name) || ['PageInfo', 'CredentialSecret', 'SecretField', 'AuditActor'].includes(name);

/** Namespace fields the `Namespace.read` rule covers (DESIGN.md: members, tokens, credentials, registries). */
const NAMESPACE_READ_FIELDS = ['members', 'apiTokens', 'apiToken', 'credentials', 'credential', 'registries', 'registry'];

type PothosOptions = { authScopes?: unknown; skipTypeScopes?: boolean };
const optionsOf = (thing: { extensions?: Record<string, any> | null }): PothosOptions => thing.extensions?.pothosOptions ?? {};

const objectTypes = (): GraphQLObjectType[] =>
  Object.values(schema.getTypeMap()).filter((t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith('__'));

const hasScopes = (scopes: unknown) =>
  typeof scopes === 'function' || (typeof scopes === 'object' && scopes !== null && Object.keys(scopes).length > 0);

/** What a field's scopes come to, for sample arguments naming namespace "ns" (or a parent with id "ns-id"). */
function evaluateScopes(field: GraphQLField<unknown, unknown>): unknown {
  const scopes = optionsOf(field).authScopes;
  if (typeof scopes !== 'function') return scopes;
  const args = { input: { namespace: 'ns', name: 'ns', username: 'someone' }, name: 'ns', username: 'someone' };
  return scopes({ id: 'ns-id' }, args, {}, {});
}

/** The scopes a rule must turn into (src/schema/auth.ts); root fields name the namespace, object fields are their parent. */
function scopesOfRule(rule: Rule, onRoot: boolean): unknown {
  switch (rule.needs) {
    case 'anyone':
      return undefined;
    case 'principal':
      return { principal: true };
    case 'user':
      return { user: true };
    case 'person':
      return { person: true };
    case 'admin':
      return { admin: rule.role };
    case 'role':
      return { namespace: { ...(onRoot ? { name: 'ns' } : { id: 'ns-id' }), role: rule.role } };
  }
}

describe('deny by default: the schema declares a scope for everything reachable', () => {
  it('Query and Mutation require a principal at the type level', () => {
    for (const root of [schema.getQueryType()!, schema.getMutationType()!]) {
      const scopes = optionsOf(root).authScopes;
      expect(hasScopes(scopes), `${root.name} has type-level authScopes`).toBe(true);
      // The type scope is the floor for every root field: it must not be satisfiable without a token.
      expect(scopes, `${root.name} type scope`).toEqual({ principal: true });
    }
  });

  it('only the public fields skip type scopes', () => {
    const skipping = objectTypes().flatMap((type) =>
      Object.values(type.getFields())
        .filter((f) => optionsOf(f).skipTypeScopes)
        .map((f) => `${type.name}.${f.name}`),
    );
    expect(skipping.sort()).toEqual([...PUBLIC_FIELDS].sort());
  });

  it('public fields are exactly the "anyone" rules of the policy table', () => {
    const anyone = (['Query', 'Mutation'] as const).flatMap((type) =>
      Object.keys(policy[type])
        .filter((field) => ruleFor(`${type}.${field}` as Operation).needs === 'anyone')
        .map((field) => `${type}.${field}`),
    );
    expect(anyone.sort()).toEqual([...PUBLIC_FIELDS].sort());
  });

  it('every type that holds data declares type-level scopes; the rest are structural', () => {
    const offenders: string[] = [];
    for (const type of objectTypes()) {
      if (type === schema.getQueryType() || type === schema.getMutationType()) continue;
      const scoped = hasScopes(optionsOf(type).authScopes);
      const holdsData = type.getInterfaces().some((i) => i.name === 'Node') || ['Viewer', 'Membership'].includes(type.name);
      if (holdsData && !scoped) offenders.push(`${type.name} (holds data, no authScopes)`);
      else if (!scoped && !isStructural(type.name)) offenders.push(`${type.name} (no authScopes and not a structural type)`);
    }
    expect(offenders).toEqual([]);
  });

  it('the Node types include every kind of resource (so the check above is not vacuous)', () => {
    const nodes = objectTypes()
      .filter((t) => t.getInterfaces().some((i) => i.name === 'Node'))
      .map((t) => t.name);
    expect(nodes).toEqual(expect.arrayContaining(['Namespace', 'User', 'ApiToken', 'PersonalAccessToken']));
  });
});

describe('the policy table is the single source of the root fields and their scopes', () => {
  for (const rootName of ['Query', 'Mutation'] as const) {
    it(`every ${rootName} field is in the table, and every table entry is a ${rootName} field`, () => {
      const fields = Object.keys(schema.getType(rootName) ? (schema.getType(rootName) as GraphQLObjectType).getFields() : {});
      const table = Object.keys(policy[rootName]);
      expect(fields.filter((f) => !table.includes(f)).map((f) => `${rootName}.${f} (not in the table)`)).toEqual([]);
      expect(table.filter((f) => !fields.includes(f)).map((f) => `${rootName}.${f} (in the table, not in the schema)`)).toEqual([]);
    });

    it(`every ${rootName} field's scopes are the ones its table rule gives`, () => {
      const root = schema.getType(rootName) as GraphQLObjectType;
      const mismatches: { field: string; rule: Rule; scopes: unknown }[] = [];
      for (const field of Object.values(root.getFields())) {
        const operation = `${rootName}.${field.name}` as Operation;
        if (!(field.name in policy[rootName])) continue; // reported by the test above
        const rule = ruleFor(operation);
        const scopes = evaluateScopes(field);
        const expected = scopesOfRule(rule, true);
        // A "principal" rule is already the type scope; a field may restate it or leave it out.
        const ok = rule.needs === 'principal' ? scopes === undefined || JSON.stringify(scopes) === JSON.stringify(expected) : JSON.stringify(scopes) === JSON.stringify(expected);
        if (!ok) mismatches.push({ field: operation, rule, scopes });
      }
      expect(mismatches).toEqual([]);
    });
  }

  it('Namespace.read guards the namespace fields it covers, with role VIEWER', () => {
    const ns = schema.getType('Namespace') as GraphQLObjectType;
    const fields = ns.getFields();
    const expected = scopesOfRule(ruleFor('Namespace.read'), false);
    const problems = NAMESPACE_READ_FIELDS.flatMap((name) =>
      !fields[name] ? [`Namespace.${name} is missing`] : JSON.stringify(evaluateScopes(fields[name])) === JSON.stringify(expected) ? [] : [`Namespace.${name} scopes ${JSON.stringify(evaluateScopes(fields[name]))}`],
    );
    expect(problems).toEqual([]);
  });

  it('every other Namespace entry of the table is a Namespace field with that rule', () => {
    const ns = schema.getType('Namespace') as GraphQLObjectType;
    const fields = ns.getFields();
    const problems = Object.keys(policy.Namespace)
      .filter((key) => key !== 'read')
      .flatMap((key) => {
        const expected = scopesOfRule(ruleFor(`Namespace.${key}` as Operation), false);
        if (!fields[key]) return [`Namespace.${key} is in the table, not in the schema`];
        const scopes = evaluateScopes(fields[key]);
        return JSON.stringify(scopes) === JSON.stringify(expected) ? [] : [`Namespace.${key} scopes ${JSON.stringify(scopes)}, expected ${JSON.stringify(expected)}`];
      });
    expect(problems).toEqual([]);
  });

  it('Namespace fields with their own scopes are all covered by a Namespace rule of the table', () => {
    const ns = schema.getType('Namespace') as GraphQLObjectType;
    const covered = new Set([...NAMESPACE_READ_FIELDS, ...Object.keys(policy.Namespace)]);
    const uncovered = Object.values(ns.getFields())
      .filter((f) => optionsOf(f).authScopes !== undefined && !covered.has(f.name))
      .map((f) => `Namespace.${f.name}`);
    expect(uncovered).toEqual([]);
  });
});

describe('introspection over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const INTROSPECTION = '{ __schema { queryType { name } types { name } } }';

  it.each([
    ['__schema', INTROSPECTION],
    ['__type', '{ __type(name: "Query") { name fields { name } } }'],
    ['__typename', '{ __typename }'],
  ])('without a token, %s is refused with 401 and no data', async (_what, query) => {
    const res = await server.gql(query);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="scopegate"');
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(res.body).not.toHaveProperty('data');
  });

  it('without a token, introspection over GET is refused too', async () => {
    const res = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent(INTROSPECTION)}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="scopegate"');
    const body = await res.json();
    expect(body).not.toHaveProperty('data');
    expect(JSON.stringify(body)).not.toContain('Namespace');
  });

  it('an anonymous mutation may not smuggle anything in beside login', async () => {
    const res = await server.gql('mutation { login(input: { username: "admin", password: "whatever-password" }) { token } logout }');
    expect(res.status).toBe(401);
    expect(res.body).not.toHaveProperty('data');
  });

  it('with a token, introspection works (the refusal above is about the missing token)', async () => {
    const res = await server.gql(INTROSPECTION, {}, server.adminToken);
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.types.map((t: any) => t.name)).toContain('Namespace');
  });
});
