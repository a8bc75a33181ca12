/**
 * `npm run bench`: measures what DESIGN.md asks to measure, each against a baseline run
 * side by side in the same process, and prints the ratios. Nothing here is asserted in a test.
 *
 *   1. Audit paging on a trail of 1,000,000 events (keyset on seq, newest first):
 *      first page and filtered pages vs the same pages on a 1,000-event trail (does it
 *      grow with the trail?), and a deep page by cursor vs the same page by OFFSET.
 *   2. Token verification, the hot path: requests/s with the verified-token cache vs
 *      without it (SCOPEGATE_TOKEN_CACHE_TTL_SECONDS=0).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import SQLite from 'better-sqlite3';
import { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import type { Keyring } from '../src/credentials/crypto.js';
import { chainKeyOf, hashAuditEvent } from '../src/domain/audit.js';
import { createLogger } from '../src/logger.js';
import { startScopegate, type Scopegate } from '../src/server.js';

const program = new Command()
  .option('--events <n>', 'size of the large audit trail', (v) => Number(v), 1_000_000)
  .option('--requests <n>', 'requests per token-verification run', (v) => Number(v), 3000)
  .parse();
const opts = program.opts<{ events: number; requests: number }>();

const ACTIONS = ['apitoken.create', 'apitoken.update', 'apitoken.regenerate', 'credential.create', 'namespace.update', 'member.set_role', 'auth.login'];

async function start(dir: string, env: Record<string, string> = {}): Promise<Scopegate> {
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', DATABASE_URL: path.join(dir, 'db.sqlite'), SCOPEGATE_DATA_DIR: dir, LOG_LEVEL: 'silent', ...env });
  return startScopegate(config, { log: createLogger('silent') });
}

/** Appends `count` chained events, sealed with the server's key, straight into the file (the server is stopped). */
function seedTrail(file: string, count: number, keyring: Keyring) {
  const chainKey = chainKeyOf(keyring, keyring.activeKeyId);
  const db = new SQLite(file);
  const head = db.prepare('select hash from audit_chain_head where id = 1').get() as { hash: string };
  const insert = db.prepare(
    `insert into audit_events (id, occurred_at, action, outcome, actor_kind, actor_name, namespace, namespace_id, target, request_id, ip_address, user_agent, details, prev_hash, chain_key_id, hash)
     values (@id, @occurred_at, @action, @outcome, @actor_kind, @actor_name, @namespace, @namespace_id, @target, @request_id, @ip_address, @user_agent, @details, @prev_hash, @chain_key_id, @hash)`,
  );
  let prev = head.hash;
  const start = Date.now() - count * 1000;
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      // One in a hundred events is a reveal by carol: the rare filter.
      const rare = i % 100 === 0;
      const event = {
        id: randomUUID(),
        occurred_at: new Date(start + i * 1000).toISOString(),
        action: rare ? 'credential.reveal' : ACTIONS[i % ACTIONS.length],
        outcome: i % 10 === 0 ? ('DENIED' as const) : ('SUCCESS' as const),
        actor_kind: 'USER_SESSION',
        actor_name: rare ? 'user:carol' : `user:u${i % 50}`,
        namespace: `ns${i % 20}`,
        namespace_id: null,
        target: `namespaces/ns${i % 20}/apitokens/t${i % 500}`,
        request_id: randomUUID(),
        ip_address: '127.0.0.1',
        user_agent: 'bench',
        details: '{"changed":["description"]}',
        prev_hash: prev,
        chain_key_id: keyring.activeKeyId,
      };
      const hash = hashAuditEvent(event, chainKey);
      insert.run({ ...event, hash });
      prev = hash;
    }
  });
  for (let i = 0; i < count; i += 50_000) batch(i, Math.min(i + 50_000, count));
  db.prepare('update audit_chain_head set hash = ? where id = 1').run(prev);
  db.close();
}

async function graphql(gate: Scopegate, token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(gate.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Median of several runs, in milliseconds. */
async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const PAGE = 'query($f: AuditEventFilter, $after: String) { auditEvents(first: 20, after: $after, filter: $f) { edges { node { id action occurredAt actor { name } } } pageInfo { endCursor } } }';
const cursorFor = (seq: number) => Buffer.from(JSON.stringify({ k: String(seq) })).toString('base64url');

async function auditPaging() {
  const cases: [string, Record<string, unknown>][] = [
    ['first page', {}],
    ['filter action=credential.reveal (1%)', { f: { action: 'credential.reveal' } }],
    ['filter actor=user:carol + outcome', { f: { actor: 'user:carol', outcome: 'DENIED' } }],
    ['filter action prefix apitoken.*', { f: { action: 'apitoken.*' } }],
  ];
  const results: Record<string, number[]> = {};
  for (const size of [1_000, opts.events]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-bench-'));
    let gate = await start(dir);
    const token = gate.bootstrap!.secret;
    await gate.close();
    const t = performance.now();
    seedTrail(path.join(dir, 'db.sqlite'), size, gate.app.keyring);
    console.log(`  seeded ${size.toLocaleString('en')} chained events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    gate = await start(dir);
    for (const [name, variables] of cases) {
      for (let i = 0; i < 5; i++) await graphql(gate, token, PAGE, variables);
      (results[name] ??= []).push(await median(15, () => graphql(gate, token, PAGE, variables)));
    }
    if (size === opts.events) {
      const deep = Math.floor(size / 2);
      const keyset = await median(15, () => graphql(gate, token, PAGE, { after: cursorFor(deep) }));
      const db = new SQLite(path.join(dir, 'db.sqlite'), { readonly: true });
      const offsetQuery = db.prepare('select id, action, occurred_at, actor_name from audit_events order by seq desc limit 20 offset ?');
      const offset = await median(15, async () => offsetQuery.all(size - deep));
      db.close();
      results['deep page (middle of the trail): keyset vs OFFSET'] = [offset, keyset];
    }
    await gate.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nAudit paging, median of 15 over HTTP (ms)`);
  console.log(`  ${'page'.padEnd(52)} ${'1k events'.padStart(10)} ${`${(opts.events / 1e6).toString()}M events`.padStart(10)}  ratio`);
  for (const [name, [small, large]] of Object.entries(results)) {
    if (name.startsWith('deep')) continue;
    console.log(`  ${name.padEnd(52)} ${small.toFixed(2).padStart(10)} ${large.toFixed(2).padStart(10)}  ${(large / small).toFixed(2)}×`);
  }
  const [offset, keyset] = results['deep page (middle of the trail): keyset vs OFFSET'];
  console.log(`  ${'deep page at the middle: OFFSET (SQL only) / keyset (HTTP)'.padEnd(52)} ${offset.toFixed(2).padStart(10)} ${keyset.toFixed(2).padStart(10)}  ${(offset / keyset).toFixed(1)}× faster by cursor`);
}

async function tokenVerification() {
  const rates: number[] = [];
  for (const ttl of ['0', '30']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-bench-'));
    const gate = await start(dir, { SCOPEGATE_TOKEN_CACHE_TTL_SECONDS: ttl });
    const token = gate.bootstrap!.secret;
    await graphql(gate, token, '{ viewer { kind } }');
    const concurrency = 10;
    let left = opts.requests;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) await graphql(gate, token, '{ viewer { kind } }');
      }),
    );
    rates.push(opts.requests / ((performance.now() - t) / 1000));
    await gate.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nToken verification, ${opts.requests} requests of { viewer { kind } }, 10 at a time`);
  console.log(`  without cache (TTL 0)   ${rates[0].toFixed(0).padStart(7)} req/s   (baseline)`);
  console.log(`  with cache (TTL 30 s)   ${rates[1].toFixed(0).padStart(7)} req/s   ${(rates[1] / rates[0]).toFixed(2)}×`);
}

console.log(`scopegate bench on ${os.cpus().length} cores, node ${process.version}`);
await tokenVerification();
await auditPaging();
