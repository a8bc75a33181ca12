import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../src/domain/audit.js';
import { openDatabase } from '../src/store/db.js';
import { startFakeHelmRepo } from './fakes/helm-repo.js';
import { actions } from './helpers/fixtures.js';
import { dropDatabase, testDatabase } from './helpers/postgres.js';
import { codeOf, startTestServer, type TestServer } from './helpers/server.js';
import { suiteName } from './helpers/services.js';

// Skipped only when no PostgreSQL answers and CI is not set; any other error fails the file.
const { url: databaseUrl, skipped } = await testDatabase('postgres.test.ts');

/** The same migrations, queries and rules on PostgreSQL, end to end over HTTP. */
describe.skipIf(!databaseUrl)(suiteName('on PostgreSQL', skipped), () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ DATABASE_URL: databaseUrl!, SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true' });
  });
  afterAll(async () => {
    await server?.close();
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  it('runs the token lifecycle', async () => {
    const act = actions(server);
    await act.createUser('pgowner');
    const owner = await act.login('pgowner');
    await act.createNamespace(owner, 'pg');
    const secret = await act.createApiToken(owner, { namespace: 'pg', name: 'ci', role: 'EDITOR', expiresInDays: 30 });
    expect((await act.whoami(secret)).data.viewer.apiToken.name).toBe('ci');
    const dup = await server.gql('mutation { createApiToken(input: { namespace: "pg", name: "ci", role: VIEWER }) { secret } }', {}, owner);
    expect(codeOf(dup)).toBe('CONFLICT');
    await server.ok('mutation { updateApiToken(input: { namespace: "pg", name: "ci", enabled: false }) { enabled } }', {}, owner);
    expect((await act.whoami(secret)).status).toBe(401);
    await server.ok('mutation { revokeApiToken(input: { namespace: "pg", name: "ci" }) { deleted } }', {}, owner);
    await act.createApiToken(owner, { namespace: 'pg', name: 'ci', role: 'VIEWER' });
    const page = await server.ok('{ namespace(name: "pg") { apiTokens(first: 1) { edges { node { name } } pageInfo { hasNextPage } } members { edges { node { role user { username } } } } } }', {}, owner);
    expect(page.namespace.apiTokens.edges).toEqual([{ node: { name: 'ci' } }]);
    expect(page.namespace.members.edges).toEqual([{ node: { role: 'OWNER', user: { username: 'pgowner' } } }]);
  });

  it('leaves exactly one working secret after 20 concurrent regenerations', async () => {
    await actions(server).createApiToken(server.adminToken, { namespace: 'pg', name: 'race', role: 'VIEWER' });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => server.gql('mutation { regenerateApiToken(input: { namespace: "pg", name: "race" }) { secret } }', {}, server.adminToken)),
    );
    const secrets = results.filter((r) => !r.errors).map((r) => r.data.regenerateApiToken.secret as string);
    expect(secrets.length).toBeGreaterThan(0);
    const working = [];
    for (const s of secrets) if ((await server.gql('{ viewer { kind } }', {}, s)).status === 200) working.push(s);
    expect(working).toHaveLength(1);
  });

  it('stores, reveals and lists credentials and registries', async () => {
    await server.ok('mutation { createRegistryCredential(input: { namespace: "pg", name: "ghcr", username: "bot", password: "pg-secret-value" }) { name } }', {}, server.adminToken);
    await server.ok('mutation { createRegistry(input: { namespace: "pg", name: "charts", url: "oci://ghcr.io/acme/charts", credential: "ghcr" }) { kind } }', {}, server.adminToken);
    const revealed = await server.ok('mutation { revealCredentialSecret(input: { namespace: "pg", name: "ghcr" }) { fields { value } } }', {}, server.adminToken);
    expect(revealed.revealCredentialSecret.fields).toEqual([{ value: 'pg-secret-value' }]);
    const listed = await server.ok('{ namespace(name: "pg") { credentials { edges { node { name ... on RegistryCredential { registries { edges { node { name kind } } } } } } } } }', {}, server.adminToken);
    expect(listed.namespace.credentials.edges[0].node.registries.edges).toEqual([{ node: { name: 'charts', kind: 'OCI' } }]);
  });

  it("records where a credential's secret went: a new host once, as a reveal", async () => {
    const helm = await startFakeHelmRepo({ users: { bot: 'pg-helm-password' } });
    try {
      await server.ok('mutation { createRegistryCredential(input: { namespace: "pg", name: "helm", username: "bot", password: "pg-helm-password" }) { name } }', {}, server.adminToken);
      await server.ok('mutation($u: String!) { createRegistry(input: { namespace: "pg", name: "helm", url: $u, credential: "helm" }) { kind } }', { u: helm.url }, server.adminToken);
      for (let i = 0; i < 2; i++) await server.ok('mutation { validateCredential(input: { namespace: "pg", name: "helm" }) { validationStatus } }', {}, server.adminToken);
      const reveals = await server.ok('{ auditEvents(filter: { action: "credential.reveal", target: "namespaces/pg/credentials/helm" }) { edges { node { details } } } }', {}, server.adminToken);
      expect(reveals.auditEvents.edges.map((e: { node: { details: string } }) => JSON.parse(e.node.details))).toEqual([{ via: 'validation', host: new URL(helm.origin).host }]);
    } finally {
      await helm.close();
    }
  });

  it('gives tokens made before a maximum lifetime one, once, and never a longer one', async () => {
    await actions(server).createApiToken(server.adminToken, { namespace: 'pg', name: 'forever', role: 'VIEWER' });
    const read = async (s: TestServer) =>
      s.ok(
        '{ namespace(name: "pg") { apiToken(name: "forever") { createdAt expiresAt } } auditEvents(first: 10, filter: { action: "apitoken.expiry_capped", target: "namespaces/pg/apitokens/forever" }) { edges { node { target } } } }',
        {},
        s.adminToken,
      );
    // The same maximum again, then a longer one (a new value, first seen now).
    for (const days of ['30', '30', '60']) {
      const replica = await startTestServer({ DATABASE_URL: databaseUrl!, SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS: days }, server);
      try {
        const data = await read(replica);
        const { createdAt, expiresAt } = data.namespace.apiToken;
        expect(Date.parse(expiresAt), days).toBe(Date.parse(createdAt) + 30 * 86_400_000);
        expect(data.auditEvents.edges).toEqual([{ node: { target: 'namespaces/pg/apitokens/forever' } }]);
      } finally {
        await replica.close();
      }
    }
  });

  it('keeps an intact, pageable audit chain', async () => {
    const first = await server.ok('{ auditEvents(first: 5) { edges { node { action } } pageInfo { hasNextPage endCursor } } }', {}, server.adminToken);
    expect(first.auditEvents.edges).toHaveLength(5);
    const next = await server.ok('query($a: String) { auditEvents(first: 5, after: $a) { edges { node { action } } } }', { a: first.auditEvents.pageInfo.endCursor }, server.adminToken);
    expect(next.auditEvents.edges.length).toBeGreaterThan(0);
    const { db } = openDatabase(databaseUrl!);
    try {
      const report = await verifyAuditChain(db, server.gate.app.keyring);
      expect(report).toMatchObject({ ok: true });
      expect(report.events).toBeGreaterThan(10);
    } finally {
      await db.destroy();
    }
  });
});
