import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../src/auth/secrets.js';
import { chooseLogFormat } from '../src/logger.js';
import { spawnEntryPoint } from './helpers/entry-point.js';
import { waitFor } from './helpers/wait.js';

/**
 * What `npm start` writes: lines for a person on a terminal (pino-pretty, the banner first),
 * JSON lines for a pipe, LOG_FORMAT deciding when set; no secret in a log line either way.
 */

const TOKEN = /sg[tps]_[0-9A-Za-z]{36}/g;
const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';
const WRONG_PASSWORD = 'a-wrong-guess-that-must-not-be-logged';
/** A pino-pretty line: `[12:34:56.789] WARN: message {...}`. */
const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): \S/;
const ANSI = /\x1b\[[0-9;]*m/g;
const hasScript = spawnSync('script', ['--version']).status === 0;

const gql = async (url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as any };
};

const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { token } }';

/**
 * Starts the entry point on a fresh database (no master key: it warns), makes requests that
 * carry secrets (logins, a valid and an unknown bearer token), stops it as its operator would
 * (Ctrl-C on a terminal, SIGTERM otherwise) and returns every line it wrote.
 */
async function session(env: Record<string, string>, terminal: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-log-format-'));
  const running = spawnEntryPoint(
    { DATABASE_URL: path.join(dir, 'db.sqlite'), SCOPEGATE_DATA_DIR: dir, PORT: '0', NODE_ENV: 'development', SCOPEGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
    { terminal },
  );
  let exited = false;
  void running.exit.then(() => (exited = true));
  const all = () => (running.stdout() + running.stderr()).replace(ANSI, '');
  try {
    // Logged right after the banner, in either format.
    await waitFor('the listening log line', () => {
      if (exited) throw new Error(`main.ts exited early:\n${all()}`);
      return all().includes('scopegate listening');
    }, 45_000);
    const url = /scopegate is listening on (http:\/\/\S+)/.exec(all())![1]!;
    const adminToken = all().match(TOKEN)![0];

    const login = await gql(url, LOGIN, { input: { username: 'admin', password: ADMIN_PASSWORD } });
    const sessionToken: string = login.body.data.login.token;
    expect(sessionToken).toMatch(/^sgs_/);
    const wrong = await gql(url, LOGIN, { input: { username: 'admin', password: WRONG_PASSWORD } });
    expect(wrong.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const unknownToken = generateSecret('API');
    expect((await gql(url, '{ viewer { kind } }', {}, { authorization: `Bearer ${unknownToken}` })).status).toBe(401);
    const viewer = await gql(url, '{ viewer { kind } }', {}, { authorization: `Bearer ${adminToken}`, 'x-request-id': 'log-format-last' });
    expect(viewer.body.data.viewer.kind).toBe('PERSONAL_ACCESS_TOKEN');
    // Each request is logged when its response is done.
    await waitFor('the last request in the log', () => all().includes('log-format-last'), 45_000);
  } finally {
    if (!exited && terminal) running.child.stdin!.write('\x03');
    else if (!exited) running.child.kill('SIGTERM');
  }
  expect(await running.exit).toEqual({ code: 0, signal: null });
  const lines = (text: string) =>
    text
      .replace(ANSI, '')
      .split(/\r?\n/)
      // A terminal echoes the Ctrl-C.
      .map((l) => l.replace(/^\^C/, ''))
      .filter((l) => l.trim().length > 0);
  return { stdout: lines(running.stdout()), stderr: lines(running.stderr()), secrets: [ADMIN_PASSWORD, WRONG_PASSWORD] };
}

const isJson = (line: string) => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

function expectJsonLog(logLines: string[]) {
  expect(logLines.length).toBeGreaterThan(5);
  for (const line of logLines) expect(isJson(line), line).toBe(true);
  const entries = logLines.map((l) => JSON.parse(l));
  expect(entries.find((e) => e.msg === 'scopegate listening')).toBeDefined();
  expect(entries.find((e) => e.level === 40 && /SCOPEGATE_MASTER_KEY is not set/.test(e.msg))).toBeDefined();
}

function expectPrettyLog(logLines: string[]) {
  expect(logLines.length).toBeGreaterThan(5);
  for (const line of logLines) {
    expect(line, 'a line for people').toMatch(PRETTY_LINE);
    expect(isJson(line), line).toBe(false);
  }
  expect(logLines.some((l) => / INFO: scopegate listening /.test(l))).toBe(true);
  expect(logLines.some((l) => / INFO: request .*"requestId":"log-format-last"/.test(l))).toBe(true);
}

/** No token-shaped string (the first-start token, a session, an unknown bearer token) and no password. */
function expectNoSecrets(logLines: string[], secrets: string[]) {
  const text = logLines.join('\n');
  expect(text.match(TOKEN)).toBeNull();
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('the format of the log that npm start writes', () => {
  it('chooses pretty for a terminal and JSON for anything else, unless LOG_FORMAT says', () => {
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });

  it.for([
    ['no LOG_FORMAT', {}],
    ['LOG_FORMAT=json', { LOG_FORMAT: 'json' }],
  ] as const)('to a pipe with %s: JSON lines on stdout, exactly as before, with no secret', { timeout: 60_000 }, async ([, env]) => {
    const { stdout, stderr, secrets } = await session(env, false);
    expectJsonLog(stdout);
    expectNoSecrets(stdout, secrets);
    // The first-start token is on stderr, in the banner, once.
    expect(stderr.join('\n').match(TOKEN)).toHaveLength(1);
  });

  it('to a pipe with LOG_FORMAT=pretty: lines for people on stdout, with no secret', { timeout: 60_000 }, async () => {
    const { stdout, secrets } = await session({ LOG_FORMAT: 'pretty' }, false);
    expectPrettyLog(stdout);
    expectNoSecrets(stdout, secrets);
  });

  it('refuses any other LOG_FORMAT at start, naming it and the allowed values', { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-log-format-'));
    const running = spawnEntryPoint({ DATABASE_URL: path.join(dir, 'db.sqlite'), SCOPEGATE_DATA_DIR: dir, PORT: '0', LOG_FORMAT: 'yaml' });
    expect(await running.exit).toEqual({ code: 2, signal: null });
    expect(running.stderr()).toContain('LOG_FORMAT: LOG_FORMAT must be json or pretty');
    expect(running.stdout()).toBe('');
  });
});

describe.skipIf(!hasScript)('on a terminal (a pseudo-terminal from util-linux script)', () => {
  it('pretty lines, and the banner before any warning, the token in the banner only', { timeout: 60_000 }, async () => {
    const { stdout: screen, secrets } = await session({}, true);
    const firstLogLine = screen.findIndex((l) => PRETTY_LINE.test(l));
    const bannerEnd = screen.findIndex((l) => l.includes('Set a password with setPassword') || l.includes('`login` works too'));
    expect(screen.findIndex((l) => l.includes('scopegate is listening on'))).toBe(0);
    expect(bannerEnd).toBeGreaterThan(0);
    expect(firstLogLine).toBe(bannerEnd + 1);
    const warning = screen.findIndex((l) => / WARN: SCOPEGATE_MASTER_KEY is not set/.test(l));
    expect(warning).toBeGreaterThan(bannerEnd);
    const logLines = screen.slice(firstLogLine);
    expectPrettyLog(logLines);
    expectNoSecrets(logLines, secrets);
    // The one token on the screen is the first-start token, in the banner.
    const tokenLine = screen.findIndex((l) => l.match(TOKEN) !== null);
    expect(tokenLine).toBeGreaterThan(0);
    expect(tokenLine).toBeLessThan(bannerEnd);
    expect(screen.join('\n').match(TOKEN)).toHaveLength(1);
    expect(screen.some((l) => / INFO: stopped$/.test(l))).toBe(true);
  });

  it('JSON lines when LOG_FORMAT=json, with no secret', { timeout: 60_000 }, async () => {
    const { stdout: screen, secrets } = await session({ LOG_FORMAT: 'json' }, true);
    const logLines = screen.filter((l) => l.startsWith('{'));
    expectJsonLog(logLines);
    expectNoSecrets(logLines, secrets);
    expect(screen.some((l) => PRETTY_LINE.test(l))).toBe(false);
  });
});
