/**
 * `npm run bench` (after `npm run build`): the real server, started as `npm start` starts it
 * (`node dist/src/main.js`, NODE_ENV=production), on a database seeded at scale, driven with
 * autocannon side by side with a plain graphql-yoga server answering `{ hello }`
 * (scripts/bench-baseline.ts), in the same run. Nothing here is asserted in a test.
 *
 * Seeds 10,000 namespaces, 100,000 API tokens, 20,000 registry credentials (100 in "perf"), each
 * with a registry, and 1,000,000 chained audit events, then measures, alternating with the
 * baseline over --rounds rounds of --duration seconds (medians printed):
 *   diagnostics  GET /healthz, { __typename } and { viewer { kind } } with an API token
 *   (a)          one namespace with a VIEWER API token
 *   (b)          100 credentials with their registries, with a member's personal access token
 *   (c)          audit trail pages (first, and filtered to ~1 %) as the administrator
 *   (d)          createApiToken writes as the administrator, 20 connections
 *   (e)          start-up (spawn to /readyz 200) on the seeded database, idle and peak memory
 *
 *   npm run bench -- [--store sqlite|postgres] [--database-url <postgres admin URL>]
 *                    [--duration 8] [--rounds 3] [--scale 1]
 *   a quick try: npm run bench -- --scale 0.01 --duration 2 --rounds 1
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import SQLite from 'better-sqlite3';
import { Command, Option } from 'commander';
import pg from 'pg';
import { encryptSecret, type Keyring, loadKeyring } from '../src/credentials/crypto.js';
import { chainKeyOf, hashAuditEvent } from '../src/domain/audit.js';
import { newToken } from '../src/domain/new-token.js';

const opts = new Command()
  .addOption(new Option('--store <store>', 'database of the server').choices(['sqlite', 'postgres']).default('sqlite'))
  .option('--database-url <url>', 'PostgreSQL admin connection (--store postgres)', 'postgres://postgres@127.0.0.1:5432/test')
  .option('--duration <s>', 'seconds per measurement', Number, 8)
  .option('--rounds <n>', 'rounds per workload (the median is printed)', Number, 3)
  .option('--scale <fraction>', 'multiplies the seed counts', Number, 1)
  .parse()
  .opts<{ store: 'sqlite' | 'postgres'; databaseUrl: string; duration: number; rounds: number; scale: number }>();

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.resolve(here, '../src/main.js');
const BASELINE = path.join(here, 'bench-baseline.js');
const COUNTS = {
  namespaces: Math.round(10_000 * opts.scale),
  apiTokens: Math.round(100_000 * opts.scale),
  credentials: Math.round(20_000 * opts.scale),
  events: Math.round(1_000_000 * opts.scale),
};
const PERF_CREDENTIALS = Math.min(100, COUNTS.credentials);
const TOKEN = /sg[tps]_[0-9A-Za-z]{36}/g;
const redact = (text: string) => text.replace(TOKEN, 'sg?_<redacted>');

// ------------------------------------------------------------------ child processes

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void> | void)[] = [];

interface Child {
  process: ChildProcess;
  url: string;
  output: () => string;
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function spawnNode(script: string, env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-1_000_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { process: child, url: `http://127.0.0.1:${port}`, output: () => output };
}

/** Polls until `probe` is true; fails if the child exits first or after `timeoutMs`. */
async function until(child: Child, what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (child.process.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${what}: ${child.process.exitCode !== null ? 'the process exited' : 'timed out'}. Its output:\n${redact(child.output().slice(-4000))}`);
    }
    await sleep(5);
  }
}

async function answers(url: string, status: number): Promise<boolean> {
  try {
    return (await fetch(url)).status === status;
  } catch {
    return false;
  }
}

/** The server as `npm start` runs it; resolves when /readyz answers 200, with the time that took. */
async function startScopegate(env: Record<string, string>): Promise<{ server: Child; startupMs: number }> {
  const t = performance.now();
  const server = await spawnNode(SERVER, { LOG_LEVEL: 'warn', ...env });
  await until(server, 'scopegate did not become ready', () => answers(`${server.url}/readyz`, 200));
  return { server, startupMs: performance.now() - t };
}

async function startBaseline(): Promise<Child> {
  const baseline = await spawnNode(BASELINE, {});
  await until(baseline, 'the baseline did not start', async () => (await post(baseline.url, null, '{ hello }').catch(() => null))?.status === 200);
  return baseline;
}

async function stop(child: Child) {
  if (child.process.exitCode !== null) return;
  child.process.kill('SIGTERM');
  await once(child.process, 'exit');
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** User and system CPU time the process has used, in ms (clock ticks are 10 ms on Linux). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Samples the process's RSS every 100 ms; the returned function stops and gives the peak. */
function sampleRss(pid: number): () => number {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssMb(pid));
  };
}

// ------------------------------------------------------------------ GraphQL over HTTP

async function post(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.text() };
}

async function gql(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const { status, body } = await post(url, token, query, variables);
  const parsed = JSON.parse(body);
  if (status !== 200 || parsed.errors) throw new Error(`${query.slice(0, 80)}…: HTTP ${status} ${redact(body).slice(0, 500)}`);
  return parsed.data;
}

interface Principals {
  admin: string;
  /** A VIEWER API token of "perf". */
  viewer: string;
  /** A personal access token of a VIEWER member of "perf". */
  member: string;
}

/** Made through the API as the administrator, as a person would. */
async function createPrincipals(url: string, admin: string): Promise<Principals> {
  await gql(url, admin, 'mutation { createNamespace(input: { name: "perf" }) { id } }');
  const viewer = (await gql(url, admin, 'mutation { createApiToken(input: { namespace: "perf", name: "bench-viewer", role: VIEWER }) { secret } }'))
    .createApiToken.secret;
  const password = randomBytes(18).toString('base64url');
  await gql(url, admin, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username: 'bench-member', password } });
  await gql(url, admin, 'mutation { setMemberRole(input: { namespace: "perf", username: "bench-member", role: VIEWER }) { role } }');
  const session = (await gql(url, null, 'mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username: 'bench-member', password } })).login.token;
  const member = (await gql(url, session, 'mutation { createPersonalAccessToken(input: { name: "bench" }) { secret } }')).createPersonalAccessToken.secret;
  return { admin, viewer, member };
}

// ------------------------------------------------------------------ seeding, straight into the database

/** Rows go in as the server would write them; `?` placeholders in get/run. */
interface Sink {
  insert(table: string, rows: object[]): Promise<void>;
  get(sql: string, params?: unknown[]): Promise<any>;
  run(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

function sqliteSink(file: string): Sink {
  const db = new SQLite(file);
  const inserts = new Map<string, SQLite.Statement>();
  return {
    async insert(table, rows) {
      const columns = Object.keys(rows[0]);
      const key = `${table}(${columns})`;
      if (!inserts.has(key)) inserts.set(key, db.prepare(`insert into ${table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`));
      const insert = inserts.get(key)!;
      db.transaction(() => rows.forEach((row) => insert.run(row)))();
    },
    get: async (sql, params = []) => db.prepare(sql).get(...params),
    run: async (sql, params = []) => void db.prepare(sql).run(...params),
    close: async () => void db.close(),
  };
}

async function postgresSink(url: string): Promise<Sink> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    async insert(table, rows) {
      const columns = Object.keys(rows[0]);
      const perStatement = Math.floor(65_535 / columns.length);
      await client.query('begin');
      for (let i = 0; i < rows.length; i += perStatement) {
        const chunk = rows.slice(i, i + perStatement);
        const tuples = chunk.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
        await client.query(`insert into ${table} (${columns.join(', ')}) values ${tuples.join(', ')}`, chunk.flatMap((row) => columns.map((c) => (row as Record<string, unknown>)[c])));
      }
      await client.query('commit');
    },
    get: async (sql, params = []) => (await client.query(numbered(sql), params)).rows[0],
    run: async (sql, params = []) => void (await client.query(numbered(sql), params)),
    // Fresh statistics, as autovacuum would have them on a database that grew to this size.
    close: async () => {
      await client.query('analyze');
      await client.end();
    },
  };
}

/** Inserts `count` rows made by `make(i)` (one or more tables' rows each), 10,000 at a time. */
async function seed(sink: Sink, count: number, make: (i: number) => Record<string, object>) {
  for (let from = 0; from < count; from += 10_000) {
    const batches: Record<string, object[]> = {};
    for (let i = from; i < Math.min(from + 10_000, count); i++) {
      for (const [table, row] of Object.entries(make(i))) (batches[table] ??= []).push(row);
    }
    for (const [table, rows] of Object.entries(batches)) await sink.insert(table, rows);
  }
}

interface Namespace {
  id: string;
  name: string;
}

/** Namespaces created by the administrator, who owns them (as createNamespace does). */
async function seedNamespaces(sink: Sink, count: number, adminId: string): Promise<Namespace[]> {
  const now = new Date().toISOString();
  const namespaces = Array.from({ length: count }, (_, i) => ({ id: randomUUID(), name: `ns-${i}` }));
  await seed(sink, count, (i) => ({
    namespaces: { ...namespaces[i], display_name: null, description: null, created_by: adminId, created_at: now, updated_at: now },
    memberships: { namespace_id: namespaces[i].id, user_id: adminId, role: 'OWNER', created_at: now },
  }));
  return namespaces;
}

/** API tokens spread over the namespaces; their secrets are made and thrown away (never presented). */
async function seedApiTokens(sink: Sink, count: number, namespaces: Namespace[], adminId: string) {
  const now = new Date();
  const inNinetyDays = new Date(now.getTime() + 90 * 86_400_000).toISOString();
  const roles = ['VIEWER', 'EDITOR', 'OWNER'] as const;
  await seed(sink, count, (i) => ({
    tokens: newToken('API', now, {
      name: `token-${Math.floor(i / namespaces.length)}`,
      namespace_id: namespaces[i % namespaces.length].id,
      created_by: adminId,
      role: roles[i % roles.length],
      expires_at: i % 2 ? inNinetyDays : null,
    }).row,
  }));
}

/** Registry credentials sealed with the server's key and binding, each used by a registry of its namespace. */
async function seedCredentials(sink: Sink, count: number, perf: Namespace, namespaces: Namespace[], adminId: string, keyring: Keyring) {
  const now = new Date().toISOString();
  await seed(sink, count, (i) => {
    const ns = i < PERF_CREDENTIALS ? perf : namespaces[i % namespaces.length];
    const id = randomUUID();
    const sealed = encryptSecret(keyring, { password: `password-${i}` }, { credentialId: id, namespaceId: ns.id });
    const [kind, url] = i % 2 ? ['HTTP', `https://charts-${i}.example.com`] : ['OCI', `oci://registry-${i}.example.com/charts`];
    return {
      credentials: {
        id,
        namespace_id: ns.id,
        name: `registry-${i}`,
        type: 'REGISTRY',
        description: null,
        public_fields: JSON.stringify({ username: `robot-${i}` }),
        secret_ciphertext: sealed.ciphertext,
        secret_key_id: sealed.keyId,
        validation_status: 'UNCHECKED',
        validation_message: null,
        last_validated_at: null,
        created_by: adminId,
        created_at: now,
        updated_at: now,
      },
      registries: { id: randomUUID(), namespace_id: ns.id, name: `charts-${i}`, url, kind, credential_id: id, created_at: now, updated_at: now },
    };
  });
}

const ACTIONS = ['apitoken.create', 'apitoken.update', 'apitoken.regenerate', 'credential.create', 'namespace.update', 'member.set_role', 'auth.login'];

/** Appends `count` events to the hash chain, sealed with the server's chain key; one in a hundred is a credential.reveal. */
async function seedTrail(sink: Sink, count: number, namespaces: Namespace[], keyring: Keyring) {
  const chainKey = chainKeyOf(keyring, keyring.activeKeyId);
  let prev: string = (await sink.get('select hash from audit_chain_head where id = 1')).hash;
  const start = Date.now() - count * 1000;
  await seed(sink, count, (i) => {
    const rare = i % 100 === 0;
    const ns = namespaces[i % namespaces.length];
    const event = {
      id: randomUUID(),
      occurred_at: new Date(start + i * 1000).toISOString(),
      action: rare ? 'credential.reveal' : ACTIONS[i % ACTIONS.length],
      outcome: i % 10 === 0 ? ('DENIED' as const) : ('SUCCESS' as const),
      actor_kind: 'USER_SESSION',
      actor_name: rare ? 'user:carol' : `user:u${i % 50}`,
      namespace: ns.name,
      namespace_id: ns.id,
      target: `namespaces/${ns.name}/apitokens/token-${i % 10}`,
      request_id: randomUUID(),
      ip_address: '127.0.0.1',
      user_agent: 'bench',
      details: '{"changed":["description"]}',
      prev_hash: prev,
      chain_key_id: keyring.activeKeyId,
    };
    prev = hashAuditEvent(event, chainKey);
    return { audit_events: { ...event, hash: prev } };
  });
  await sink.run('update audit_chain_head set hash = ? where id = 1', [prev]);
}

async function timed(what: string, fn: () => Promise<unknown>): Promise<string> {
  const t = performance.now();
  await fn();
  return `${what} ${((performance.now() - t) / 1000).toFixed(1)} s`;
}

/** Everything beyond the principals, with the server stopped. Returns the seeding times, printable. */
async function seedAll(sink: Sink, keyring: Keyring): Promise<string[]> {
  const { id: adminId } = await sink.get('select id from users where is_admin = 1 order by created_at limit 1');
  const perf: Namespace = await sink.get("select id, name from namespaces where name = 'perf'");
  let namespaces: Namespace[] = [];
  const c = (n: number) => n.toLocaleString('en');
  const times = [
    await timed(`${c(COUNTS.namespaces - 1)} namespaces`, async () => (namespaces = await seedNamespaces(sink, COUNTS.namespaces - 1, adminId))),
    await timed(`${c(COUNTS.apiTokens - 1)} API tokens`, () => seedApiTokens(sink, COUNTS.apiTokens - 1, namespaces, adminId)),
    await timed(`${c(COUNTS.credentials)} credentials + registries`, () => seedCredentials(sink, COUNTS.credentials, perf, namespaces, adminId, keyring)),
    await timed(`${c(COUNTS.events)} audit events`, () => seedTrail(sink, COUNTS.events, namespaces, keyring)),
  ];
  times.push(await timed(opts.store === 'postgres' ? 'closing (analyze)' : 'closing', () => sink.close()));
  return times;
}

// ------------------------------------------------------------------ stores

interface Store {
  databaseUrl: string;
  sink(): Promise<Sink>;
}

async function sqliteStore(dir: string): Promise<Store> {
  const file = path.join(dir, 'scopegate.db');
  return { databaseUrl: file, sink: async () => sqliteSink(file) };
}

/** A fresh database for the run, dropped at the end. */
async function postgresStore(adminUrl: string): Promise<Store> {
  const name = `scopegate_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  cleanups.push(() => admin(`drop database if exists ${name} with (force)`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { databaseUrl: url.toString(), sink: () => postgresSink(url.toString()) };
}

// ------------------------------------------------------------------ workloads

interface Workload {
  name: string;
  on: 'baseline' | 'scopegate';
  method?: 'GET' | 'POST';
  path?: string;
  token?: string;
  /** The query, or a function giving each request's body (writes). */
  query: string | (() => string);
  connections?: number;
  /** What is wrong with a parsed 200 response, if anything. */
  wrong?: (data: any) => string | undefined;
  targets?: (m: Measured, baseline: Measured) => [string, boolean][];
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
  graphqlErrors: number;
  peakRssMb: number;
  /** Server CPU time per request, in µs: unlike req/s, barely moved by what else the machine runs. */
  cpuUs: number;
  problem?: string;
}

/** (b) as a client would ask it: each credential with its registries. */
const CREDENTIALS = `{ namespace(name: "perf") { credentials(first: 100) { edges { node { name type
  ... on RegistryCredential { username registries(first: 10) { edges { node { name url kind } } } } } } } } }`;

/** Every credential is there with its registry. */
function credentialsWrong(data: any): string | undefined {
  const credentials = data.namespace?.credentials.edges.map((e: any) => e.node) ?? [];
  if (credentials.length !== PERF_CREDENTIALS) return `${credentials.length} credentials, expected ${PERF_CREDENTIALS}`;
  const bare = credentials.filter((c: any) => !c.username || c.registries.edges.length !== 1);
  return bare.length ? `${bare.length} credentials without username or registry` : undefined;
}

const auditQuery = (filter: string) => `{ auditEvents(first: 20${filter}) { edges { node { id action occurredAt actor { name } } } pageInfo { endCursor hasNextPage } } }`;

function workloads(p: Principals): Workload[] {
  let written = 0;
  const write = () => {
    const name = `write-${process.pid}-${written++}`;
    return `mutation { createApiToken(input: { namespace: "ns-${written % 4}", name: "${name}", role: VIEWER }) { secret apiToken { name } } }`;
  };
  const twenty = (edges: unknown[]) => (edges.length === 20 ? undefined : `${edges.length} events, expected 20`);
  return [
    { name: 'baseline: plain Yoga { hello }', on: 'baseline', query: '{ hello }', wrong: (d) => (d.hello === 'world' ? undefined : 'not world') },
    { name: 'GET /healthz', on: 'scopegate', method: 'GET', path: '/healthz', query: '' },
    { name: '{ __typename } (API token)', on: 'scopegate', token: p.viewer, query: '{ __typename }', wrong: (d) => (d.__typename === 'Query' ? undefined : 'not Query') },
    { name: '{ viewer { kind } } (API token)', on: 'scopegate', token: p.viewer, query: '{ viewer { kind } }', wrong: (d) => (d.viewer.kind === 'API_TOKEN' ? undefined : d.viewer.kind) },
    {
      name: '(a) namespace, VIEWER API token',
      on: 'scopegate',
      token: p.viewer,
      query: '{ namespace(name: "perf") { id name viewerRole } }',
      wrong: (d) => (d.namespace?.name === 'perf' && d.namespace.viewerRole === 'VIEWER' ? undefined : JSON.stringify(d)),
      targets: (m, b) => [
        ['ratio ≥ 0.8 (goal 1.0)', m.rps / b.rps >= 0.8],
        ['p99 ≤ 25 ms', m.p99 <= 25],
        ['RSS ≤ 200 MB', m.peakRssMb <= 200],
      ],
    },
    {
      name: '(b) 100 credentials + registries, PAT',
      on: 'scopegate',
      token: p.member,
      query: CREDENTIALS,
      wrong: credentialsWrong,
    },
    {
      name: '(c) audit first page (admin)',
      on: 'scopegate',
      token: p.admin,
      query: auditQuery(''),
      wrong: (d) => twenty(d.auditEvents.edges),
    },
    {
      name: '(c) audit filtered, credential.reveal',
      on: 'scopegate',
      token: p.admin,
      query: auditQuery(', filter: { action: "credential.reveal" }'),
      wrong: (d) => twenty(d.auditEvents.edges) ?? (d.auditEvents.edges.some((e: any) => e.node.action !== 'credential.reveal') ? 'another action' : undefined),
    },
    {
      name: '(d) createApiToken (admin, 20 conn.)',
      on: 'scopegate',
      token: p.admin,
      query: write,
      connections: 20,
      wrong: (d) => (/^sgt_/.test(d.createApiToken?.secret) ? undefined : 'no secret'),
      targets: (m) => (opts.store === 'sqlite' ? [['≥ 500 req/s', m.rps >= 500]] : []),
    },
  ];
}

function requestOf(w: Workload) {
  const body = () => (w.method === 'GET' ? undefined : JSON.stringify({ query: typeof w.query === 'string' ? w.query : w.query() }));
  return {
    method: w.method ?? 'POST',
    path: w.path ?? '/graphql',
    headers: { 'content-type': 'application/json', ...(w.token ? { authorization: `Bearer ${w.token}` } : {}) },
    body,
  };
}

/** One response of the workload, checked before it is measured: a benchmark of errors is worthless. */
async function check(w: Workload, url: string): Promise<string | undefined> {
  const { method, path: at, headers, body } = requestOf(w);
  const res = await fetch(url + at, { method, headers, body: body() });
  const text = await res.text();
  if (res.status !== 200) return `HTTP ${res.status}: ${redact(text).slice(0, 300)}`;
  if (w.method === 'GET') return undefined;
  const parsed = JSON.parse(text);
  if (parsed.errors) return `GraphQL errors: ${redact(JSON.stringify(parsed.errors)).slice(0, 300)}`;
  return w.wrong?.(parsed.data);
}

async function measure(w: Workload, target: Child): Promise<Measured> {
  const problem = await check(w, target.url);
  if (problem) return { rps: 0, p50: 0, p99: 0, non2xx: 0, socketErrors: 0, graphqlErrors: 0, peakRssMb: 0, cpuUs: 0, problem };
  const { method, path: at, headers, body } = requestOf(w);
  let graphqlErrors = 0;
  const rss = sampleRss(target.process.pid!);
  const cpuBefore = cpuMs(target.process.pid!);
  const result = await autocannon({
    url: target.url,
    connections: w.connections ?? 50,
    duration: opts.duration,
    requests: [
      {
        method,
        path: at,
        headers,
        body: body(),
        ...(typeof w.query === 'function' ? { setupRequest: (req) => ({ ...req, body: body() }) } : {}),
        onResponse: (_status, text) => void (text.includes('"errors"') && graphqlErrors++),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
    graphqlErrors,
    peakRssMb: rss(),
    cpuUs: ((cpuMs(target.process.pid!) - cpuBefore) * 1000) / result.requests.total,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function combine(rounds: Measured[]): Measured {
  const sum = (f: (m: Measured) => number) => rounds.reduce((s, m) => s + f(m), 0);
  return {
    rps: median(rounds.map((m) => m.rps)),
    p50: median(rounds.map((m) => m.p50)),
    p99: median(rounds.map((m) => m.p99)),
    non2xx: sum((m) => m.non2xx),
    socketErrors: sum((m) => m.socketErrors),
    graphqlErrors: sum((m) => m.graphqlErrors),
    peakRssMb: Math.max(...rounds.map((m) => m.peakRssMb)),
    cpuUs: median(rounds.map((m) => m.cpuUs)),
    problem: rounds.find((m) => m.problem)?.problem,
  };
}

// ------------------------------------------------------------------ report

const mark = (ok: boolean) => (ok ? '✓' : '✗');

function table(list: Workload[], results: Measured[]): string[] {
  const baseline = results[0];
  const lines = [
    '| workload | req/s | p50 ms | p99 ms | ratio to baseline | server CPU µs/req (ratio) | peak RSS MB | non-2xx / socket / GraphQL errors | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  list.forEach((w, i) => {
    const m = results[i];
    if (m.problem) return lines.push(`| ${w.name} | – | – | – | – | – | – | WRONG RESPONSE | not measured |`);
    const targets = (w.targets?.(m, baseline) ?? []).map(([what, ok]) => `${what} ${mark(ok)}`).join(', ');
    lines.push(
      `| ${w.name} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${(m.rps / baseline.rps).toFixed(2)} | ${m.cpuUs.toFixed(0)} (${(baseline.cpuUs / m.cpuUs).toFixed(2)}) | ${m.peakRssMb.toFixed(0)} | ${m.non2xx} / ${m.socketErrors} / ${m.graphqlErrors} | ${targets} |`,
    );
  });
  return lines;
}

function loudProblems(list: Workload[], results: Measured[]): string[] {
  return list.flatMap((w, i) => {
    const m = results[i];
    if (m.problem) return [`!!! ${w.name}: wrong response, not measured: ${m.problem}`];
    const bad = m.non2xx + m.socketErrors + m.graphqlErrors;
    return bad ? [`!!! ${w.name}: ${m.non2xx} non-2xx, ${m.socketErrors} socket errors/timeouts, ${m.graphqlErrors} responses with GraphQL errors`] : [];
  });
}

/** Warnings and errors the server logged (JSON lines, pino levels 40 and up). */
function serverComplaints(server: Child): string[] {
  const lines = server.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l));
  return lines.length ? [`server logged ${lines.length} warnings/errors, e.g.:`, ...lines.slice(0, 3).map((l) => `  ${redact(l).slice(0, 300)}`)] : [];
}

// ------------------------------------------------------------------ the run

async function verifySeed(url: string, admin: string) {
  for (const i of [0, COUNTS.credentials - 1]) {
    const namespace = i < PERF_CREDENTIALS ? 'perf' : `ns-${i % (COUNTS.namespaces - 1)}`;
    const data = await gql(url, admin, `mutation { revealCredentialSecret(input: { namespace: "${namespace}", name: "registry-${i}" }) { fields { name value } } }`);
    const password = data.revealCredentialSecret.fields.find((f: { name: string }) => f.name === 'password')?.value;
    if (password !== `password-${i}`) throw new Error(`seeded credential registry-${i} does not reveal its password`);
  }
}

async function run() {
  const wall = performance.now();
  const cpu = os.cpus();
  console.log(
    `machine: ${cpu.length} cores, ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}, store ${opts.store}` +
      `; ${opts.rounds} rounds of ${opts.duration} s, scale ${opts.scale}`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-bench-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = opts.store === 'postgres' ? await postgresStore(opts.databaseUrl) : await sqliteStore(dir);
  const masterKey = randomBytes(32).toString('base64');
  const env = { DATABASE_URL: store.databaseUrl, SCOPEGATE_DATA_DIR: dir, SCOPEGATE_MASTER_KEY: masterKey };
  const keyring = loadKeyring({ masterKey, dataDir: dir, production: true, warn: () => {} });

  let { server } = await startScopegate(env);
  let admin = '';
  await until(server, 'no administrator token in the first-start banner', () => Boolean((admin = server.output().match(TOKEN)?.[0] ?? '')));
  const principals = await createPrincipals(server.url, admin);
  await stop(server);

  const seedTimes = await seedAll(await store.sink(), keyring);
  console.log(`seeding: ${seedTimes.join('; ')}`);

  const started = await startScopegate(env);
  server = started.server;
  await sleep(1000);
  const idleRss = rssMb(server.process.pid!);
  await verifySeed(server.url, admin);
  const baseline = await startBaseline();

  const list = workloads(principals);
  const rounds: Measured[][] = list.map(() => []);
  for (let r = 0; r < opts.rounds; r++) {
    for (const [i, w] of list.entries()) rounds[i].push(await measure(w, w.on === 'baseline' ? baseline : server));
  }
  const results = rounds.map(combine);
  const a = results[list.findIndex((w) => w.name.startsWith('(a)'))];

  console.log(['', ...table(list, results), ''].join('\n'));
  console.log('ratio to baseline: req/s over the baseline\'s; server CPU ratio: the baseline\'s CPU per request over this one\'s (≥ 1: cheaper than plain Yoga)');
  console.log('peak RSS: of the server process while the workload ran, the highest over the rounds');
  console.log(`(e) start-up, spawn to /readyz 200 on the seeded database: ${(started.startupMs / 1000).toFixed(2)} s (target ≤ 1 s ${mark(started.startupMs <= 1000)})`);
  console.log(`(e) RSS idle after start: ${idleRss.toFixed(0)} MB; peak under (a): ${a.problem ? '–' : `${a.peakRssMb.toFixed(0)} MB (target ≤ 200 MB ${mark(a.peakRssMb <= 200)})`}`);
  for (const line of [...loudProblems(list, results), ...serverComplaints(server)]) console.log(line);
  console.log(`wall time ${((performance.now() - wall) / 1000).toFixed(0)} s`);
}

async function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(cleanups.splice(0).map(async (fn) => fn()));
}

process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void cleanup().finally(() => process.exit(130)));
}
try {
  await run();
} catch (err) {
  console.error(`bench failed: ${redact(err instanceof Error ? err.message : String(err))}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
