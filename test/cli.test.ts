/**
 * The built `scopegate` binary (dist/src/cli/main.js, what package.json's bin points to) run as a
 * child process against a real server: a day of work, each credential type, and every exit status.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHetzner, type FakeHetzner } from './fakes/hetzner.js';
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

/**
 * Runs the CLI on a terminal (a pseudo-terminal from util-linux `script`), answering each
 * prompt once it has appeared: the answers are typed only after the program asked.
 */
function cliOnTerminal(
  args: string[],
  env: Record<string, string>,
  answers: [RegExp, string][],
): Promise<{ code: number | null; output: string }> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCOPEGATE_') && k !== 'XDG_CONFIG_HOME') base[k] = v;
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      cwd: os.tmpdir(),
      env: { ...base, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const pending = [...answers];
    child.stdout.on('data', (d) => {
      output += d;
      while (pending.length && pending[0]![0].test(output)) child.stdin.write(pending.shift()![1]);
    });
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const hasScript = spawnSync('script', ['--version']).status === 0;

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

  it(
    'answers --help on every level with its flags and an example',
    async () => {
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
    },
    SLOW,
  );

  it(
    'creates a namespace and an editor token, acts as it, lists, regenerates, revokes, and reads the trail',
    async () => {
      const ns = json(await cli(['namespace', 'create', 'shop', '--description', 'The shop', '--output', 'json'], { env: admin }));
      expect(ns).toMatchObject({ name: 'shop', description: 'The shop', viewerRole: 'OWNER' });

      const namespaces = table(await cli(['namespace', 'list'], { env: admin }));
      expect(namespaces.header).toMatch(/^NAME +ROLE +DESCRIPTION +CREATED$/);
      expect(namespaces.rows).toContainEqual([
        expect.stringMatching(/^shop$/),
        'OWNER',
        'The shop',
        expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/),
      ]);

      // An editor token with a 30-day expiry; the role in any case.
      const created = await cli(['token', 'create', 'ci', '-n', 'shop', '--role', 'Editor', '--expires-in', '30', '-o', 'json'], {
        env: admin,
      });
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
      expect(json(await cli(['whoami', '-o', 'json'], { env: asCi }))).toMatchObject({
        kind: 'API_TOKEN',
        apiToken: { name: 'ci', role: 'EDITOR', namespace: { name: 'shop' } },
      });
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
      expect(listed).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'ci', role: 'EDITOR', enabled: true, secretHint: expect.stringMatching(/^sgt_…/) }),
        ]),
      );
      expect(listed.find((t: any) => t.name === 'ci').lastUsedAt).not.toBeNull();
      expect(json(await cli(['token', 'get', 'ci', '-n', 'shop', '-o', 'json'], { env: admin }))).toMatchObject({
        name: 'ci',
        resourceName: 'namespaces/shop/apitokens/ci',
      });

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
      expect(
        json(await cli(['token', 'update', 'ci', '-n', 'shop', '--role', 'VIEWER', '--no-expiry', '-o', 'json'], { env: admin })),
      ).toMatchObject({ role: 'VIEWER', expiresAt: null });
      expect(json(await cli(['token', 'disable', 'ci', '-n', 'shop', '-o', 'json'], { env: admin })).enabled).toBe(false);
      expect((await cli(['whoami'], { env: asFresh })).code).toBe(3);
      expect(json(await cli(['token', 'enable', 'ci', '-n', 'shop', '-o', 'json'], { env: admin })).enabled).toBe(true);

      // Revoke: refused without --yes off a terminal, then done; the secret stops working.
      const unconfirmed = await cli(['token', 'revoke', 'ci', '-n', 'shop'], { env: admin });
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toMatch(/^error: refusing to revoke API token ci in shop without --yes/m);
      expect(json(await cli(['token', 'revoke', 'ci', '-n', 'shop', '--yes', '-o', 'json'], { env: admin }))).toEqual({
        deleted: expect.any(String),
      });
      expect((await cli(['whoami'], { env: asFresh })).code).toBe(3);

      // The namespace's audit trail, newest first, filtered.
      const events = json(await cli(['audit', 'list', '-n', 'shop', '-o', 'json'], { env: admin }));
      const actions = events.map((e: any) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['namespace.create', 'apitoken.create', 'apitoken.regenerate', 'apitoken.revoke']));
      expect(actions.indexOf('apitoken.revoke')).toBeLessThan(actions.indexOf('apitoken.create'));
      const limited = json(
        await cli(['audit', 'list', '-n', 'shop', '--action', 'apitoken.*', '--limit', '2', '-o', 'json'], { env: admin }),
      );
      expect(limited).toHaveLength(2);
      expect(limited.every((e: any) => e.action.startsWith('apitoken.'))).toBe(true);
      const trail = table(await cli(['audit', 'list', '-n', 'shop', '--outcome', 'success'], { env: admin }));
      expect(trail.header).toMatch(/^TIME +ACTION +OUTCOME +ACTOR +TARGET$/);
      expect(trail.rows.every((row) => row[2] === 'SUCCESS')).toBe(true);
    },
    SLOW,
  );
});

describe('scopegate CLI: credentials and registries', () => {
  let server: TestServer;
  let hetzner: FakeHetzner;
  let env: Record<string, string>;
  const files = tmp();
  beforeAll(async () => {
    hetzner = await startFakeHetzner({ tokens: ['hcloud-good-token-0001'] });
    server = await startTestServer({ SCOPEGATE_HETZNER_API_URL: hetzner.url, SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true' });
    env = { SCOPEGATE_URL: server.url, SCOPEGATE_TOKEN: server.adminToken, XDG_CONFIG_HOME: files };
    await actions(server).createNamespace(server.adminToken, 'infra');
  });
  afterAll(async () => {
    await server.close();
    await hetzner.close();
  });

  it(
    'validates against the provider: on create, on validate, and refuses a bad secret',
    async () => {
      const created = json(
        await cli(['credential', 'create', 'hetzner', 'checked', '-n', 'infra', '--api-token-stdin', '-o', 'json'], {
          env,
          input: 'hcloud-good-token-0001\n',
        }),
      );
      expect(created).toMatchObject({ name: 'checked', validationStatus: 'VALID' });
      const validated = await cli(['credential', 'validate', 'checked', '-n', 'infra', '-o', 'json'], { env });
      expect(json(validated)).toMatchObject({ name: 'checked', validationStatus: 'VALID', lastValidatedAt: expect.any(String) });
      expect(validated.stderr).toMatch(/^checked: VALID/m);
      const bad = await cli(['credential', 'create', 'hetzner', 'wrong', '-n', 'infra', '--api-token-stdin'], {
        env,
        input: 'hcloud-bad-token-0001',
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^error: validation failed: /m);
      expect(bad.stderr).toMatch(/^hint: the provider refused the secret: check it, or store it unchecked with --skip-validation$/m);
      expect(bad.stderr).not.toContain('hcloud-bad-token-0001');
      expect((await cli(['credential', 'get', 'wrong', '-n', 'infra'], { env })).code).toBe(1);
    },
    SLOW,
  );

  it(
    'creates each type with its secrets from stdin or a file, reveals, lists, updates and deletes',
    async () => {
      // Registry: the password from stdin, one trailing newline stripped.
      const registry = json(
        await cli(['credential', 'create', 'registry', 'ghcr', '-n', 'infra', '--username', 'acme-bot', '--password-stdin', '-o', 'json'], {
          env,
          input: 'registry-pass-1\n',
        }),
      );
      expect(registry).toMatchObject({ name: 'ghcr', type: 'REGISTRY', username: 'acme-bot' });
      const revealed = await cli(['credential', 'reveal', 'ghcr', '-n', 'infra', '-o', 'json'], { env });
      expect(json(revealed).fields).toEqual([{ name: 'password', value: 'registry-pass-1' }]);
      expect(revealed.stderr).not.toMatch(/shown once/);
      const revealTable = table(await cli(['credential', 'reveal', 'ghcr', '-n', 'infra'], { env }));
      expect(revealTable.header).toMatch(/^FIELD +VALUE$/);
      expect(revealTable.rows).toEqual([['password', 'registry-pass-1']]);

      // Git: the token from a file; the global --token-file is not confused with the Git token's.
      const gitToken = path.join(files, 'git-token');
      fs.writeFileSync(gitToken, 'glpat-not-a-real-token-0001\n');
      const git = json(
        await cli(
          [
            'credential',
            'create',
            'git',
            'gl',
            '-n',
            'infra',
            '--provider',
            'gitlab',
            '--host',
            'gitlab.example.com',
            '--token-file',
            gitToken,
            '--skip-validation',
            '-o',
            'json',
          ],
          { env },
        ),
      );
      expect(git).toMatchObject({ name: 'gl', type: 'GIT', provider: 'GITLAB', host: 'gitlab.example.com', validationStatus: 'UNCHECKED' });
      expect(json(await cli(['credential', 'reveal', 'gl', '-n', 'infra', '-o', 'json'], { env })).fields).toEqual([
        { name: 'token', value: 'glpat-not-a-real-token-0001' },
      ]);

      // Hetzner from stdin, OVH with one secret from a file and one from stdin.
      const hetzner = json(
        await cli(
          [
            'credential',
            'create',
            'hetzner',
            'hcloud',
            '-n',
            'infra',
            '--api-token-stdin',
            '--skip-validation',
            '--description',
            'cloud',
            '-o',
            'json',
          ],
          { env, input: 'hcloud-token-0001' },
        ),
      );
      expect(hetzner).toMatchObject({ name: 'hcloud', type: 'HETZNER', description: 'cloud', validationStatus: 'UNCHECKED' });
      const appSecret = path.join(files, 'ovh-secret');
      fs.writeFileSync(appSecret, 'ovh-app-secret-1');
      const ovh = json(
        await cli(
          [
            'credential',
            'create',
            'ovh',
            'ovh',
            '-n',
            'infra',
            '--endpoint',
            'ovh-ca',
            '--project-id',
            'proj-1',
            '--application-key',
            'ak1',
            '--application-secret-file',
            appSecret,
            '--consumer-key-stdin',
            '--skip-validation',
            '-o',
            'json',
          ],
          { env, input: 'ovh-consumer-1\n' },
        ),
      );
      expect(ovh).toMatchObject({ name: 'ovh', type: 'OVH', endpoint: 'OVH_CA', projectId: 'proj-1', applicationKey: 'ak1' });
      const ovhFields = json(await cli(['credential', 'reveal', 'ovh', '-n', 'infra', '-o', 'json'], { env })).fields;
      expect(ovhFields).toEqual(
        expect.arrayContaining([
          { name: 'applicationSecret', value: 'ovh-app-secret-1' },
          { name: 'consumerKey', value: 'ovh-consumer-1' },
        ]),
      );

      // Two secrets from stdin at once: a usage error, nothing sent.
      const twice = await cli(
        [
          'credential',
          'create',
          'ovh',
          'ovh2',
          '-n',
          'infra',
          '--project-id',
          'p',
          '--application-key',
          'k',
          '--application-secret-stdin',
          '--consumer-key-stdin',
          '--skip-validation',
        ],
        { env, input: 'x' },
      );
      expect(twice.code).toBe(2);
      expect(twice.stderr).toMatch(/^error: only one secret can come from standard input/m);

      // SSH keys: generated (the private key printed once), then one from a public key file.
      const generated = await cli(['credential', 'create', 'ssh-key', 'deploy', '-n', 'infra', '--generate'], { env });
      expect(ok(generated).stdout).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/);
      expect(generated.stderr).toMatch(/created ssh-key credential deploy in infra \(\S+ SHA256:[^)]+\)\nshown once; store it now/);
      const generatedJson = await cli(['credential', 'create', 'ssh-key', 'deploy2', '-n', 'infra', '--generate', '-o', 'json'], { env });
      const payload = json(generatedJson);
      expect(payload.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
      expect(payload.credential).toMatchObject({ name: 'deploy2', generated: true, fingerprint: expect.stringMatching(/^SHA256:/) });
      expect(generatedJson.stderr).toMatch(/shown once; store it now/);
      const publicKeyFile = path.join(files, 'id.pub');
      fs.writeFileSync(publicKeyFile, `${payload.credential.publicKey}\n`);
      const fromFile = json(
        await cli(['credential', 'create', 'ssh-key', 'byo', '-n', 'infra', '--public-key-file', publicKeyFile, '-o', 'json'], { env }),
      );
      expect(fromFile).toMatchObject({
        privateKey: null,
        credential: { name: 'byo', generated: false, fingerprint: payload.credential.fingerprint },
      });

      // Listed as a table and as JSON, never with a secret.
      const listed = await cli(['credential', 'list', '-n', 'infra', '-o', 'json'], { env });
      expect(
        json(listed)
          .map((c: any) => c.name)
          .sort(),
      ).toEqual(expect.arrayContaining(['byo', 'deploy', 'deploy2', 'ghcr', 'gl', 'hcloud', 'ovh']));
      expect(listed.stdout).not.toMatch(/registry-pass-1|glpat-not-a-real|hcloud-token|ovh-app-secret|ovh-consumer/);
      const credentials = table(await cli(['credential', 'list', '-n', 'infra'], { env }));
      expect(credentials.header).toMatch(/^NAME +TYPE +STATUS +DETAILS +VALIDATED$/);
      expect(credentials.rows).toContainEqual(['gl', 'GIT', 'UNCHECKED', 'GITLAB gitlab.example.com', '-']);
      expect(json(await cli(['credential', 'get', 'hcloud', '-n', 'infra', '-o', 'json'], { env }))).toMatchObject({
        name: 'hcloud',
        type: 'HETZNER',
      });

      // Update: a new secret from stdin, and a description.
      expect(
        json(
          await cli(['credential', 'update', 'hetzner', 'hcloud', '-n', 'infra', '--api-token-stdin', '--skip-validation', '-o', 'json'], {
            env,
            input: 'hcloud-token-0002\n',
          }),
        ),
      ).toMatchObject({ name: 'hcloud' });
      expect(json(await cli(['credential', 'reveal', 'hcloud', '-n', 'infra', '-o', 'json'], { env })).fields).toEqual([
        { name: 'apiToken', value: 'hcloud-token-0002' },
      ]);

      // A registry that uses the registry credential; the credential is then in use.
      const created = json(
        await cli(
          ['registry', 'create', 'charts', '-n', 'infra', '--url', 'oci://ghcr.io/acme/charts', '--credential', 'ghcr', '-o', 'json'],
          { env },
        ),
      );
      expect(created).toMatchObject({ name: 'charts', kind: 'OCI', url: 'oci://ghcr.io/acme/charts', credential: { name: 'ghcr' } });
      const registries = table(await cli(['registry', 'list', '-n', 'infra'], { env }));
      expect(registries.header).toMatch(/^NAME +KIND +URL +CREDENTIAL$/);
      expect(registries.rows).toEqual([['charts', 'OCI', 'oci://ghcr.io/acme/charts', 'ghcr']]);
      const inUse = await cli(['credential', 'delete', 'ghcr', '-n', 'infra', '--yes'], { env });
      expect(inUse.code).toBe(1);
      expect(inUse.stderr).toMatch(/^error: credential in use: /m);
      expect(inUse.stderr).toMatch(/^hint: registries use it: .*--force$/m);
      expect(
        json(await cli(['registry', 'update', 'charts', '-n', 'infra', '--no-credential', '-o', 'json'], { env })).credential,
      ).toBeNull();
      ok(await cli(['registry', 'delete', 'charts', '-n', 'infra', '--yes'], { env }));
      expect(json(await cli(['registry', 'list', '-n', 'infra', '-o', 'json'], { env }))).toEqual([]);
      ok(await cli(['credential', 'delete', 'ghcr', '-n', 'infra', '--yes'], { env }));
      const gone = await cli(['credential', 'get', 'ghcr', '-n', 'infra'], { env });
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^error: credential "ghcr" not found in namespace "infra"/m);
    },
    SLOW,
  );
});

describe('scopegate CLI: exit statuses and messages', () => {
  let server: TestServer;
  let env: Record<string, string>;
  let viewerToken: string;
  let shortLived: string;
  const clock = movableClock();
  const files = tmp();
  beforeAll(async () => {
    server = await startTestServer({}, undefined, { now: clock.now });
    env = { SCOPEGATE_URL: server.url, SCOPEGATE_TOKEN: server.adminToken, XDG_CONFIG_HOME: files };
    const steps = actions(server);
    await steps.createNamespace(server.adminToken, 'ops');
    viewerToken = await steps.createApiToken(server.adminToken, { namespace: 'ops', name: 'watcher', role: 'VIEWER' });
    shortLived = await steps.createApiToken(server.adminToken, { namespace: 'ops', name: 'brief', role: 'VIEWER', expiresInDays: 1 });
  });
  afterAll(() => server.close());

  it(
    '1: the server refused (a missing namespace, a FORBIDDEN action)',
    async () => {
      const missing = await cli(['token', 'list', '-n', 'nowhere'], { env });
      expect(missing.code).toBe(1);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toMatch(/^error: namespace "nowhere" not found$/m);
      expect(missing.stderr).toMatch(/^hint: check the name with `scopegate namespace list`/m);

      const forbidden = await cli(['token', 'create', 'more', '-n', 'ops', '--role', 'viewer'], {
        env: { ...env, SCOPEGATE_TOKEN: viewerToken },
      });
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toMatch(/^error: forbidden: requires role OWNER in namespace "ops".*\(request [0-9a-f-]+\)$/m);
      expect(forbidden.stderr).toMatch(/^hint: this needs the role OWNER/m);
      expect(json(await cli(['token', 'list', '-n', 'ops', '-o', 'json'], { env })).map((t: any) => t.name)).not.toContain('more');
    },
    SLOW,
  );

  it(
    '2: usage errors (an unknown flag, a secret as a plain flag, a missing flag, a bad role)',
    async () => {
      const unknown = await cli(['namespace', 'list', '--colour'], { env });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/^error: unknown option '--colour'/m);

      const plain = await cli(
        ['credential', 'create', 'registry', 'leaky', '-n', 'ops', '--username', 'u', '--password', 'hunter2-password'],
        { env },
      );
      expect(plain.code).toBe(2);
      expect(plain.stderr).toMatch(/^error: --password does not take a value on the command line/m);
      expect(plain.stderr).toMatch(/^hint: pass it with --password-stdin .*--password-file PATH/m);
      expect((await cli(['credential', 'get', 'leaky', '-n', 'ops'], { env })).code).toBe(1);

      const login = await cli(['login', '--username', 'admin', '--password', 'hunter2-password'], { env });
      expect(login.code).toBe(2);
      expect(login.stderr).toMatch(/--password-stdin/);

      const noSecret = await cli(['credential', 'create', 'hetzner', 'h', '-n', 'ops', '--skip-validation'], { env });
      expect(noSecret.code).toBe(2);
      expect(noSecret.stderr).toMatch(/^error: Hetzner API token is required/m);

      const noRole = await cli(['token', 'create', 'x', '-n', 'ops'], { env });
      expect(noRole.code).toBe(2);
      expect(noRole.stderr).toMatch(/required option '--role <role>' not specified/);
      const badRole = await cli(['token', 'create', 'x', '-n', 'ops', '--role', 'superuser'], { env });
      expect(badRole.code).toBe(2);
      expect(badRole.stderr).toMatch(/expected viewer, editor or owner/);
      const both = await cli(
        ['token', 'create', 'x', '-n', 'ops', '--role', 'viewer', '--expires-in', '3', '--expires-at', '2030-01-01T00:00:00Z'],
        { env },
      );
      expect(both.code).toBe(2);
      expect(both.stderr).toMatch(/cannot be used with/);
      const badOutcome = await cli(['audit', 'list', '--outcome', 'maybe'], { env });
      expect(badOutcome.code).toBe(2);
      expect(badOutcome.stderr).toMatch(/argument 'maybe' is invalid\. expected success, denied or error/);
      const noYes = await cli(['namespace', 'delete', 'ops'], { env });
      expect(noYes.code).toBe(2);
      expect(json(await cli(['namespace', 'get', 'ops', '-o', 'json'], { env })).name).toBe('ops');
    },
    SLOW,
  );

  it(
    '3: not authenticated (no token, a wrong token, an expired token)',
    async () => {
      const none = await cli(['whoami'], { env: { SCOPEGATE_URL: server.url, XDG_CONFIG_HOME: files } });
      expect(none.code).toBe(3);
      expect(none.stderr).toMatch(/^error: not logged in to http:\/\/127\.0\.0\.1:\d+$/m);
      expect(none.stderr).toMatch(/^hint: run `scopegate login`, set SCOPEGATE_TOKEN, or pass --token-file PATH$/m);

      const wrong = await cli(['namespace', 'list'], { env: { ...env, SCOPEGATE_TOKEN: `sgt_${'x'.repeat(36)}` } });
      expect(wrong.code).toBe(3);
      expect(wrong.stderr).toMatch(/^error: not authenticated: token is malformed/m);
      expect(wrong.stderr).toMatch(/^hint: check the token you passed \(token from SCOPEGATE_TOKEN\)$/m);

      // The same token from --token-file works until it expires.
      const tokenFile = path.join(files, 'brief-token');
      fs.writeFileSync(tokenFile, `${shortLived}\n`);
      const noEnv = { SCOPEGATE_URL: server.url, XDG_CONFIG_HOME: files };
      expect(json(await cli(['whoami', '--token-file', tokenFile, '-o', 'json'], { env: noEnv })).apiToken.name).toBe('brief');
      clock.advance(2 * DAY);
      const expired = await cli(['whoami', '--token-file', tokenFile], { env: noEnv });
      expect(expired.code).toBe(3);
      expect(expired.stderr).toMatch(/^error: not authenticated: .*expired/m);
      expect(expired.stderr).toMatch(
        /^hint: the token has expired: create a new one \(scopegate token create\) or regenerate it \(scopegate token regenerate\)/m,
      );
    },
    SLOW,
  );

  it(
    '4: the server could not be reached (and 1 when something else answers there)',
    async () => {
      const port = await closedPort();
      const down = await cli(['namespace', 'list', '--url', `http://127.0.0.1:${port}`], { env });
      expect(down.code).toBe(4);
      expect(down.stderr).toMatch(new RegExp(`^error: cannot reach http://127\\.0\\.0\\.1:${port}/graphql: .*ECONNREFUSED`, 'm'));
      expect(down.stderr).toMatch(/^hint: check SCOPEGATE_URL or --url/m);

    // Reached, but not a scopegate server there: refused (1), with what to check.
    const web = http.createServer((_req, res) => void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>not here</h1>'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const elsewhere = await cli(['namespace', 'list', '--url', `http://127.0.0.1:${(web.address() as net.AddressInfo).port}`], { env });
    await new Promise((resolve) => web.close(resolve));
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^error: bad response: 404 Not Found: not a GraphQL response/m);
    expect(elsewhere.stderr).toMatch(/^hint: the URL answered, but not as a scopegate server/m);
    },
    SLOW,
  );
});

describe('scopegate CLI: login, whoami, logout', () => {
  const PASSWORD = 'correct-horse-battery-staple-42';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SCOPEGATE_ADMIN_PASSWORD: PASSWORD });
    await actions(server).createUser('alice', 'alice-long-password-1');
  });
  afterAll(() => server.close());

  it(
    'stores the session 0600 under XDG_CONFIG_HOME, uses it, and ends it on logout',
    async () => {
      const config = tmp();
      const env = { XDG_CONFIG_HOME: config };
      const file = path.join(config, 'scopegate', 'credentials.json');

      const wrong = await cli(['login', '--url', server.url, '--username', 'alice', '--password-stdin'], {
        env,
        input: 'not-her-password\n',
      });
      expect(wrong.code).toBe(3);
      expect(fs.existsSync(file)).toBe(false);

      const login = await cli(['login', '--url', server.url, '--username', 'alice', '--password-stdin'], {
        env,
        input: 'alice-long-password-1\n',
      });
      ok(login);
      expect(login.stdout).toBe('');
      expect(login.stderr).toMatch(/^logged in to http:\/\/127\.0\.0\.1:\d+\/graphql as alice/m);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(fs.readFileSync(file, 'utf8')).logins[`${server.url}/graphql`];
      expect(stored).toMatchObject({ kind: 'session', username: 'alice', token: expect.stringMatching(/^sgs_/) });

      // The stored login is used for this URL (given as the /graphql endpoint this time).
      expect(json(await cli(['whoami', '--url', `${server.url}/graphql`, '-o', 'json'], { env }))).toMatchObject({
        kind: 'USER_SESSION',
        user: { username: 'alice' },
      });
      json(await cli(['namespace', 'create', 'alices', '-o', 'json', '--url', server.url], { env }));
      // SCOPEGATE_TOKEN wins over the stored login.
      const asAdmin = await cli(['whoami', '-o', 'json', '--url', server.url], { env: { ...env, SCOPEGATE_TOKEN: server.adminToken } });
      expect(json(asAdmin).user.username).toBe('admin');

      const logout = await cli(['logout', '--url', server.url], { env });
      ok(logout);
      expect(logout.stderr).toMatch(/session ended on the server/);
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).logins).toEqual({});
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      // The session is refused by the server, and the CLI has none left.
      const refused = await server.gql('{ viewer { kind } }', {}, stored.token);
      expect(refused.status).toBe(401);
      const after = await cli(['whoami', '--url', server.url], { env });
      expect(after.code).toBe(3);
      expect(after.stderr).toMatch(/^error: not logged in/m);
    },
    SLOW,
  );

  it.skipIf(!hasScript)(
    'on a terminal: prompts for the password without echo, and asks before deleting',
    async () => {
      const config = tmp();
      const env = { XDG_CONFIG_HOME: config, SCOPEGATE_URL: server.url, TERM: 'dumb' };
      const login = await cliOnTerminal(['login', '--username', 'alice'], env, [[/Password:/, 'alice-long-password-1\r']]);
      expect(login.code, login.output).toBe(0);
      expect(login.output).toMatch(/logged in to .* as alice/);
      expect(login.output).not.toContain('alice-long-password-1');
      expect(fs.statSync(path.join(config, 'scopegate', 'credentials.json')).mode & 0o777).toBe(0o600);

      json(await cli(['namespace', 'create', 'scratch', '-o', 'json'], { env }));
      const declined = await cliOnTerminal(['namespace', 'delete', 'scratch'], env, [[/\[y\/N\]/, 'n\r']]);
      expect(declined.code, declined.output).toBe(1);
      expect(declined.output).toMatch(/error: cancelled/);
      expect(json(await cli(['namespace', 'get', 'scratch', '-o', 'json'], { env })).name).toBe('scratch');
      const confirmed = await cliOnTerminal(['namespace', 'delete', 'scratch'], env, [[/Delete namespace scratch .*\[y\/N\]/, 'y\r']]);
      expect(confirmed.code, confirmed.output).toBe(0);
      expect((await cli(['namespace', 'get', 'scratch'], { env })).code).toBe(1);
    },
    SLOW,
  );

  it(
    'stores a token read from standard input with --with-token (SCOPEGATE_URL for the server)',
    async () => {
      const config = tmp();
      const env = { XDG_CONFIG_HOME: config, SCOPEGATE_URL: server.url };
      const pat = await actions(server).createPersonalToken(server.adminToken, { name: 'laptop', maxRole: 'EDITOR' });
      const login = await cli(['login', '--with-token'], { env, input: `${pat}\n` });
      ok(login);
      expect(login.stderr).toMatch(/stored the token .*personal access token laptop of admin/);
      expect(fs.statSync(path.join(config, 'scopegate', 'credentials.json')).mode & 0o777).toBe(0o600);
      expect(json(await cli(['whoami', '-o', 'json'], { env }))).toMatchObject({
        kind: 'PERSONAL_ACCESS_TOKEN',
        personalAccessToken: { name: 'laptop', maxRole: 'EDITOR' },
      });
      const pats = table(await cli(['pat', 'list'], { env }));
      expect(pats.header).toMatch(/^NAME +MAX ROLE +ADMIN +ENABLED +EXPIRES +LAST USED +SECRET$/);
      expect(pats.rows.map((row) => row[0])).toEqual(expect.arrayContaining(['bootstrap', 'laptop']));

      const bad = await cli(['login', '--with-token'], { env: { ...env, XDG_CONFIG_HOME: tmp() }, input: `sgp_${'y'.repeat(36)}\n` });
      expect(bad.code).toBe(3);
      expect(bad.stderr).toMatch(/^error: the server refused the token/m);

      ok(await cli(['logout'], { env }));
      expect((await cli(['whoami'], { env })).code).toBe(3);
    },
    SLOW,
  );
});

describe('scopegate CLI: members, personal access tokens, namespace changes, the instance trail', () => {
  let server: TestServer;
  let env: Record<string, string>;
  const files = tmp();
  beforeAll(async () => {
    server = await startTestServer();
    env = { SCOPEGATE_URL: server.url, SCOPEGATE_TOKEN: server.adminToken, XDG_CONFIG_HOME: files };
    await actions(server).createUser('bob');
  });
  afterAll(() => server.close());

  it(
    'sets and removes members, runs a personal token through its life, updates and deletes a namespace',
    async () => {
      json(await cli(['namespace', 'create', 'team', '-o', 'json'], { env }));
      expect(json(await cli(['member', 'set', 'bob', '-n', 'team', '--role', 'EDITOR', '-o', 'json'], { env }))).toMatchObject({
        role: 'EDITOR',
        user: { username: 'bob' },
      });
      const members = table(await cli(['member', 'list', '-n', 'team'], { env }));
      expect(members.header).toMatch(/^USER +ROLE +SINCE$/);
      expect(members.rows.map((row) => row.slice(0, 2))).toEqual(
        expect.arrayContaining([
          ['admin', 'OWNER'],
          ['bob', 'EDITOR'],
        ]),
      );
      ok(await cli(['member', 'remove', 'bob', '-n', 'team'], { env }));
      expect(json(await cli(['member', 'list', '-n', 'team', '-o', 'json'], { env })).map((m: any) => m.user.username)).toEqual(['admin']);
      const lastOwner = await cli(['member', 'remove', 'admin', '-n', 'team'], { env });
      expect(lastOwner.code).toBe(1);
      expect(lastOwner.stderr).toMatch(/^error: .*owner/im);

      // A personal access token: created, used, updated, regenerated, revoked.
      const created = await cli(['pat', 'create', 'laptop', '--max-role', 'viewer', '--expires-in', '7', '-o', 'json'], { env });
      const pat = json(created);
      expect(pat).toMatchObject({
        secret: expect.stringMatching(/^sgp_/),
        personalAccessToken: { name: 'laptop', maxRole: 'VIEWER', admin: false },
      });
      expect(created.stderr).toMatch(/shown once; store it now/);
      const asPat = { ...env, SCOPEGATE_TOKEN: pat.secret };
      expect(json(await cli(['whoami', '-o', 'json'], { env: asPat })).personalAccessToken.name).toBe('laptop');
      expect(
        json(await cli(['pat', 'update', 'laptop', '--description', 'my laptop', '--no-expiry', '-o', 'json'], { env })),
      ).toMatchObject({ description: 'my laptop', expiresAt: null });
      const regenerated = json(await cli(['pat', 'regenerate', 'laptop', '--expires-in', '5', '-o', 'json'], { env }));
      expect(regenerated.secret).not.toBe(pat.secret);
      expect(Math.abs(Date.parse(regenerated.personalAccessToken.expiresAt) - (Date.now() + 5 * DAY))).toBeLessThan(DAY);
      expect((await cli(['whoami'], { env: asPat })).code).toBe(3);
      expect(json(await cli(['pat', 'list', '-o', 'json'], { env })).map((t: any) => t.name)).toEqual(
        expect.arrayContaining(['bootstrap', 'laptop']),
      );
      expect((await cli(['pat', 'revoke', 'laptop'], { env })).code).toBe(2);
      ok(await cli(['pat', 'revoke', 'laptop', '--yes'], { env }));
      expect(json(await cli(['pat', 'list', '-o', 'json'], { env })).map((t: any) => t.name)).not.toContain('laptop');
      expect((await cli(['whoami'], { env: { ...env, SCOPEGATE_TOKEN: regenerated.secret } })).code).toBe(3);

      // Namespace update and delete.
      expect(json(await cli(['namespace', 'update', 'team', '--description', 'The team', '-o', 'json'], { env })).description).toBe(
        'The team',
      );
      expect(json(await cli(['namespace', 'get', 'team', '-o', 'json'], { env }))).toMatchObject({ name: 'team', description: 'The team' });
      expect(json(await cli(['namespace', 'delete', 'team', '--yes', '-o', 'json'], { env }))).toEqual({ deleted: expect.any(String) });
      const gone = await cli(['namespace', 'get', 'team'], { env });
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^error: namespace "team" not found$/m);

      // The instance's trail (administrators), without -n.
      const events = json(await cli(['audit', 'list', '--action', 'personaltoken.*', '-o', 'json'], { env }));
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e: any) => e.action.startsWith('personaltoken.'))).toBe(true);
      const all = json(await cli(['audit', 'list', '--limit', '200', '-o', 'json'], { env }));
      expect(all.map((e: any) => e.action)).toEqual(expect.arrayContaining(['namespace.delete', 'member.remove']));
    },
    SLOW,
  );
});

/** A fake server on 127.0.0.1 answering every request with `handler`; closed with `close()`. */
async function fakeServer(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<unknown> }> {
  const fake = http.createServer(handler);
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}`,
    close: () => new Promise((resolve) => (fake.closeAllConnections(), fake.close(resolve))),
  };
}

const graphqlError = (error: unknown) => (_req: http.IncomingMessage, res: http.ServerResponse) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [error] }));

describe('scopegate CLI: hostile servers and inputs', () => {
  let server: TestServer;
  let env: Record<string, string>;
  const files = tmp();
  beforeAll(async () => {
    server = await startTestServer();
    env = { SCOPEGATE_URL: server.url, SCOPEGATE_TOKEN: server.adminToken, XDG_CONFIG_HOME: files };
  });
  afterAll(() => server.close());

  it(
    'prints no terminal escape sequences from server-controlled text (a table cell, an error message)',
    async () => {
      const hostile = 'evil \u001b]0;pwned\u0007\u001b[2J\u009b31m end';
      json(await cli(['namespace', 'create', 'escapes', '--description', hostile, '-o', 'json'], { env }));
      const list = ok(await cli(['namespace', 'list'], { env }));
      expect(list.stdout).toMatch(/escapes/);
      expect(list.stdout).not.toMatch(/[\u001b\u0007\u009b]/);
      expect(list.stdout).toContain('evil \\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m end');
      // JSON keeps the value itself (JSON.stringify escapes it).
      expect(JSON.parse(ok(await cli(['namespace', 'get', 'escapes', '-o', 'json'], { env })).stdout).description).toBe(hostile);

      const fake = await fakeServer(graphqlError({ message: 'boom \u001b[2J\u001b]0;pwned\u0007', extensions: { code: 'FORBIDDEN' } }));
      const refused = await cli(['namespace', 'list', '--url', fake.url], { env });
      await fake.close();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: forbidden: boom \\u001b\[2J\\u001b\]0;pwned\\u0007$/m);
      expect(refused.stderr).not.toMatch(/[\u001b\u0007]/);
    },
    SLOW,
  );

  it(
    'refuses a --token-file of two lines as a usage error naming the file, never printing either line',
    async () => {
      const first = `sgt_${'a'.repeat(36)}`;
      const second = 'second-line-secret-7f3c';
      const file = path.join(files, 'two-lines');
      fs.writeFileSync(file, `${first}\n${second}\n`);
      const noEnv = { SCOPEGATE_URL: server.url, XDG_CONFIG_HOME: files };
      const run = await cli(['whoami', '--token-file', file], { env: noEnv });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^error: --token-file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not hold just a token`, 'm'));
      for (const secret of [first, second, 'aaaaaaaa']) expect(run.stdout + run.stderr).not.toContain(secret);

      const fromEnv = await cli(['whoami'], { env: { ...noEnv, SCOPEGATE_TOKEN: `${first}\n${second}` } });
      expect(fromEnv.code).toBe(2);
      expect(fromEnv.stderr).toMatch(/^error: SCOPEGATE_TOKEN does not hold just a token/m);
      for (const secret of [first, second]) expect(fromEnv.stdout + fromEnv.stderr).not.toContain(secret);

      const piped = await cli(['login', '--with-token'], { env: noEnv, input: `${first} ${second}\n` });
      expect(piped.code).toBe(2);
      for (const secret of [first, second]) expect(piped.stdout + piped.stderr).not.toContain(secret);
      expect(fs.existsSync(path.join(files, 'scopegate', 'credentials.json'))).toBe(false);
    },
    SLOW,
  );

  it(
    'reports an error whose extensions.code is not a string as a refusal, without a stack',
    async () => {
      const fake = await fakeServer(graphqlError({ message: 'x', extensions: { code: 42, field: { deep: true } } }));
      const run = await cli(['namespace', 'list', '--url', fake.url], { env });
      await fake.close();
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: internal server error: x$/m);
      expect(run.stderr).not.toMatch(/TypeError|at /);
    },
    SLOW,
  );

  it(
    'refuses a redirect (exit 1) and does not send the token where it points',
    async () => {
      const seen: (string | undefined)[] = [];
      const elsewhere = await fakeServer((req, res) => {
        seen.push(req.headers.authorization);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
      });
      const redirecting = await fakeServer((_req, res) => void res.writeHead(308, { location: `${elsewhere.url}/graphql` }).end());
      const run = await cli(['namespace', 'list', '--url', redirecting.url], { env });
      await redirecting.close();
      await elsewhere.close();
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: .*answered with a redirect \(308 to http:\/\/127\.0\.0\.1:\d+\/graphql\)/m);
      expect(seen).toEqual([]);
    },
    SLOW,
  );

  it(
    'refuses to store a login in a credentials directory others can write to, or that is a symbolic link',
    async () => {
      const files = (dir: string): string[] =>
        fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.lstatSync(path.join(dir, f)).isFile());

      const open = tmp();
      fs.mkdirSync(path.join(open, 'scopegate'));
      fs.chmodSync(path.join(open, 'scopegate'), 0o777);
      const refused = await cli(['login', '--with-token', '--url', server.url], { env: { XDG_CONFIG_HOME: open }, input: `${server.adminToken}\n` });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`error: refusing to store logins in ${path.join(open, 'scopegate')}: others can write to it (mode 777)`);
      expect(files(open)).toEqual([]);
      expect(refused.stdout + refused.stderr).not.toContain(server.adminToken);

      const elsewhere = tmp();
      const linked = tmp();
      fs.symlinkSync(elsewhere, path.join(linked, 'scopegate'));
      const viaLink = await cli(['login', '--with-token', '--url', server.url], { env: { XDG_CONFIG_HOME: linked }, input: `${server.adminToken}\n` });
      expect(viaLink.code).toBe(1);
      expect(viaLink.stderr).toMatch(/^error: refusing to store logins in .*: it is a symbolic link/m);
      expect(files(elsewhere)).toEqual([]);

      // A private directory works, and the file is 0600.
      const fine = tmp();
      ok(await cli(['login', '--with-token', '--url', server.url], { env: { XDG_CONFIG_HOME: fine }, input: `${server.adminToken}\n` }));
      expect(files(fine)).toEqual([path.join('scopegate', 'credentials.json')]);
      expect(fs.statSync(path.join(fine, 'scopegate', 'credentials.json')).mode & 0o777).toBe(0o600);
    },
    SLOW,
  );

  it(
    'warns before login --with-token and logout send a token over plain http to another host',
    async () => {
      // 127.0.0.2 is not one of the local names the warning spares; nothing listens there.
      const url = `http://127.0.0.2:${await closedPort()}`;
      const config = tmp();
      const login = await cli(['login', '--with-token', '--url', url], { env: { XDG_CONFIG_HOME: config }, input: `${server.adminToken}\n` });
      expect(login.code).toBe(4);
      expect(login.stderr).toMatch(/^warning: sending the token to 127\.0\.0\.2 over plain http; use https$/m);

      fs.mkdirSync(path.join(config, 'scopegate'), { recursive: true, mode: 0o700 });
      const stored = { logins: { [`${url}/graphql`]: { token: `sgs_${'s'.repeat(40)}`, kind: 'session', username: 'x' } } };
      fs.writeFileSync(path.join(config, 'scopegate', 'credentials.json'), JSON.stringify(stored), { mode: 0o600 });
      const logout = await cli(['logout', '--url', url], { env: { XDG_CONFIG_HOME: config } });
      expect(logout.code).toBe(4);
      expect(logout.stderr).toMatch(/^warning: sending the token to 127\.0\.0\.2 over plain http; use https$/m);
    },
    SLOW,
  );
});
