import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient, type Role, ScopegateError } from '../src/client/index.js';
import { graphql } from './gql/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** What an integrator writes besides the generated methods: their own typed documents. */
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

/** The ScopegateError a request rejects with (fails the test when it resolves or throws anything else). */
async function refusal(promise: Promise<unknown>): Promise<ScopegateError> {
  const error = await promise.then(
    (data) => expect.fail(`expected a ScopegateError, got ${JSON.stringify(data)}`),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ScopegateError);
  return error as ScopegateError;
}

/** A local port nobody listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('scopegate/client against a real server', () => {
  let server: TestServer;
  let admin: Client;
  beforeAll(async () => {
    server = await startTestServer();
    admin = createClient({ url: server.url, token: server.adminToken });
    await admin.createNamespace({ name: 'typed' });
    await admin.createNamespace({ name: 'typed-too' });
  });
  afterAll(() => server.close());

  it('creates a namespace and an API token through the generated methods, typed from the schema', async () => {
    const ns = await admin.createNamespace({ name: 'client-made', displayName: 'Made by the client' });
    expect(ns).toMatchObject({ name: 'client-made', displayName: 'Made by the client', viewerRole: 'OWNER' });

    const { secret, apiToken } = await admin.createApiToken({ namespace: 'client-made', name: 'ci', role: 'VIEWER', expiresInDays: 7 });
    const role: Role = apiToken.role;
    expect(role).toBe('VIEWER');
    expect(secret).toMatch(/^sgt_/);
    // Every scalar of the token comes back by default.
    expect(apiToken).toMatchObject({ name: 'ci', resourceName: 'namespaces/client-made/apitokens/ci', enabled: true, expired: false, lastUsedAt: null });
    expect(Date.parse(apiToken.expiresAt!)).toBeGreaterThan(Date.now());

    // The new secret works, and a query's method takes the field's arguments.
    const ci = createClient({ url: server.url, token: secret });
    expect((await ci.viewer()).apiToken?.resourceName).toBe('namespaces/client-made/apitokens/ci');
    expect(await ci.namespace({ name: 'client-made' })).toMatchObject({ name: 'client-made', viewerRole: 'VIEWER' });
    expect(await ci.namespace({ name: 'typed' })).toBeNull();

    const regenerated = await admin.regenerateApiToken({ namespace: 'client-made', name: 'ci' });
    expect(regenerated.secret).not.toBe(secret);
  });

  it('reads connections as edges and pageInfo', async () => {
    const page = await admin.namespaces({ first: 1 });
    expect(page.edges).toHaveLength(1);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await admin.namespaces({ first: 100, after: page.pageInfo.endCursor });
    const names = [...page.edges, ...next.edges].map((edge) => edge.node.name);
    expect(names).toEqual(expect.arrayContaining(['typed', 'typed-too']));

    const events = await admin.auditEvents({ first: 5, filter: { action: 'namespace.*' } });
    expect(events.edges.length).toBeGreaterThan(0);
    for (const { node } of events.edges) expect(node).toMatchObject({ action: expect.stringMatching(/^namespace\./), actor: { kind: expect.any(String) } });
  });

  it('reads an interface as __typename and the fields of its member', async () => {
    const { id } = (await admin.namespace({ name: 'typed' }))!;
    const node = await admin.node({ id });
    expect(node).toMatchObject({ __typename: 'Namespace', name: 'typed', id });
  });

  it('runs a typed document and a query string with request()', async () => {
    const created = await admin.request(CreateToken, { input: { namespace: 'typed', name: 'doc', role: 'EDITOR' } });
    expect(created.createApiToken.apiToken.resourceName).toBe('namespaces/typed/apitokens/doc');
    const made = await admin.request(CreateNamespace, { input: { name: 'by-document' } });
    expect(made.createNamespace.viewerRole).toBe('OWNER');

    const data = await admin.request<{ viewer: { kind: string; isAdmin: boolean } }>('query { viewer { kind isAdmin } }');
    expect(data.viewer).toEqual({ kind: 'PERSONAL_ACCESS_TOKEN', isAdmin: true });
    const withVariables = await admin.request('query ($name: String!) { namespace(name: $name) { name } }', { name: 'typed' });
    expect(withVariables).toEqual({ namespace: { name: 'typed' } });
  });

  it('accepts the base URL, with or without a slash, and the /graphql endpoint', async () => {
    for (const url of [server.url, `${server.url}/`, server.graphqlUrl, new URL(server.graphqlUrl)]) {
      const client = createClient({ url, token: server.adminToken });
      expect(client.endpoint).toBe(server.graphqlUrl);
      expect((await client.viewer()).isAdmin).toBe(true);
    }
  });

  it('refuses a wrong token: UNAUTHENTICATED, 401, with the request id', async () => {
    const stranger = createClient({ url: server.url, token: `sgt_${'x'.repeat(36)}` });
    const error = await refusal(stranger.viewer());
    expect(error).toMatchObject({ name: 'ScopegateError', code: 'UNAUTHENTICATED', status: 401 });
    expect(error.requestId).toMatch(/\S/);
    expect(error.message).toMatch(/token/i);

    // Extra headers go with every request: the server takes a caller's request id.
    const traced = createClient({ url: server.url, token: `sgt_${'x'.repeat(36)}`, headers: { 'x-request-id': 'client-test-401' } });
    expect((await refusal(traced.namespaces())).requestId).toBe('client-test-401');

    const anonymous = createClient({ url: server.url });
    expect(await refusal(anonymous.viewer())).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('refuses a forbidden action: FORBIDDEN', async () => {
    const { secret } = await admin.createApiToken({ namespace: 'typed', name: 'viewer', role: 'VIEWER' });
    const viewer = createClient({ url: server.graphqlUrl, token: secret });
    const error = await refusal(viewer.createApiToken({ namespace: 'typed', name: 'escalated', role: 'OWNER' }));
    expect(error).toMatchObject({ code: 'FORBIDDEN', status: 200 });
    expect(error.requestId).toMatch(/\S/);
    expect(error.errors[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses bad input: BAD_USER_INPUT naming the field', async () => {
    const error = await refusal(
      admin.createApiToken({ namespace: 'typed', name: 'twice', role: 'VIEWER', expiresInDays: 7, expiresAt: '2099-01-01T00:00:00.000Z' }),
    );
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.expiresInDays' });
    expect(error.message).toMatch(/^input\.expiresInDays: /);
  });

  it('turns an unreachable server into NETWORK_ERROR, never a bare fetch TypeError', async () => {
    const port = await closedPort();
    const client = createClient({ url: `http://127.0.0.1:${port}`, token: server.adminToken });
    const error = await refusal(client.viewer());
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port}/graphql: .*ECONNREFUSED`));
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('refuses a token with a line break or space (BAD_TOKEN) and a bad header (BAD_REQUEST) without quoting either', async () => {
    const secret = 'second-line-secret-7f3c';
    for (const token of [`${server.adminToken}\n${secret}`, `${server.adminToken} ${secret}`, `${secret}\u0000`]) {
      let error: unknown;
      try {
        createClient({ url: server.url, token });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ScopegateError);
      expect(error).toMatchObject({ code: 'BAD_TOKEN' });
      expect(String((error as Error).message)).not.toContain(secret);
      expect(String((error as Error).message)).not.toContain(server.adminToken);
    }
    const badHeader = createClient({ url: server.url, token: server.adminToken, headers: { 'x-note': `a\n${secret}` } });
    const error = await refusal(badHeader.viewer());
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain(server.adminToken);
  });
});

/** A fake server on 127.0.0.1 answering every request with `handler`. */
async function fakeServer(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<unknown> }> {
  const fake = http.createServer(handler);
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}`,
    close: () => new Promise((resolve) => (fake.closeAllConnections(), fake.close(resolve))),
  };
}

describe('scopegate/client against hostile servers', () => {
  it('takes extensions.code and field only when they are strings, and the message as a string', async () => {
    const answers = [
      { errors: [{ message: 'x', extensions: { code: 42, field: 7 } }] },
      { errors: [{ message: { nested: 1 }, extensions: { code: null } }] },
      { errors: [{ message: 'y', extensions: 'not an object' }] },
    ];
    let next = 0;
    const fake = await fakeServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers[next++])));
    try {
      const client = createClient({ url: fake.url, token: 'sgt_test' });
      const first = await refusal(client.viewer());
      expect(first).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', message: 'x', field: undefined });
      const second = await refusal(client.viewer());
      expect(second).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', message: '[object Object]' });
      expect((await refusal(client.viewer())).code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await fake.close();
    }
  });

  it('gives up on a body that never ends after timeoutMs: NETWORK_ERROR saying it timed out', async () => {
    const fake = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":');
    });
    try {
      const error = await refusal(createClient({ url: fake.url, timeoutMs: 500 }).viewer());
      expect(error.code).toBe('NETWORK_ERROR');
      expect(error.message).toMatch(/timed out/);
    } finally {
      await fake.close();
    }
  });

  it('stops reading a body past the cap (16 MiB by default): BAD_RESPONSE', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const fake = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      res.on('error', () => {});
      more();
    });
    try {
      const endless = await refusal(createClient({ url: fake.url }).viewer());
      expect(endless.code).toBe('BAD_RESPONSE');
      expect(endless.message).toMatch(/larger than 16777216 bytes/);
      const small = await refusal(createClient({ url: fake.url, maxResponseBytes: 1000 }).viewer());
      expect(small).toMatchObject({ code: 'BAD_RESPONSE', status: 200 });
    } finally {
      await fake.close();
    }
  });

  it('refuses a redirect instead of following it to another host', async () => {
    let followed = 0;
    const elsewhere = await fakeServer((_req, res) => {
      followed++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"viewer":{"kind":"X"}}}');
    });
    const redirecting = await fakeServer((_req, res) => void res.writeHead(307, { location: `${elsewhere.url}/graphql` }).end());
    try {
      const error = await refusal(createClient({ url: redirecting.url, token: 'sgt_secret' }).viewer());
      expect(error).toMatchObject({ code: 'BAD_RESPONSE', status: 307 });
      expect(error.message).toMatch(/redirect/);
      expect(followed).toBe(0);
    } finally {
      await redirecting.close();
      await elsewhere.close();
    }
  });
});
