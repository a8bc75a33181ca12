import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/auth/secrets.js';
import { auditEventsOf } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { expectGqlError, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

/**
 * graphql-js answers a typo with "Did you mean …", which maps the schema for whoever asks.
 * Only a caller whose bearer token verifies gets it; anonymous callers get the message without
 * it, and a caller with an unknown, malformed, revoked or expired token gets that token's 401,
 * recorded, whatever the document.
 */

const DAY_MS = 86_400_000;
const messages = (res: GqlResponse) => (res.errors ?? []).map((e) => e.message);

/** Typos with what graphql-js suggests for each, at validation and (variables) at execution. */
const TYPOS = [
  { what: 'a root field', query: '{ viewr { kind } }', message: 'Cannot query field "viewr" on type "Query".', suggestion: ' Did you mean "viewer" or "user"?' },
  {
    what: 'the login field',
    query: 'mutation { logn(input: { username: "admin", password: "p" }) { token } }',
    message: 'Cannot query field "logn" on type "Mutation".',
    suggestion: ' Did you mean "login"?',
  },
  {
    what: "a login input's field",
    query: 'mutation { login(input: { usernme: "admin", password: "p" }) { token } }',
    message: 'Field "usernme" is not defined by type "LoginInput".',
    suggestion: ' Did you mean "username"?',
  },
  {
    what: "a login input's field, in variables",
    query: 'mutation($input: LoginInput!) { login(input: $input) { token } }',
    variables: { input: { usernme: 'admin', password: 'p' } },
    message: 'Variable "$input" got invalid value { usernme: "admin", password: "p" }; Field "usernme" is not defined by type "LoginInput".',
    suggestion: ' Did you mean "username"?',
  },
  { what: 'a type', query: 'mutation($input: LogInput!) { login(input: $input) { token } }', message: 'Unknown type "LogInput".', suggestion: ' Did you mean "LoginInput"?' },
  {
    what: 'an enum value',
    query: 'mutation { createApiToken(input: { namespace: "x", name: "y", role: EDITR }) { secret } }',
    message: 'Value "EDITR" does not exist in "Role" enum.',
    suggestion: ' Did you mean the enum value "EDITOR"?',
  },
];

describe('"Did you mean" suggestions go to authenticated callers only', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let offset = 0;
  let viewer: string;
  let session: string;
  let revoked: string;

  beforeAll(async () => {
    server = await startTestServer({}, undefined, { now: () => new Date(Date.now() + offset) });
    act = actions(server);
    await act.createUser('vera');
    await act.createNamespace(server.adminToken, 'team');
    await act.setRole(server.adminToken, 'team', 'vera', 'VIEWER');
    viewer = await act.createApiToken(server.adminToken, { namespace: 'team', name: 'reader', role: 'VIEWER' });
    session = await act.login('vera');
    revoked = await act.createApiToken(server.adminToken, { namespace: 'team', name: 'gone', role: 'VIEWER' });
    await server.ok('mutation { revokeApiToken(input: { namespace: "team", name: "gone" }) { deleted } }', {}, server.adminToken);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Each typo is answered with its message, with or without graphql-js' suggestion. */
  async function expectTypos(token: string | null, suggested: boolean) {
    for (const typo of TYPOS) {
      const res = await server.gql(typo.query, typo.variables, token);
      expect(res.status, typo.what).toBeLessThan(500);
      const expected = typo.message + (suggested ? typo.suggestion : '');
      expect(messages(res), typo.what).toContain(expected);
      if (!suggested) expect(JSON.stringify(res.body), typo.what).not.toContain('Did you mean');
    }
  }

  it('anonymous callers get none, login typos included', async () => {
    await expectTypos(null, false);
  });

  it('a valid API token, session and personal access token get them', async () => {
    // The documents anonymous callers sent above: Yoga has cached their validation errors.
    await expectTypos(viewer, true);
    await expectTypos(session, true);
    await expectTypos(server.adminToken, true);
  });

  it.for([
    ['an unknown', (): string => generateSecret('API')],
    ['a malformed', (): string => 'sgt_not-a-real-token'],
    ['a revoked', (): string => revoked],
  ] as const)('%s token gets none: a typo, near miss or not, is refused as the token, as a valid query is', async ([, token]) => {
    const refused = await server.gql('{ viewer { kind } }', {}, token());
    expect(refused.status).toBe(401);
    expectGqlError(refused, { code: 'UNAUTHENTICATED' });
    // Validation fails before there is a context; the token is still what answers, so neither
    // a live token nor a near miss can be told from the answer.
    for (const query of ['{ viewr { kind } }', '{ zzzzzz }']) {
      const typo = await server.gql(query, {}, token());
      expect({ status: typo.status, errors: typo.errors }, query).toEqual({ status: refused.status, errors: refused.errors });
    }
  });

  it('records such a refusal as an authentication failure, as for a valid query', async () => {
    const unknown = generateSecret('API');
    const requestId = `suggestions-${Date.now()}`;
    expect((await server.gql('{ viewr { kind } }', {}, unknown, { 'x-request-id': requestId })).status).toBe(401);
    expect(auditEventsOf(server, requestId).map((e) => e.action)).toEqual(['auth.failed']);
  });

  it('an Authorization header that is not "Bearer <token>" gets none: its 401', async () => {
    const res = await server.gql('{ viewr { kind } }', {}, null, { authorization: `Basic ${viewer}` });
    expect(res.status).toBe(401);
    expectGqlError(res, { code: 'UNAUTHENTICATED', message: 'Authorization header must be "Bearer <token>"' });
  });

  it('an expired token gets none, although the same token got them before it expired', async () => {
    const expiring = await act.createApiToken(server.adminToken, { namespace: 'team', name: 'brief', role: 'VIEWER', expiresInDays: 1 });
    expect(messages(await server.gql('{ viewr { kind } }', {}, expiring))).toEqual(['Cannot query field "viewr" on type "Query". Did you mean "viewer" or "user"?']);
    offset = 2 * DAY_MS;
    try {
      const refused = await server.gql('{ viewer { kind } }', {}, expiring);
      expect(refused.status).toBe(401);
      const typo = await server.gql('{ viewr { kind } }', {}, expiring);
      expect({ status: typo.status, errors: typo.errors }).toEqual({ status: 401, errors: refused.errors });
    } finally {
      offset = 0;
    }
  });
});
