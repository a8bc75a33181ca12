import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { Agent, fetch as undiciFetch } from 'undici';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startScopegate, type Scopegate } from '../../src/server.js';

/** Anything shaped like one of our secrets, wherever it appears in a response. */
const SECRET_SHAPE = /sg[tps]_[0-9A-Za-z]{36}/g;

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[] | undefined;
  body: any;
}

export interface TestServer {
  gate: Scopegate;
  url: string;
  graphqlUrl: string;
  dir: string;
  dbFile: string;
  adminToken: string;
  /** Every log line the server wrote, as text. */
  logs: string[];
  /** Every secret any response carried (tokens, sessions), collected for the at-rest checks. */
  issuedSecrets: Set<string>;
  /** SQL statements run so far (reset it to count those of one request). */
  statements: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  /** Like gql, but fails the test on any error; returns data. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T>;
  /**
   * The same requests sent from another local address (any 127.x.y.z works on Linux), so that
   * the server sees another client address.
   */
  fromAddress(localAddress: string): Pick<TestServer, 'gql' | 'ok'>;
  close(): Promise<void>;
}

/**
 * A real server on a free port over a real SQLite file in a fresh temporary folder, or, with
 * `existing`, over that server's database file and data folder (so its development key file
 * too) with these settings instead: a restart once `existing` is closed, a second replica while
 * it runs. The administrator's token and the secrets seen so far carry over. A SQLite
 * DATABASE_URL in `env` serves that file instead (a copy, say). `now` moves the server's clock
 * (tests never sleep through days).
 */
export async function startTestServer(env: Record<string, string> = {}, existing?: TestServer, { now }: { now?: () => Date } = {}): Promise<TestServer> {
  const dir = existing?.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-test-'));
  const sqliteFile = env.DATABASE_URL && !env.DATABASE_URL.includes('://') ? env.DATABASE_URL : null;
  const dbFile = sqliteFile ?? existing?.dbFile ?? path.join(dir, 'scopegate.db');
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: dbFile,
    SCOPEGATE_DATA_DIR: dir,
    LOG_LEVEL: 'info',
    ...env,
  });
  const statements: string[] = [];
  const gate = await startScopegate(config, {
    log: createLogger(config.LOG_LEVEL, stream),
    onQuery: (event) => statements.push(event.query.sql),
    now,
  });
  const adminToken = gate.bootstrap?.secret ?? existing?.adminToken;
  if (!adminToken) throw new Error('expected a first start');
  const issuedSecrets = existing?.issuedSecrets ?? new Set<string>([adminToken]);

  type Send = (init: { method: string; headers: Record<string, string>; body: string }) => Promise<{ status: number; headers: Headers; text(): Promise<string> }>;
  const client = (send: Send): Pick<TestServer, 'gql' | 'ok'> => {
    const gql: TestServer['gql'] = async (query, variables, token, headers = {}) => {
      const res = await send({
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      for (const secret of text.match(SECRET_SHAPE) ?? []) issuedSecrets.add(secret);
      const body = JSON.parse(text);
      return { status: res.status, headers: res.headers, data: body.data, errors: body.errors, body };
    };
    const ok: TestServer['ok'] = async (query, variables, token) => {
      const res = await gql(query, variables, token);
      if (res.errors?.length || res.status !== 200) {
        throw new Error(`GraphQL request failed (${res.status}): ${JSON.stringify(res.errors)}`);
      }
      return res.data;
    };
    return { gql, ok };
  };
  const { gql, ok } = client((init) => fetch(gate.graphqlUrl, init));
  const agents = new Map<string, { agent: Agent; client: Pick<TestServer, 'gql' | 'ok'> }>();
  const fromAddress = (localAddress: string) => {
    let entry = agents.get(localAddress);
    if (!entry) {
      const agent = new Agent({ localAddress });
      const send: Send = async (init) => {
        const res = await undiciFetch(gate.graphqlUrl, { ...init, dispatcher: agent });
        return { status: res.status, headers: new Headers([...res.headers]), text: () => res.text() };
      };
      entry = { agent, client: client(send) };
      agents.set(localAddress, entry);
    }
    return entry.client;
  };

  return {
    gate,
    url: gate.url,
    graphqlUrl: gate.graphqlUrl,
    dir,
    dbFile,
    adminToken,
    logs,
    issuedSecrets,
    statements,
    gql,
    ok,
    fromAddress,
    close: async () => {
      await Promise.all([...agents.values()].map(({ agent }) => agent.close()));
      await gate.close();
    },
  };
}

/** The raw bytes of the SQLite database and its WAL, as one latin1 string to search. */
export function databaseBytes(server: TestServer): string {
  return ['', '-wal', '-shm']
    .map((suffix) => server.dbFile + suffix)
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f).toString('latin1'))
    .join('\n');
}

/** Fails if any secret the server handed out appears in its database file or its logs. */
export function findLeakedSecrets(server: TestServer, extraSecrets: Iterable<string> = []): string[] {
  const haystacks = [databaseBytes(server), server.logs.join('\n')];
  const secrets = [...server.issuedSecrets, ...extraSecrets];
  return secrets.filter((s) => haystacks.some((h) => h.includes(s)));
}

export const codeOf = (res: GqlResponse) => res.errors?.[0]?.extensions?.code;

/**
 * Fails unless the response's first GraphQL error has the given code, message (exactly, or
 * matching a RegExp), field (`extensions.field`, where a BAD_USER_INPUT names one) and path;
 * returns that error for further checks.
 */
export function expectGqlError(
  res: GqlResponse,
  expected: { code?: string; message?: string | RegExp; field?: string; path?: (string | number)[] },
) {
  const error = res.errors?.[0];
  expect(error, `expected a GraphQL error, got ${JSON.stringify(res.body)}`).toBeDefined();
  const actual = { code: error!.extensions?.code, message: error!.message, field: error!.extensions?.field, path: error!.path };
  const wanted = Object.fromEntries(
    Object.entries(expected).map(([k, v]) => [k, v instanceof RegExp ? expect.stringMatching(v) : v]),
  );
  expect(actual).toMatchObject(wanted);
  return error!;
}
