/**
 * Everything a caller can store or have echoed is bounded: a 200 kB value sent by a low-privilege
 * token comes back neither whole in the error, nor in the audit trail (which can never be
 * pruned), nor in the log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEventsOf } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { codeOf, expectGqlError, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let viewer: string;
let owner: string;

beforeAll(async () => {
  server = await startTestServer();
  const a = actions(server);
  await a.createNamespace(server.adminToken, 'bounded');
  viewer = await a.createApiToken(server.adminToken, { namespace: 'bounded', name: 'reader', role: 'VIEWER' });
  owner = await a.createApiToken(server.adminToken, { namespace: 'bounded', name: 'writer', role: 'OWNER' });
});
afterAll(() => server?.close());

const HUGE = 'n'.repeat(200_000);
const RUN = 'n'.repeat(1200);

describe('a 200 kB value is never echoed whole', () => {
  it.each([
    ['a namespace name (refused by the scope check)', 'mutation($v: String!) { updateNamespace(input: { name: $v, description: "x" }) { name } }', () => viewer],
    ['a credential name (refused by the lookup)', 'mutation($v: String!) { revealCredentialSecret(input: { namespace: "bounded", name: $v }) { fields { name } } }', () => owner],
    ['a username (setMemberRole)', 'mutation($v: String!) { setMemberRole(input: { namespace: "bounded", username: $v, role: VIEWER }) { role } }', () => owner],
  ])('%s', async (_label, query, token) => {
    const requestId = `bounded-${Math.random().toString(36).slice(2)}`;
    const logsBefore = server.logs.length;
    const res = await server.gql(query, { v: HUGE }, token(), { 'x-request-id': requestId });
    expect(res.status).toBe(200);
    expect(['NOT_FOUND', 'BAD_USER_INPUT', 'FORBIDDEN']).toContain(codeOf(res));
    expect(res.errors![0].message.length).toBeLessThanOrEqual(1001);
    expect(JSON.stringify(res.body)).not.toContain(RUN);

    const events = auditEventsOf(server, requestId);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event.details!.length).toBeLessThanOrEqual(4096);
      expect(JSON.stringify(event)).not.toContain(RUN);
    }
    const lines = server.logs.slice(logsBefore).join('');
    expect(lines).toContain(requestId);
    expect(lines).not.toContain(RUN);
  });
});

describe('what a caller stores is bounded, with the field and the limit named', () => {
  it.each([
    ['a secret over 16 KiB', 'mutation($v: String!) { createHetznerCredential(input: { namespace: "bounded", name: "big", apiToken: $v, skipValidation: true }) { name } }', 'x'.repeat(16_385), /^input\.apiToken: must be at most 16384 characters$/],
    ['an SSH public key over 16 KiB', 'mutation($v: String!) { createSshKeyCredential(input: { namespace: "bounded", name: "big-key", publicKey: $v }) { credential { name } } }', `ssh-ed25519 AAAA ${'c'.repeat(20_000)}`, /^input\.publicKey: .*longer than 16384 characters/],
    ['a description over 1000 characters', 'mutation($v: String!) { createApiToken(input: { namespace: "bounded", name: "described", role: VIEWER, description: $v }) { secret } }', 'd'.repeat(1001), /^input\.description: must be at most 1000 characters$/],
  ])('%s', async (_label, query, value, message) => {
    const res = await server.gql(query, { v: value }, server.adminToken);
    expectGqlError(res, { code: 'BAD_USER_INPUT', message });
  });

  it('a secret of exactly 16 KiB is stored', async () => {
    await server.ok('mutation($v: String!) { createHetznerCredential(input: { namespace: "bounded", name: "max", apiToken: $v, skipValidation: true }) { name } }', { v: 'y'.repeat(16_384) }, server.adminToken);
  });
});
