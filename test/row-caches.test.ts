/**
 * Namespaces and membership roles are kept across requests (src/store/loaders.ts rowCaches),
 * like verified tokens. Every change the API makes drops them at once; with a five-minute TTL
 * nothing else could explain a fresh answer. A change made past the server is seen once the
 * TTL has run out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invalidations, RowCache } from '../src/store/cache.js';
import { withDatabase } from './helpers/db.js';
import { actions, type Member } from './helpers/fixtures.js';
import { sleep } from './helpers/principals.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const NAMESPACE = '{ namespace(name: "kept") { id description viewerRole } }';

describe('cached namespaces and roles, dropped by every change', () => {
  let server: TestServer;
  let owner: Member;
  let member: Member;
  let apiToken: string;

  beforeAll(async () => {
    server = await startTestServer({ SCOPEGATE_TOKEN_CACHE_TTL_SECONDS: '300' });
    const act = actions(server);
    owner = await act.signUp('olivia');
    member = await act.signUp('mia');
    await act.createNamespace(owner.token, 'kept');
    await act.setRole(owner.token, 'kept', 'mia', 'VIEWER');
    apiToken = await act.createApiToken(owner.token, { namespace: 'kept', name: 'ci', role: 'VIEWER' });
  });
  afterAll(() => server?.close());

  const namespaceAs = async (token: string) => (await server.ok(NAMESPACE, {}, token)).namespace;

  it('updateNamespace: the next read shows the new description', async () => {
    expect((await namespaceAs(apiToken)).description).toBeNull(); // now cached
    await server.ok('mutation { updateNamespace(input: { name: "kept", description: "second" }) { name } }', {}, owner.token);
    expect((await namespaceAs(apiToken)).description).toBe('second');
  });

  it('setMemberRole: a new role counts from the next request', async () => {
    expect((await namespaceAs(member.token)).viewerRole).toBe('VIEWER');
    await actions(server).setRole(owner.token, 'kept', 'mia', 'EDITOR');
    expect((await namespaceAs(member.token)).viewerRole).toBe('EDITOR');
  });

  it('removeMember: the removed member loses access at once, and gets it back at once', async () => {
    expect(await namespaceAs(member.token)).not.toBeNull();
    await server.ok('mutation { removeMember(input: { namespace: "kept", username: "mia" }) { deleted } }', {}, owner.token);
    expect(await namespaceAs(member.token)).toBeNull();
    // "Not a member" was kept too: adding them back must drop it.
    await actions(server).setRole(owner.token, 'kept', 'mia', 'VIEWER');
    expect((await namespaceAs(member.token)).viewerRole).toBe('VIEWER');
  });

  it('deleteNamespace: gone at once, and a new namespace of the same name is the new one', async () => {
    const before = (await namespaceAs(owner.token)).id;
    await server.ok('mutation { deleteNamespace(input: { name: "kept" }) { deleted } }', {}, owner.token);
    expect(await namespaceAs(owner.token)).toBeNull();
    await actions(server).createNamespace(owner.token, 'kept');
    const after = await namespaceAs(owner.token);
    expect(after.id).not.toBe(before);
    expect(after.viewerRole).toBe('OWNER');
    expect(await namespaceAs(member.token)).toBeNull();
  });
});

describe('a change made past the server', () => {
  it('is not seen within the TTL, and is seen once it has run out', async () => {
    for (const ttl of [300, 1]) {
      const server = await startTestServer({ SCOPEGATE_TOKEN_CACHE_TTL_SECONDS: String(ttl) });
      try {
        await actions(server).createNamespace(server.adminToken, 'edited');
        const read = async () => (await server.ok('{ namespace(name: "edited") { description } }', {}, server.adminToken)).namespace.description;
        expect(await read()).toBeNull();
        const cachedAt = Date.now();
        withDatabase(server, (db) => db.prepare("update namespaces set description = 'by hand' where name = 'edited'").run(), { writable: true });
        if (ttl === 300) {
          expect(await read()).toBeNull();
        } else {
          await sleep(Math.max(0, cachedAt + 1000 + 100 - Date.now()));
          expect(await read()).toBe('by hand');
        }
      } finally {
        await server.close();
      }
    }
  });
});

describe('RowCache', () => {
  const rows = (invalidations: Invalidations) =>
    new RowCache<{ id: string; v: number }>(invalidations, { ttlSeconds: 300, max: 10, dropsOn: (change, row) => 'namespaceId' in change && change.namespaceId === row.id });

  it('does not keep a row whose read was overtaken by a change: the next caller reads again', async () => {
    const invalidations = new Invalidations();
    const cache = rows(invalidations);
    let reads = 0;
    let release!: () => void;
    const slowRead = async (keys: string[]) => {
      reads++;
      await new Promise<void>((resolve) => (release = resolve));
      return keys.map((id) => ({ id, v: 1 }));
    };
    const pending = cache.getMany(['a'], slowRead);
    invalidations.publish({ namespaceId: 'a' }); // committed while the read was in flight
    release();
    expect(await pending).toEqual([{ id: 'a', v: 1 }]);
    const again = await cache.getMany(['a'], async (keys) => {
      reads++;
      return keys.map((id) => ({ id, v: 2 }));
    });
    expect(again).toEqual([{ id: 'a', v: 2 }]);
    expect(reads).toBe(2);
  });

  it('keeps what it read, hands each caller a copy, and drops only what a change names', async () => {
    const invalidations = new Invalidations();
    const cache = rows(invalidations);
    const read = async (keys: string[]) => keys.map((id) => (id === 'missing' ? null : { id, v: 1 }));
    const [a] = await cache.getMany(['a', 'b', 'missing'], read);
    a!.v = 99; // a caller's change stays its own
    let asked: string[] = [];
    const spy = async (keys: string[]) => ((asked = keys), read(keys));
    expect(await cache.getMany(['a', 'b', 'missing'], spy)).toEqual([{ id: 'a', v: 1 }, { id: 'b', v: 1 }, null]);
    expect(asked).toEqual(['missing']); // what was not found is asked again, never kept
    invalidations.apply({ namespaceId: 'b' }); // as another replica's message arrives
    await cache.getMany(['a', 'b'], spy);
    expect(asked).toEqual(['b']);
  });
});
