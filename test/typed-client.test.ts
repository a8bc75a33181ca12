import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** What an integrator does: typed documents from the generated client, sent over HTTP. */
async function request<R, V>(server: TestServer, document: TypedDocumentNode<R, V>, variables: V, token: string): Promise<R> {
  const res = await server.gql<R>(print(document), variables as Record<string, unknown>, token);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!;
}

const CreateNamespace = graphql(`
  mutation TypedCreateNamespace($input: CreateNamespaceInput!) {
    createNamespace(input: $input) { name viewerRole createdAt }
  }
`);

const CreateToken = graphql(`
  mutation TypedCreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) { secret apiToken { resourceName role expiresAt } }
  }
`);

describe('generated typed client', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('runs typed operations against the real server', async () => {
    const ns = await request(server, CreateNamespace, { input: { name: 'typed' } }, server.adminToken);
    const role: 'VIEWER' | 'EDITOR' | 'OWNER' = ns.createNamespace.viewerRole;
    expect(role).toBe('OWNER');
    const created = await request(server, CreateToken, { input: { namespace: 'typed', name: 'ci', role: 'VIEWER', expiresInDays: 7 } }, server.adminToken);
    expect(created.createApiToken.apiToken.resourceName).toBe('namespaces/typed/apitokens/ci');
    expect(created.createApiToken.secret.startsWith('sgt_')).toBe(true);
  });
});
