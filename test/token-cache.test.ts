/**
 * README, "Configuration": a verified token is cached for SCOPEGATE_TOKEN_CACHE_TTL_SECONDS.
 * The API drops an entry at once when it changes a token; a change it never sees (another
 * replica without Redis, a hand edit of the database) is noticed once the entry's TTL has run
 * out. The change here is written straight into the SQLite file, past the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { withDatabase } from './helpers/db.js';
import { actions } from './helpers/fixtures.js';
import { sleep } from './helpers/principals.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A namespace with one API token, used once so that its principal is cached. */
async function cachedToken(ttlSeconds: number) {
  server = await startTestServer({ SCOPEGATE_TOKEN_CACHE_TTL_SECONDS: String(ttlSeconds) });
  const act = actions(server);
  await act.createNamespace(server.adminToken, 'cached');
  const secret = await act.createApiToken(server.adminToken, { namespace: 'cached', name: 'ci', role: 'VIEWER' });
  expect((await viewer(server, secret)).status).toBe(200);
  // The entry was made before this response arrived: its TTL runs out before cachedAt + TTL.
  return { gate: server, secret, cachedAt: Date.now() };
}

const viewer = (s: TestServer, secret: string) => s.gql('{ viewer { kind } }', {}, secret);

/** Disables the token in the database only: no invalidation reaches the server's cache. */
const disableBehindTheServersBack = (s: TestServer) =>
  withDatabase(s, (db) => db.prepare("update tokens set enabled = 0 where kind = 'API' and name = 'ci'").run().changes, { writable: true });

describe('the verified-token cache', () => {
  it('answers from the cache within its TTL: a change the server did not make is not seen yet', async () => {
    // Five minutes: far longer than this test, on any machine.
    const { gate, secret } = await cachedToken(300);
    expect(disableBehindTheServersBack(gate)).toBe(1);
    const res = await viewer(gate, secret);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ viewer: { kind: 'API_TOKEN' } });
  });

  it('checks the token again once the TTL has run out', async () => {
    const { gate, secret, cachedAt } = await cachedToken(1);
    expect(disableBehindTheServersBack(gate)).toBe(1);
    // Wait until the second has surely passed; nothing bounds how much later the check runs.
    await sleep(Math.max(0, cachedAt + 1000 + 100 - Date.now()));
    const res = await viewer(gate, secret);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error_description="token is disabled"/);
  });
});
