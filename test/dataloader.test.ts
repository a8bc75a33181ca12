import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** A list costs a constant number of SQL statements, however long it is. */
describe('per-request DataLoaders', () => {
  let server: TestServer;
  const admin = () => server.adminToken;

  async function seed(namespace: string, count: number) {
    const act = actions(server);
    await act.createNamespace(admin(), namespace);
    for (let i = 0; i < count; i++) {
      const name = `c${String(i).padStart(3, '0')}`;
      await server.ok(
        'mutation($ns: String!, $name: String!) { createRegistryCredential(input: { namespace: $ns, name: $name, username: "u", password: "p" }) { name } }',
        { ns: namespace, name },
        admin(),
      );
      for (const suffix of ['a', 'b']) {
        await server.ok(
          'mutation($ns: String!, $name: String!, $cred: String!) { createRegistry(input: { namespace: $ns, name: $name, url: "oci://ghcr.io/acme/charts", credential: $cred }) { name } }',
          { ns: namespace, name: `${name}-${suffix}`, cred: name },
          admin(),
        );
      }
      await act.createApiToken(admin(), { namespace, name, role: 'VIEWER' });
    }
  }

  async function statementsFor(query: string, variables: Record<string, unknown>) {
    await server.ok(query, variables, admin()); // warm: the token's principal is cached, lastUsedAt written
    await new Promise((r) => setTimeout(r, 20));
    server.statements.length = 0;
    await server.ok(query, variables, admin());
    return server.statements.length;
  }

  beforeAll(async () => {
    server = await startTestServer();
    await seed('small', 3);
    await seed('large', 20);
  });
  afterAll(() => server.close());

  it('lists credentials with their registries, namespace and creator in the same statements for 3 or 20', async () => {
    const query = `query($ns: String!) { namespace(name: $ns) { credentials(first: 100) { edges { node {
      name resourceName namespace { name } createdBy { username }
      ... on RegistryCredential { username registries { edges { node { name resourceName credential { name } } } } }
    } } } } }`;
    const small = await statementsFor(query, { ns: 'small' });
    const large = await statementsFor(query, { ns: 'large' });
    expect(large).toBe(small);
    expect(small).toBeLessThan(10);
  });

  it('lists API tokens with creator and namespace in the same statements for 3 or 20', async () => {
    const query = 'query($ns: String!) { namespace(name: $ns) { apiTokens(first: 100) { edges { node { name resourceName createdBy { username } namespace { name } } } } } }';
    const small = await statementsFor(query, { ns: 'small' });
    const large = await statementsFor(query, { ns: 'large' });
    expect(large).toBe(small);
  });
});
