import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/auth/secrets.js';
import { actions } from './helpers/fixtures.js';
import { expectGqlError, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

/**
 * Bad input of every kind gets a clear, specific refusal: BAD_USER_INPUT naming the field
 * for invalid arguments, a 4xx for broken requests; never a 500, never a masked internal
 * error, and never a half-written change.
 */

const LONG = 'x'.repeat(10_000);
const BAD_NAMES = [
  ['uppercase', 'Prod'],
  ['underscore', 'my_token'],
  ['leading dash', '-build'],
  ['trailing dash', 'build-'],
  ['64 characters', 'a'.repeat(64)],
  ['empty', ''],
  ['10 000 characters', 'n'.repeat(10_000)],
] as const;
const NAME_RULE = 'must be 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit (a DNS label)';

/** Never a 500 and never a masked internal error, whatever the request. */
function expectNoInternalError(res: { status: number; body?: unknown }) {
  expect(res.status).toBeLessThan(500);
  expect(JSON.stringify(res.body ?? null)).not.toContain('INTERNAL_SERVER_ERROR');
}

/** BAD_USER_INPUT whose message starts with the path of the offending field ("input.name: …"). */
function expectBadInput(res: GqlResponse, field: string, rest?: string | RegExp) {
  expectNoInternalError(res);
  expect(res.errors, JSON.stringify(res.body)).toHaveLength(1);
  const { message } = expectGqlError(res, { code: 'BAD_USER_INPUT', field });
  expect(message.startsWith(`${field}: `), `"${message.slice(0, 200)}" should start with "${field}: "`).toBe(true);
  if (typeof rest === 'string') expect(message).toBe(`${field}: ${rest}`);
  else if (rest) expect(message.slice(field.length + 2)).toMatch(rest);
  // The whole of a 10 000-character value is not echoed back.
  expect(message.length).toBeLessThan(600);
}

/** A request made by hand, for bodies and headers the gql() helper would not send. */
async function raw(server: TestServer, init: RequestInit & { duplex?: 'half' }, url = server.graphqlUrl) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, text, body };
}

describe('bad input is refused clearly, naming the field', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let owner: string;
  /** The owner's personal token capped at EDITOR. */
  let editorPat: string;

  const namespaceNames = async () =>
    (await server.ok('{ namespaces(first: 100) { edges { node { name } } } }', {}, server.adminToken)).namespaces.edges.map((e: any) => e.node.name);
  const apiTokenNames = async () =>
    (await server.ok('{ namespace(name: "shop") { apiTokens(first: 100) { edges { node { name } } } } }', {}, owner)).namespace.apiTokens.edges.map(
      (e: any) => e.node.name,
    );
  const personalTokenNames = async (token = owner) =>
    (await server.ok('{ viewer { personalAccessTokens(first: 100) { edges { node { name } } } } }', {}, token)).viewer.personalAccessTokens.edges.map(
      (e: any) => e.node.name,
    );
  const usernames = async () =>
    (await server.ok('{ users(first: 100) { edges { node { username displayName } } } }', {}, server.adminToken)).users.edges.map((e: any) => e.node);

  beforeAll(async () => {
    // One user sends a long table of bad inputs within seconds: near the default mutation limit on a fast machine.
    server = await startTestServer({ SCOPEGATE_MUTATION_LIMIT: '1000' });
    act = actions(server);
    owner = (await act.signUp('olivia')).token;
    await act.createNamespace(owner, 'shop');
    await act.createApiToken(owner, { namespace: 'shop', name: 'existing', role: 'VIEWER' });
    editorPat = await act.createPersonalToken(owner, { name: 'capped', maxRole: 'EDITOR' });
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('resource names', () => {
    it.each(BAD_NAMES)('refuses a namespace name with %s', async (_label, name) => {
      const before = await namespaceNames();
      const res = await server.gql('mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }', { input: { name } }, owner);
      expectBadInput(res, 'input.name', NAME_RULE);
      expect(await namespaceNames()).toEqual(before);
    });

    it.each(BAD_NAMES)('refuses an API token name with %s', async (_label, name) => {
      const before = await apiTokenNames();
      const res = await server.gql(
        'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }',
        { input: { namespace: 'shop', name, role: 'VIEWER' } },
        owner,
      );
      expectBadInput(res, 'input.name', NAME_RULE);
      expect(res.data).toBeNull();
      expect(await apiTokenNames()).toEqual(before);
    });

    it.each(BAD_NAMES)('refuses a personal access token name with %s', async (_label, name) => {
      const before = await personalTokenNames();
      const res = await server.gql(
        'mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { secret } }',
        { input: { name } },
        owner,
      );
      expectBadInput(res, 'input.name', NAME_RULE);
      expect(await personalTokenNames()).toEqual(before);
    });

    it('accepts the longest and shortest valid names (the rule is not stricter than it says)', async () => {
      const longest = `a${'-'.repeat(61)}z`;
      await server.ok('mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }', { input: { name: longest } }, owner);
      await act.createApiToken(owner, { namespace: 'shop', name: '7', role: 'VIEWER' });
      expect(await namespaceNames()).toContain(longest);
      expect(await apiTokenNames()).toContain('7');
    });

    it('refuses a bad username when creating a user, and a too short password', async () => {
      const before = await usernames();
      for (const username of ['Alice', '-alice', 'a'.repeat(41), '', LONG]) {
        const res = await server.gql(
          'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }',
          { input: { username, password: 'a-long-password-1' } },
          server.adminToken,
        );
        expectBadInput(res, 'input.username', /^must be 1-40 lowercase letters/);
      }
      const short = await server.gql(
        'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }',
        { input: { username: 'shorty', password: 'too-short' } },
        server.adminToken,
      );
      expectBadInput(short, 'input.password', 'must be at least 12 characters');
      expect(await usernames()).toEqual(before);
    });
  });

  describe('expiry', () => {
    const createToken = (input: Record<string, unknown>) =>
      server.gql('mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }', { input: { namespace: 'shop', role: 'VIEWER', ...input } }, owner);
    const createPersonal = (input: Record<string, unknown>) =>
      server.gql('mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { secret } }', { input }, owner);
    const inAWeek = () => new Date(Date.now() + 7 * 86_400_000).toISOString();

    it('refuses expiresAt and expiresInDays together', async () => {
      const before = [await apiTokenNames(), await personalTokenNames()];
      expectBadInput(await createToken({ name: 'both', expiresAt: inAWeek(), expiresInDays: 7 }), 'input.expiresInDays', 'give at most one of expiresAt and expiresInDays');
      expectBadInput(await createPersonal({ name: 'both', expiresAt: inAWeek(), expiresInDays: 7 }), 'input.expiresInDays', 'give at most one of expiresAt and expiresInDays');
      const regen = await server.gql(
        'mutation($input: RegenerateApiTokenInput!) { regenerateApiToken(input: $input) { secret } }',
        { input: { namespace: 'shop', name: 'existing', expiresAt: inAWeek(), expiresInDays: 7 } },
        owner,
      );
      expectBadInput(regen, 'input.expiresInDays', 'give at most one of expiresAt and expiresInDays');
      expect([await apiTokenNames(), await personalTokenNames()]).toEqual(before);
    });

    it('refuses an expiresAt in the past, on create, update and regenerate', async () => {
      const past = new Date(Date.now() - 60_000).toISOString();
      const before = await apiTokenNames();
      expectBadInput(await createToken({ name: 'past', expiresAt: past }), 'input.expiresAt', `must be in the future (it is ${past})`);
      expectBadInput(await createPersonal({ name: 'past', expiresAt: past }), 'input.expiresAt', `must be in the future (it is ${past})`);
      const update = await server.gql(
        'mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { expiresAt } }',
        { input: { namespace: 'shop', name: 'existing', expiresAt: past } },
        owner,
      );
      expectBadInput(update, 'input.expiresAt', `must be in the future (it is ${past})`);
      const hint = async () => (await server.ok('{ namespace(name: "shop") { apiToken(name: "existing") { expiresAt secretHint } } }', {}, owner)).namespace.apiToken;
      const tokenBefore = await hint();
      const regen = await server.gql(
        'mutation($input: RegenerateApiTokenInput!) { regenerateApiToken(input: $input) { secret } }',
        { input: { namespace: 'shop', name: 'existing', expiresAt: past } },
        owner,
      );
      expectBadInput(regen, 'input.expiresAt', `must be in the future (it is ${past})`);
      expect(await hint()).toEqual(tokenBefore);
      expect(tokenBefore.expiresAt).toBeNull();
      expect(await apiTokenNames()).toEqual(before);
    });

    it.each([0, -5, 3651, 99_999])('refuses expiresInDays %i', async (days) => {
      const before = [await apiTokenNames(), await personalTokenNames()];
      expectBadInput(await createToken({ name: 'days', expiresInDays: days }), 'input.expiresInDays', 'must be a whole number of days from 1 to 3650');
      expectBadInput(await createPersonal({ name: 'days', expiresInDays: days }), 'input.expiresInDays', 'must be a whole number of days from 1 to 3650');
      expect([await apiTokenNames(), await personalTokenNames()]).toEqual(before);
    });

    it.each(['tomorrow', '2030-01-01', '2030-01-01T00:00:00', '2030-13-45T00:00:00Z', '1e12'])(
      'refuses the DateTime %j (in variables), naming the field and what is allowed',
      async (value) => {
        const before = await apiTokenNames();
        const res = await createToken({ name: 'when', expiresAt: value });
        expectNoInternalError(res);
        const { message } = expectGqlError(res, { code: 'BAD_USER_INPUT' });
        // graphql-js reports variable coercion as `Variable "$input" got invalid value … at "input.expiresAt"; …`.
        expect(message).toContain('"input.expiresAt"');
        expect(message).toContain('ISO-8601');
        expect(res.data ?? null).toBeNull();
        expect(await apiTokenNames()).toEqual(before);
      },
    );

    // In the query text graphql-js cannot name the input field (parseLiteral is not told
    // where it is): the error names the type and the value found, and points at it.
    it('refuses a non-ISO DateTime literal in the query text, pointing at it', async () => {
      const query = 'mutation { createApiToken(input: { namespace: "shop", name: "when", role: VIEWER, expiresAt: "tomorrow" }) { secret } }';
      const res = await server.gql(query, {}, owner);
      expectNoInternalError(res);
      const error = expectGqlError(res, {
        code: 'GRAPHQL_VALIDATION_FAILED',
        message:
          'Expected value of type "DateTime", found "tomorrow"; DateTime must be an ISO-8601 instant with a time zone between 1970 and 9999, e.g. 2026-01-01T00:00:00Z',
      });
      const { line, column } = (error as any).locations[0];
      expect(query.split('\n')[line - 1].slice(column - 1)).toMatch(/^"tomorrow"/);
    });
  });

  describe('roles and grace periods', () => {
    it('refuses a personal token above the maxRole of the token asking (FORBIDDEN)', async () => {
      const before = await personalTokenNames();
      const res = await server.gql(
        'mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { secret } }',
        { input: { name: 'wider', maxRole: 'OWNER' } },
        editorPat,
      );
      expectNoInternalError(res);
      expectGqlError(res, { code: 'FORBIDDEN', message: 'role OWNER is above the role EDITOR of the token making this request' });
      expect(await personalTokenNames()).toEqual(before);
    });

    it('a capped token cannot widen an API token (FORBIDDEN); an OWNER API token may mint narrower ones', async () => {
      // An API token with OWNER may create tokens; one capped below cannot widen anything.
      const ownerApi = await act.createApiToken(owner, { namespace: 'shop', name: 'ops', role: 'OWNER' });
      const viewerSecret = await act.createApiToken(ownerApi, { namespace: 'shop', name: 'made-by-token', role: 'VIEWER' });
      expect(viewerSecret).toMatch(/^sgt_/);
      const widen = await server.gql('mutation { updateApiToken(input: { namespace: "shop", name: "ops", role: OWNER }) { role } }', {}, editorPat);
      expectNoInternalError(widen);
      expectGqlError(widen, { code: 'FORBIDDEN', message: /requires role OWNER/ });
    });

    it.each([-1, 86_401])('refuses gracePeriodSeconds %i and keeps the old secret', async (grace) => {
      const secret = await act.createApiToken(owner, { namespace: 'shop', name: `grace${grace < 0 ? 'neg' : 'big'}`, role: 'VIEWER' });
      const name = `grace${grace < 0 ? 'neg' : 'big'}`;
      const res = await server.gql(
        'mutation($input: RegenerateApiTokenInput!) { regenerateApiToken(input: $input) { secret } }',
        { input: { namespace: 'shop', name, gracePeriodSeconds: grace } },
        owner,
      );
      expectBadInput(res, 'input.gracePeriodSeconds', 'must be a whole number of seconds from 0 to 86400');
      const token = (await server.ok(`{ namespace(name: "shop") { apiToken(name: "${name}") { secretHint secretRotatedAt } } }`, {}, owner)).namespace.apiToken;
      expect(token).toEqual({ secretHint: `sgt_…${secret.slice(-4)}`, secretRotatedAt: null });
      expect((await act.whoami(secret)).status).toBe(200);

      await act.createPersonalToken(owner, { name });
      const personal = await server.gql(
        'mutation($input: RegeneratePersonalAccessTokenInput!) { regeneratePersonalAccessToken(input: $input) { secret } }',
        { input: { name, gracePeriodSeconds: grace } },
        owner,
      );
      expectBadInput(personal, 'input.gracePeriodSeconds', 'must be a whole number of seconds from 0 to 86400');
    });
  });

  describe('10 000-character strings', () => {
    it('description', async () => {
      const before = [await namespaceNames(), await apiTokenNames(), await personalTokenNames()];
      const rule = 'must be at most 1000 characters';
      expectBadInput(
        await server.gql('mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }', { input: { name: 'described', description: LONG } }, owner),
        'input.description',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }', { input: { namespace: 'shop', name: 'described', role: 'VIEWER', description: LONG } }, owner),
        'input.description',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { secret } }', { input: { name: 'described', description: LONG } }, owner),
        'input.description',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { description } }', { input: { namespace: 'shop', name: 'existing', description: LONG } }, owner),
        'input.description',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: UpdateNamespaceInput!) { updateNamespace(input: $input) { description } }', { input: { name: 'shop', description: LONG } }, owner),
        'input.description',
        rule,
      );
      expect([await namespaceNames(), await apiTokenNames(), await personalTokenNames()]).toEqual(before);
      const unchanged = await server.ok('{ namespace(name: "shop") { description apiToken(name: "existing") { description } } }', {}, owner);
      expect(unchanged.namespace).toEqual({ description: null, apiToken: { description: null } });
    });

    it('displayName', async () => {
      const before = [await namespaceNames(), await usernames()];
      const rule = 'must be at most 200 characters';
      expectBadInput(
        await server.gql('mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }', { input: { name: 'shown', displayName: LONG } }, owner),
        'input.displayName',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { username: 'shown', displayName: LONG, password: 'a-long-password-1' } }, server.adminToken),
        'input.displayName',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: UpdateUserInput!) { updateUser(input: $input) { displayName } }', { input: { username: 'olivia', displayName: LONG } }, server.adminToken),
        'input.displayName',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: UpdateNamespaceInput!) { updateNamespace(input: $input) { displayName } }', { input: { name: 'shop', displayName: LONG } }, owner),
        'input.displayName',
        rule,
      );
      expect([await namespaceNames(), await usernames()]).toEqual(before);
    });

    it('name (namespace, API token, personal token)', async () => {
      const before = [await namespaceNames(), await apiTokenNames(), await personalTokenNames()];
      expectBadInput(await server.gql('mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }', { input: { name: LONG } }, owner), 'input.name', NAME_RULE);
      expectBadInput(
        await server.gql('mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }', { input: { namespace: 'shop', name: LONG, role: 'VIEWER' } }, owner),
        'input.name',
        NAME_RULE,
      );
      expectBadInput(
        await server.gql('mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { secret } }', { input: { name: LONG } }, owner),
        'input.name',
        NAME_RULE,
      );
      expect([await namespaceNames(), await apiTokenNames(), await personalTokenNames()]).toEqual(before);
    });

    it('username (createUser, login, setMemberRole)', async () => {
      const before = await usernames();
      expectBadInput(
        await server.gql('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { username: LONG, password: 'a-long-password-1' } }, server.adminToken),
        'input.username',
        /^must be 1-40 lowercase letters/,
      );
      expectBadInput(
        await server.gql('mutation($input: LoginInput!) { login(input: $input) { token } }', { input: { username: LONG, password: 'a-long-password-1' } }),
        'input.username',
        'must be at most 100 characters',
      );
      expectBadInput(
        await server.gql('mutation($input: SetMemberRoleInput!) { setMemberRole(input: $input) { role } }', { input: { namespace: 'shop', username: LONG, role: 'VIEWER' } }, owner),
        'input.username',
        /^must be 1-40 lowercase letters/,
      );
      expect(await usernames()).toEqual(before);
      const members = await server.ok('{ namespace(name: "shop") { members { edges { node { user { username } } } } } }', {}, owner);
      expect(members.namespace.members.edges).toHaveLength(1);
    });

    it('password (createUser, login, setPassword)', async () => {
      const before = await usernames();
      const rule = 'must be at most 1024 characters';
      expectBadInput(
        await server.gql('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { username: 'longpw', password: LONG } }, server.adminToken),
        'input.password',
        rule,
      );
      expectBadInput(await server.gql('mutation($input: LoginInput!) { login(input: $input) { token } }', { input: { username: 'olivia', password: LONG } }), 'input.password', rule);
      expectBadInput(
        await server.gql('mutation($input: SetPasswordInput!) { setPassword(input: $input) }', { input: { currentPassword: 'a-long-password-1', newPassword: LONG } }, owner),
        'input.newPassword',
        rule,
      );
      expectBadInput(
        await server.gql('mutation($input: SetPasswordInput!) { setPassword(input: $input) }', { input: { username: 'olivia', newPassword: LONG } }, server.adminToken),
        'input.newPassword',
        rule,
      );
      expect(await usernames()).toEqual(before);
      // The password did not change.
      expect(await act.login('olivia')).toMatch(/^sgs_/);
    });
  });

  describe('broken requests', () => {
    it('malformed JSON: HTTP 400 with a JSON error', async () => {
      const res = await raw(server, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` },
        body: '{"query": "{ viewer { kind } }", ',
      });
      expectNoInternalError(res);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/json/);
      expect(res.body.errors[0].message).toBe('POST body sent invalid JSON.');
      expect(res.body.data).toBeUndefined();
    });

    it('a body that is not GraphQL: a syntax error, 400 for application/graphql-response+json', async () => {
      const strict = await raw(server, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${owner}` },
        body: '{"query":"hello"}',
      });
      expectNoInternalError(strict);
      expect(strict.status).toBe(400);
      expect(strict.body.errors[0]).toMatchObject({ message: 'Syntax Error: Unexpected Name "hello".', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      // With the legacy application/json the GraphQL-over-HTTP spec keeps 200; still a clear syntax error.
      const legacy = await raw(server, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${owner}` },
        body: '{"query":"hello"}',
      });
      expectNoInternalError(legacy);
      expect(legacy.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      expect(legacy.body.data).toBeUndefined();
    });

    it('a JSON body without a query, and a text/plain body, are refused with 4xx', async () => {
      const noQuery = await raw(server, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${owner}` },
        body: '{"variables": {}}',
      });
      expectNoInternalError(noQuery);
      expect(noQuery.status).toBe(400);
      expect(noQuery.body.errors[0].message).toBe('Must provide query string.');

      const before = await namespaceNames();
      const plain = await raw(server, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${owner}` },
        body: JSON.stringify({ query: 'mutation { createNamespace(input: { name: "via-text-plain" }) { name } }' }),
      });
      expectNoInternalError(plain);
      expect(plain.status).toBe(415);
      expect(await namespaceNames()).toEqual(before);
    });

    it('GET with a mutation is refused (405) and does not execute', async () => {
      const before = await namespaceNames();
      const query = encodeURIComponent('mutation { createNamespace(input: { name: "via-get" }) { name } }');
      const res = await raw(server, { method: 'GET', headers: { authorization: `Bearer ${owner}`, accept: 'application/json' } }, `${server.graphqlUrl}?query=${query}`);
      expectNoInternalError(res);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(res.body.errors[0].message).toBe('Can only perform a mutation operation from a POST request.');
      expect(await namespaceNames()).toEqual(before);
      // After the call: no such namespace (looked up by name, not only within a page of the list).
      expect((await server.ok('{ namespace(name: "via-get") { name } }', {}, server.adminToken)).namespace).toBeNull();
      // A query over GET is fine.
      const read = await raw(server, { method: 'GET', headers: { authorization: `Bearer ${owner}`, accept: 'application/json' } }, `${server.graphqlUrl}?query=${encodeURIComponent('{ viewer { kind } }')}`);
      expect(read.status).toBe(200);
      expect(read.body.data.viewer.kind).toBe('USER_SESSION');
    });

    it('a bearer token with a bad checksum: 401 "malformed" without a database lookup', async () => {
      const real = await act.createApiToken(owner, { namespace: 'shop', name: 'checksummed', role: 'VIEWER' });
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
      // Every SQL statement the server runs is recorded; count the reads of the tokens table.
      const tokenLookups = () => server.statements.filter((sql) => /from "tokens"/i.test(sql)).length;
      for (const bad of [flip(real, 10), flip(real, real.length - 1), real.slice(0, -1), `sgx_${real.slice(4)}`, real.toLowerCase()]) {
        const before = tokenLookups();
        const res = await act.whoami(bad);
        expectNoInternalError(res);
        expect(res.status).toBe(401);
        expectGqlError(res, { code: 'UNAUTHENTICATED', message: 'token is malformed (bad prefix, length or checksum)' });
        expect(res.headers.get('www-authenticate')).toBe(
          'Bearer realm="scopegate", error="invalid_token", error_description="token is malformed (bad prefix, length or checksum)"',
        );
        expect(res.data).toBeUndefined();
        expect(tokenLookups() - before).toBe(0);
      }
      // The count does see lookups: a well-formed but unknown token costs one.
      const before = tokenLookups();
      const unknown = await act.whoami(generateSecret('API'));
      expect(unknown.status).toBe(401);
      expectGqlError(unknown, { code: 'UNAUTHENTICATED', message: 'token is not valid (unknown or revoked)' });
      expect(tokenLookups() - before).toBeGreaterThan(0);
      expect((await act.whoami(real)).status).toBe(200);
    });

    it('Authorization: Basic is refused with 401 and a Bearer challenge', async () => {
      const res = await server.gql('{ viewer { kind } }', {}, null, { authorization: `Basic ${Buffer.from('olivia:a-long-password-1').toString('base64')}` });
      expectNoInternalError(res);
      expect(res.status).toBe(401);
      expectGqlError(res, { code: 'UNAUTHENTICATED', message: 'Authorization header must be "Bearer <token>"' });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="scopegate", error="invalid_token"/);
      expect(res.data).toBeUndefined();
      const empty = await server.gql('{ viewer { kind } }', {}, null, { authorization: 'Bearer' });
      expectNoInternalError(empty);
      expect(empty.status).toBe(401);
    });

    it('an invalid cursor: BAD_USER_INPUT "after: …"', async () => {
      const notACursor = Buffer.from(JSON.stringify({ k: 42 })).toString('base64url');
      for (const after of ['garbage', '!!!', notACursor, '']) {
        const res = await server.gql('query($after: String) { namespaces(after: $after) { edges { cursor } } }', { after }, owner);
        expectBadInput(res, 'after', 'is not a cursor from this list (use a pageInfo.endCursor or edge cursor you were given)');
        expect(res.data).toBeNull();
      }
      const nested = await server.gql('{ namespace(name: "shop") { apiTokens(after: "garbage") { edges { cursor } } } }', {}, owner);
      expectBadInput(nested, 'after');
    });

    it.each([-1, 101])('first: %i is BAD_USER_INPUT "first: …"', async (first) => {
      for (const query of [
        'query($first: Int) { namespaces(first: $first) { edges { cursor } } }',
        'query($first: Int) { users(first: $first) { edges { cursor } } }',
        'query($first: Int) { viewer { personalAccessTokens(first: $first) { edges { cursor } } } }',
        'query($first: Int) { namespace(name: "shop") { members(first: $first) { edges { cursor } } } }',
      ]) {
        const res = await server.gql(query, { first }, server.adminToken);
        expectBadInput(res, 'first', 'must be between 0 and 100');
      }
    });

    it('a 3 MB body is refused with 413', async () => {
      const before = await namespaceNames();
      const body = JSON.stringify({
        query: 'mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }',
        variables: { input: { name: 'huge' }, padding: 'p'.repeat(3 * 1024 * 1024) },
      });
      const res = await raw(server, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` }, body });
      expectNoInternalError(res);
      expect(res.status).toBe(413);
      expect(res.body.errors[0].message).toMatch(/larger than/);
      expect(await namespaceNames()).toEqual(before);
    });

    // The body is counted as it is read, so leaving out Content-Length does not get around the limit.
    it('a 3 MB body sent chunked (no Content-Length) is refused with 413 too', async () => {
      const before = await namespaceNames();
      const body = JSON.stringify({
        query: 'mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }',
        variables: { input: { name: 'huge-chunked' }, padding: 'p'.repeat(3 * 1024 * 1024) },
      });
      const bytes = new TextEncoder().encode(body);
      const stream = new ReadableStream({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
          controller.close();
        },
      });
      const res = await raw(server, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` }, body: stream, duplex: 'half' });
      expectNoInternalError(res);
      expect(await namespaceNames()).toEqual(before);
      expect(res.status).toBe(413);
    });
  });

  // Node's fetch writes its whole body before it reads the answer: it must still get the 413,
  // not a reset connection (an EPIPE once the server stopped reading), and the connection the
  // refused body came on must not poison the next request.
  describe('a body far over the limit reaches a fetch client as its 413, not a reset connection', () => {
    const huge = (name: string) =>
      JSON.stringify({
        query: 'mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { name } }',
        variables: { input: { name }, padding: 'p'.repeat(10 * 1024 * 1024) },
      });

    it('with Content-Length', async () => {
      const res = await fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` }, body: huge('huge-10mb') });
      expect(res.status).toBe(413);
      expect((await res.json()).errors[0]).toMatchObject({ message: 'request body is larger than 2097152 bytes', extensions: { code: 'BAD_USER_INPUT' } });
    });

    it('chunked, then the connection serves the next request', async () => {
      const bytes = new TextEncoder().encode(huge('huge-10mb-chunked'));
      const body = new ReadableStream({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 256 * 1024) controller.enqueue(bytes.subarray(i, i + 256 * 1024));
          controller.close();
        },
      });
      const res = await fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` }, body, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(413);
      await res.arrayBuffer();
      expect((await server.gql('{ viewer { kind } }', {}, owner)).status).toBe(200);
      expect(await namespaceNames()).not.toContain('huge-10mb-chunked');
    });
  });

  it('logged no internal error for any of the above', () => {
    const internal = server.logs.filter((line) => line.includes('"internal error"') || line.includes('"level":50'));
    expect(internal).toEqual([]);
  });
});
