import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from './helpers/db.js';
import { auditVerify } from './helpers/scripts.js';
import { actions, seedTeam } from './helpers/fixtures.js';
import { codeOf, expectGqlError, startTestServer, type TestServer } from './helpers/server.js';

const EVENT_FIELDS = 'id occurredAt action outcome actor { kind name } namespace target requestId ipAddress userAgent details';

/** audit:verify with the server's database and key (its development key file, in its folder). */
const verifyChain = (server: TestServer) => auditVerify({ DATABASE_URL: server.dbFile, SCOPEGATE_DATA_DIR: server.dir });

describe('audit trail', () => {
  let server: TestServer;
  let act: ReturnType<typeof actions>;
  let alice: string;
  let viewer: string;
  let editor: string;
  const passwords = ['alice-password-123', 'victor-password-123', 'eddie-password-123'];

  const trail = async (token: string, filter: Record<string, unknown> = {}, first = 50) =>
    (await server.ok(`query($f: AuditEventFilter, $n: Int) { auditEvents(first: $n, filter: $f) { edges { node { ${EVENT_FIELDS} } } } }`, { f: filter, n: first }, token))
      .auditEvents.edges.map((e: any) => e.node);
  const nsTrail = (token: string, ns: string, filter: Record<string, unknown> = {}) =>
    server.gql(`query($f: AuditEventFilter) { namespace(name: "${ns}") { auditEvents(filter: $f) { edges { node { ${EVENT_FIELDS} } } pageInfo { hasNextPage endCursor } } } }`, { f: filter }, token);

  beforeAll(async () => {
    server = await startTestServer();
    act = actions(server);
    const team = await seedTeam(server, 'prod', { owner: 'alice', editor: 'eddie', viewer: 'victor', password: (u) => `${u}-password-123` });
    [alice, editor, viewer] = [team.owner.token, team.editor.token, team.viewer.token];
  });
  afterAll(async () => {
    await server.close();
  });

  it('records a mutation with its actor, target, request id, address and user agent', async () => {
    const res = await server.gql(
      'mutation { createApiToken(input: { namespace: "prod", name: "ci", role: EDITOR, description: "pipeline" }) { secret } }',
      {},
      alice,
      { 'user-agent': 'audit-test/1.0', 'x-request-id': 'req-audit-1' },
    );
    expect(res.errors).toBeUndefined();
    const [event] = await trail(server.adminToken, { action: 'apitoken.create', target: 'namespaces/prod/apitokens/ci' });
    expect(event).toMatchObject({
      action: 'apitoken.create',
      outcome: 'SUCCESS',
      actor: { kind: 'USER_SESSION', name: 'user:alice' },
      namespace: 'prod',
      target: 'namespaces/prod/apitokens/ci',
      requestId: 'req-audit-1',
      ipAddress: expect.stringMatching(/127\.0\.0\.1/),
      userAgent: 'audit-test/1.0',
    });
    expect(JSON.parse(event.details)).toMatchObject({ role: 'EDITOR', enabled: true });
  });

  it('names API-token and personal-token actors as the resource they are', async () => {
    const owner = await act.createApiToken(alice, { namespace: 'prod', name: 'robot', role: 'OWNER' });
    await server.ok('mutation { updateApiToken(input: { namespace: "prod", name: "ci", description: "by robot" }) { name } }', {}, owner);
    const pat = await act.createPersonalToken(alice, { name: 'laptop' });
    await server.ok('mutation { regenerateApiToken(input: { namespace: "prod", name: "ci", gracePeriodSeconds: 60 }) { secret } }', {}, pat);
    const [update] = await trail(server.adminToken, { action: 'apitoken.update' });
    expect(update.actor).toEqual({ kind: 'API_TOKEN', name: 'namespaces/prod/apitokens/robot' });
    expect(JSON.parse(update.details).changed).toEqual(['description']);
    const [regen] = await trail(server.adminToken, { action: 'apitoken.regenerate' });
    expect(regen.actor).toEqual({ kind: 'PERSONAL_ACCESS_TOKEN', name: 'user:alice/tokens/laptop' });
    expect(JSON.parse(regen.details)).toMatchObject({ gracePeriodSeconds: 60 });
  });

  it('records a denied mutation as DENIED with the role needed, and changes nothing', async () => {
    const res = await server.gql('mutation { createApiToken(input: { namespace: "prod", name: "sneaky", role: VIEWER }) { secret } }', {}, viewer);
    expect(codeOf(res)).toBe('FORBIDDEN');
    const [denied] = await trail(server.adminToken, { action: 'apitoken.create', outcome: 'DENIED' });
    expect(denied).toMatchObject({ outcome: 'DENIED', actor: { name: 'user:victor' }, namespace: 'prod' });
    expect(JSON.parse(denied.details)).toMatchObject({ code: 'FORBIDDEN', neededRole: 'OWNER' });
    const tokens = await server.ok('{ namespace(name: "prod") { apiToken(name: "sneaky") { name } } }', {}, alice);
    expect(tokens.namespace.apiToken).toBeNull();
  });

  it('records a failed mutation as ERROR', async () => {
    const res = await server.gql('mutation { createApiToken(input: { namespace: "prod", name: "Bad_Name", role: VIEWER }) { secret } }', {}, alice);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    const [failed] = await trail(server.adminToken, { action: 'apitoken.create', outcome: 'ERROR' });
    expect(JSON.parse(failed.details)).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('records logins, failed logins and credential reveals', async () => {
    await act.login('alice', passwords[0]);
    await server.gql('mutation { login(input: { username: "alice", password: "wrong-password-x" }) { token } }', {});
    const logins = await trail(server.adminToken, { action: 'auth.login', target: 'users/alice' }, 100);
    expect(logins.some((e: any) => e.outcome === 'SUCCESS' && e.actor.name === 'user:alice')).toBe(true);
    const failure = logins.find((e: any) => e.outcome === 'DENIED');
    expect(JSON.parse(failure.details)).toMatchObject({ reason: 'invalid username or password', count: 1 });

    await server.ok('mutation { createRegistryCredential(input: { namespace: "prod", name: "ghcr", username: "bot", password: "reveal-me-secret-9" }) { name } }', {}, editor);
    const revealed = await server.ok('mutation { revealCredentialSecret(input: { namespace: "prod", name: "ghcr" }) { fields { name value } } }', {}, editor);
    expect(revealed.revealCredentialSecret.fields).toEqual([{ name: 'password', value: 'reveal-me-secret-9' }]);
    const [reveal] = await trail(server.adminToken, { action: 'credential.reveal' });
    expect(reveal).toMatchObject({ outcome: 'SUCCESS', actor: { name: 'user:eddie' }, target: 'namespaces/prod/credentials/ghcr' });
    expect(reveal.details).not.toContain('reveal-me-secret-9');
  });

  it('records a forced credential delete with the registries that lost it', async () => {
    await server.ok('mutation { createRegistry(input: { namespace: "prod", name: "charts", url: "oci://ghcr.io/acme/charts", credential: "ghcr" }) { name } }', {}, editor);
    const refused = await server.gql('mutation { deleteCredential(input: { namespace: "prod", name: "ghcr" }) { deleted } }', {}, editor);
    expect(codeOf(refused)).toBe('CREDENTIAL_IN_USE');
    await server.ok('mutation { deleteCredential(input: { namespace: "prod", name: "ghcr", force: true }) { deleted } }', {}, editor);
    const [deleted] = await trail(server.adminToken, { action: 'credential.delete', outcome: 'SUCCESS' });
    expect(JSON.parse(deleted.details)).toMatchObject({ detachedRegistries: ['charts'] });
  });

  it('lets owners read their namespace trail only, newest first, and administrators everything', async () => {
    for (const token of [viewer, editor]) {
      const res = await nsTrail(token, 'prod');
      expectGqlError(res, { code: 'FORBIDDEN', message: /OWNER/ });
      const instance = await server.gql('{ auditEvents { edges { node { id } } } }', {}, token);
      expect(codeOf(instance)).toBe('FORBIDDEN');
    }
    const bob = await act.login(await act.createUser('bob'));
    await act.createNamespace(bob, 'bobs');
    const own = await nsTrail(alice, 'prod');
    const events = own.data.namespace.auditEvents.edges.map((e: any) => e.node);
    expect(events.length).toBeGreaterThan(3);
    expect(events.every((e: any) => e.namespace === 'prod')).toBe(true);
    const times = events.map((e: any) => e.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect((await nsTrail(alice, 'bobs')).data.namespace).toBeNull();
    const all = await trail(server.adminToken, {}, 100);
    expect(new Set(all.map((e: any) => e.namespace))).toEqual(new Set([null, 'prod', 'bobs']));
  });

  it('filters by action prefix, outcome, actor, target and time range, and pages with cursors', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const tokenEvents = await trail(server.adminToken, { action: 'apitoken.*', since });
    expect(tokenEvents.length).toBeGreaterThan(2);
    expect(tokenEvents.every((e: any) => e.action.startsWith('apitoken.'))).toBe(true);
    expect(await trail(server.adminToken, { until: '2000-01-01T00:00:00Z' })).toEqual([]);
    const byEddie = await trail(server.adminToken, { actor: 'user:eddie', outcome: 'SUCCESS' });
    expect(byEddie.length).toBeGreaterThan(0);
    expect(byEddie.every((e: any) => e.actor.name === 'user:eddie' && e.outcome === 'SUCCESS')).toBe(true);

    const pages: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await server.ok('query($a: String) { auditEvents(first: 3, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }', { a: after }, server.adminToken);
      pages.push(...res.auditEvents.edges.map((e: any) => e.node.id));
      if (!res.auditEvents.pageInfo.hasNextPage) break;
      after = res.auditEvents.pageInfo.endCursor;
    }
    const everything = (await trail(server.adminToken, {}, 100)).map((e: any) => e.id);
    expect(pages).toEqual(everything);
  });

  it('refetches an event by node id only for those who may read it', async () => {
    const [event] = await trail(server.adminToken, { action: 'apitoken.create', outcome: 'SUCCESS' });
    const query = 'query($id: ID!) { node(id: $id) { ... on AuditEvent { action } } }';
    expect((await server.ok(query, { id: event.id }, alice)).node).toEqual({ action: 'apitoken.create' });
    expect((await server.ok(query, { id: event.id }, viewer)).node).toBeNull();
  });

  it('keeps the events of a deleted namespace, and does not show them to a namespace reusing its name', async () => {
    await act.createNamespace(alice, 'temp');
    await act.createApiToken(alice, { namespace: 'temp', name: 'short-lived', role: 'VIEWER' });
    await server.ok('mutation { deleteNamespace(input: { name: "temp" }) { deleted } }', {}, alice);
    const kept = await trail(server.adminToken, { target: 'namespaces/temp*' });
    expect(kept.map((e: any) => e.action)).toEqual(expect.arrayContaining(['namespace.delete', 'apitoken.create', 'namespace.create']));
    const bob = await act.login('bob');
    await act.createNamespace(bob, 'temp');
    const fresh = (await nsTrail(bob, 'temp')).data.namespace.auditEvents.edges.map((e: any) => e.node.action);
    expect(fresh).toEqual(['namespace.create']);
  });

  it('folds a flood of bad tokens from one address into a bounded number of events', async () => {
    const before = (await trail(server.adminToken, { action: 'auth.failed' }, 100)).length;
    const bad = 'sgt_' + 'x'.repeat(36);
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await server.gql('{ viewer { kind } }', {}, bad);
          expect(res.status).toBe(401);
        }),
      );
    }
    const after = await trail(server.adminToken, { action: 'auth.failed' }, 100);
    expect(after.length - before).toBe(1);
    expect(JSON.parse(after[0].details)).toMatchObject({ reason: 'token is malformed (bad prefix, length or checksum)', count: 1 });
    // A well-formed token that is unknown carries its hint; the flood above did not.
    expect(after[0].details).not.toContain('hint');
  });

  it('writes every event to the log as a JSON line, and never a secret or password', () => {
    const auditLines = server.logs.flatMap((l) => l.split('\n')).filter((l) => l.includes('"msg":"audit"'));
    expect(auditLines.length).toBeGreaterThan(10);
    for (const line of auditLines) expect(JSON.parse(line).audit.action).toEqual(expect.any(String));
    const rows = JSON.stringify(withDatabase(server, (db) => db.prepare('select * from audit_events').all()));
    const secrets = [...server.issuedSecrets, ...passwords, 'reveal-me-secret-9'];
    expect(secrets.filter((s) => rows.includes(s))).toEqual([]);
    expect(secrets.filter((s) => auditLines.some((l) => l.includes(s)))).toEqual([]);
  });
});

describe('audit:verify', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    const act = actions(server);
    await act.createNamespace(server.adminToken, 'chain');
    for (const name of ['a', 'b', 'c', 'd']) await act.createApiToken(server.adminToken, { namespace: 'chain', name, role: 'VIEWER' });
    await server.close();
  });

  /** Changes the stopped server's file behind its back. */
  const tamper = (fn: (db: Database.Database) => void) => withDatabase(server, fn, { writable: true });
  const snapshot = () => withDatabase(server, (db) => db.prepare('select * from audit_events order by seq').all() as any[]);
  const restore = (rows: any[]) =>
    tamper((db) => {
      db.prepare('delete from audit_events').run();
      const insert = db.prepare(`insert into audit_events (${Object.keys(rows[0]).join(',')}) values (${Object.keys(rows[0]).map((k) => `@${k}`).join(',')})`);
      for (const row of rows) insert.run(row);
    });

  it('passes on an intact trail', async () => {
    const result = await verifyChain(server);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/audit trail intact: \d+ events verified/);
  });

  it('fails naming an edited row', async () => {
    const rows = snapshot();
    const victim = rows[3];
    tamper((db) => db.prepare("update audit_events set outcome = 'DENIED' where seq = ?").run(victim.seq));
    const result = await verifyChain(server);
    restore(rows);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`seq ${victim.seq} (id ${victim.id})`);
    expect(result.output).toContain('altered');
  });

  it('fails naming the row after a removed one', async () => {
    const rows = snapshot();
    tamper((db) => db.prepare('delete from audit_events where seq = ?').run(rows[2].seq));
    const result = await verifyChain(server);
    restore(rows);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`seq ${rows[3].seq}`);
    expect(result.output).toContain('removed');
  });

  it('fails when the newest event is removed', async () => {
    const rows = snapshot();
    tamper((db) => db.prepare('delete from audit_events where seq = ?').run(rows.at(-1).seq));
    const result = await verifyChain(server);
    restore(rows);
    expect(result.code).toBe(1);
    expect(result.output).toContain('newest events were removed');
  });

  it('fails naming the first row of a reordering', async () => {
    const rows = snapshot();
    const [x, y] = [rows[4], rows[5]];
    tamper((db) => {
      const move = db.prepare('update audit_events set seq = ? where seq = ?');
      move.run(-1, x.seq);
      move.run(x.seq, y.seq);
      move.run(y.seq, -1);
    });
    const result = await verifyChain(server);
    restore(rows);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`seq ${x.seq}`);
    expect((await verifyChain(server)).code).toBe(0);
  });
});

describe('folded authentication failures', () => {
  it('writes the count of the folded failures when the window closes (here: at shutdown)', async () => {
    const server = await startTestServer();
    const bad = 'sgt_' + 'y'.repeat(36);
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(Array.from({ length: 20 }, () => server.gql('{ viewer { kind } }', {}, bad)));
    }
    await server.close();
    const rows = withDatabase(server, (db) => db.prepare("select details from audit_events where action = 'auth.failed' order by seq").all() as { details: string }[]);
    expect(rows.map((r) => JSON.parse(r.details))).toEqual([
      { reason: 'token is malformed (bad prefix, length or checksum)', count: 1 },
      { reason: 'token is malformed (bad prefix, length or checksum)', count: 999, folded: true, since: expect.any(String) },
    ]);
  });
});
