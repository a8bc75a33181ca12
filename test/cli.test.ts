/**
 * The built `scopegate` binary (dist/src/cli/main.js, what package.json's bin points to) run as a
 * child process against a real server: a day of work, each credential type, and every exit status.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from './helpers/fixtures.js';
import { movableClock } from './helpers/clock.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO, JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).bin.scopegate);
const DAY = 86_400_000;
/** Each step spawns node on busy cores: generous, and no step is timed. */
const SLOW = 300_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the environment given (none of the test's SCOPEGATE_* variables), stdin fed `input`. */
function cli(args: string[], { env = {}, input = '' }: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCOPEGATE_') && k !== 'XDG_CONFIG_HOME') base[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: os.tmpdir(), env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Fails with the CLI's stderr unless it exited 0. */
function ok(run: Run): Run {
  if (run.code !== 0) expect.fail(`exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

/** The one JSON document on stdout (JSON.parse fails on anything else there). */
const json = (run: Run) => JSON.parse(ok(run).stdout);

/** Table lines: the header row and the rows, split on runs of two or more spaces. */
function table(run: Run): { header: string; rows: string[][]; lines: string[] } {
  const lines = ok(run).stdout.trimEnd().split('\n');
  return { header: lines[0]!, rows: lines.slice(1).map((line) => line.split(/ {2,}/)), lines };
}

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-cli-'));

describe('scopegate CLI: a day against a real server', () => {
  let server: TestServer;
  let admin: Record<string, string>;
  const clock = movableClock();
  const files = tmp();
  beforeAll(async () => {
    server = await startTestServer({}, undefined, { now: clock.now });
    admin = { SCOPEGATE_URL: server.url, SCOPEGATE_TOKEN: server.adminToken, XDG_CONFIG_HOME: files };
  });
  afterAll(() => server.close());

  it('answers --help on every level with its flags and an example', async () => {
    const top = ok(await cli(['--help']));
    expect(top.stdout).toMatch(/--output <format>/);
    expect(top.stdout).toMatch(/namespace\s/);
    const create = ok(await cli(['token', 'create', '--help']));
    expect(create.stdout).toMatch(/--expires-in <days>/);
    expect(create.stdout).toMatch(/Example:\n\s+\$ scopegate token create ci -n shop --role editor --expires-in 30/);
    const git = ok(await cli(['credential', 'create', 'git', '--help']));
    expect(git.stdout).toMatch(/--token-stdin/);
    expect(git.stdout).toMatch(/--skip-validation/);
    expect(git.stdout).not.toMatch(/--token <value>/);
  }, SLOW);

  it('creates a namespace and an editor token, acts as it, lists, regenerates, revokes, and reads the trail', async () => {
    const ns = json(await cli(['namespace', 'create', 'shop', '--description', 'The shop', '--output', 'json'], { env: admin }));
    expect(ns).toMatchObject({ name: 'shop', description: 'The shop', viewerRole: 'OWNER' });

    const namespaces = table(await cli(['namespace', 'list'], { env: admin }));
    expect(namespaces.header).toMatch(/^NAME +ROLE +DESCRIPTION +CREATED$/);
    expect(namespaces.rows).toContainEqual([expect.stringMatching(/^shop$/), 'OWNER', 'The shop', expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/)]);

    // An editor token with a 30-day expiry; the role in any case.
    const created = await cli(['token', 'create', 'ci', '-n', 'shop', '--role', 'Editor', '--expires-in', '30', '-o', 'json'], { env: admin });
    const payload = json(created);
    expect(payload.secret).toMatch(/^sgt_[0-9A-Za-z]{36}$/);
    expect(payload.apiToken).toMatchObject({ name: 'ci', role: 'EDITOR', enabled: true, expired: false });
    expect(Math.abs(Date.parse(payload.apiToken.expiresAt) - (Date.now() + 30 * DAY))).toBeLessThan(DAY);
    expect(created.stderr).toMatch(/shown once; store it now/);
    const secret: string = payload.secret;

    // In table mode the secret is alone on stdout, for $(…).
    const plain = ok(await cli(['token', 'create', 'reader', '--namespace', 'shop', '--role', 'viewer'], { env: admin }));
    expect(plain.stdout).toMatch(/^sgt_[0-9A-Za-z]{36}\n$/);
    expect(plain.stderr).toMatch(/created API token reader in shop \(role VIEWER, no expiry\)\nshown once; store it now/);

    // whoami through SCOPEGATE_TOKEN.
    const asCi = { SCOPEGATE_URL: server.url, SCOPEGATE_TOKEN: secret, XDG_CONFIG_HOME: files };
    expect(json(await cli(['whoami', '-o', 'json'], { env: asCi }))).toMatchObject({ kind: 'API_TOKEN', apiToken: { name: 'ci', role: 'EDITOR', namespace: { name: 'shop' } } });
    const who = table(await cli(['whoami'], { env: asCi }));
    expect(who.header).toMatch(/^KIND +USER +TOKEN +NAMESPACE +ROLE +ADMIN +EXPIRES$/);
    expect(who.rows[0]).toEqual(['API_TOKEN', '-', 'ci', 'shop', 'EDITOR', 'no', expect.stringMatching(/^\d{4}-/)]);

    // Tokens as a table (aligned, header in capitals) and as JSON.
    const tokens = table(await cli(['token', 'list', '-n', 'shop'], { env: admin }));
    expect(tokens.header).toMatch(/^NAME +ROLE +ENABLED +EXPIRES +LAST USED +SECRET$/);
    const ciLine = tokens.lines.find((line) => line.startsWith('ci '))!;
    expect(ciLine.indexOf('EDITOR')).toBe(tokens.header.indexOf('ROLE'));
    expect(ciLine.indexOf('yes')).toBe(tokens.header.indexOf('ENABLED'));
    expect(tokens.rows.map((row) => row[0])).toEqual(expect.arrayContaining(['ci', 'reader']));
    const listed = json(await cli(['token', 'list', '-n', 'shop', '-o', 'json'], { env: admin }));
    expect(listed).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'ci', role: 'EDITOR', enabled: true, secretHint: expect.stringMatching(/^sgt_…/) })]));
    expect(listed.find((t: any) => t.name === 'ci').lastUsedAt).not.toBeNull();
    expect(json(await cli(['token', 'get', 'ci', '-n', 'shop', '-o', 'json'], { env: admin }))).toMatchObject({ name: 'ci', resourceName: 'namespaces/shop/apitokens/ci' });

    // Regenerate: the old secret is refused at once, the new one works.
    const regenerated = await cli(['token', 'regenerate', 'ci', '-n', 'shop', '-o', 'json'], { env: admin });
    const fresh = json(regenerated).secret as string;
    expect(fresh).toMatch(/^sgt_/);
    expect(fresh).not.toBe(secret);
    expect(regenerated.stderr).toMatch(/shown once; store it now/);
    const old = await cli(['whoami'], { env: asCi });
    expect(old.code).toBe(3);
    expect(old.stderr).toMatch(/^error: not authenticated: .*regenerated/m);
    expect(old.stderr).toMatch(/^hint: the token was regenerated: use its new secret/m);
    const asFresh = { ...asCi, SCOPEGATE_TOKEN: fresh };
    expect(json(await cli(['whoami', '-o', 'json'], { env: asFresh })).apiToken.name).toBe('ci');

    // Update, disable, enable.
    expect(json(await cli(['token', 'update', 'ci', '-n', 'shop', '--role', 'VIEWER', '--no-expiry', '-o', 'json'], { env: admin }))).toMatchObject({ role: 'VIEWER', expiresAt: null });
    expect(json(await cli(['token', 'disable', 'ci', '-n', 'shop', '-o', 'json'], { env: admin })).enabled).toBe(false);
    expect((await cli(['whoami'], { env: asFresh })).code).toBe(3);
    expect(json(await cli(['token', 'enable', 'ci', '-n', 'shop', '-o', 'json'], { env: admin })).enabled).toBe(true);

    // Revoke: refused without --yes off a terminal, then done; the secret stops working.
    const unconfirmed = await cli(['token', 'revoke', 'ci', '-n', 'shop'], { env: admin });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/^error: refusing to revoke API token ci in shop without --yes/m);
    expect(json(await cli(['token', 'revoke', 'ci', '-n', 'shop', '--yes', '-o', 'json'], { env: admin }))).toEqual({ deleted: expect.any(String) });
    expect((await cli(['whoami'], { env: asFresh })).code).toBe(3);

    // The namespace's audit trail, newest first, filtered.
    const events = json(await cli(['audit', 'list', '-n', 'shop', '-o', 'json'], { env: admin }));
    const actions = events.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['namespace.create', 'apitoken.create', 'apitoken.regenerate', 'apitoken.revoke']));
    expect(actions.indexOf('apitoken.revoke')).toBeLessThan(actions.indexOf('apitoken.create'));
    const limited = json(await cli(['audit', 'list', '-n', 'shop', '--action', 'apitoken.*', '--limit', '2', '-o', 'json'], { env: admin }));
    expect(limited).toHaveLength(2);
    expect(limited.every((e: any) => e.action.startsWith('apitoken.'))).toBe(true);
    const trail = table(await cli(['audit', 'list', '-n', 'shop', '--outcome', 'success'], { env: admin }));
    expect(trail.header).toMatch(/^TIME +ACTION +OUTCOME +ACTOR +TARGET$/);
    expect(trail.rows.every((row) => row[2] === 'SUCCESS')).toBe(true);
  }, SLOW);
});
