import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The client from a separate project: an integrator's package that depends on this one
 * (`"scopegate": "file:<repo>"`, installed with npm, which links the folder), imports
 * `scopegate/client` from plain Node and type-checks against the published declarations in dist/.
 * Needs `npm run build` first (`npm test` runs it).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = path.join(ROOT, 'test/fixtures/client-package');
const TSC = path.join(ROOT, 'node_modules/.bin/tsc');
const run = promisify(execFile);

/** Our environment without anything that would change how the child runs (loaders, our settings). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCOPEGATE_') && k !== 'NODE_OPTIONS' && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, ...extra };
}

async function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof code === 'number' ? code : -1, stdout: stdout ?? '', stderr: stderr ?? String(error) };
  }
}

let project: string;

beforeAll(async () => {
  expect(fs.existsSync(path.join(ROOT, 'dist/src/client/index.js')), 'run `npm run build` first').toBe(true);
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-integrator-'));
  const manifest = { name: 'integrator', private: true, type: 'module', dependencies: { scopegate: `file:${ROOT}` } };
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  for (const file of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, file), path.join(project, file));
  // A folder dependency is linked, not copied: no registry needed (its own dependencies resolve from
  // the repository's node_modules). Its `prepare` (the build) is not run here: dist/ is already built.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const install = await exec(npm, ['install', '--no-audit', '--no-fund', '--offline', '--ignore-scripts'], project);
  expect(install.code, install.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

describe('scopegate as an integrator installs it', () => {
  it('node_modules/scopegate is the repository, linked', () => {
    const installed = path.join(project, 'node_modules/scopegate');
    expect(fs.lstatSync(installed).isSymbolicLink()).toBe(true);
    expect(fs.realpathSync(installed)).toBe(fs.realpathSync(ROOT));
  });

  it('scopegate/schema.graphql resolves, through the exports, to the schema the repository ships', async () => {
    const script = "console.log(import.meta.resolve('scopegate/schema.graphql'))";
    const { code, stdout, stderr } = await exec(process.execPath, ['--input-type=module', '-e', script], project);
    expect(code, stderr).toBe(0);
    const file = fileURLToPath(stdout.trim());
    expect(fs.realpathSync(file)).toBe(fs.realpathSync(path.join(ROOT, 'schema/schema.graphql')));
    expect(fs.readFileSync(file, 'utf8')).toContain('type Query');
    // …and where codegen reads it, as a file.
    expect(fs.readFileSync(path.join(project, 'node_modules/scopegate/schema/schema.graphql'), 'utf8')).toBe(fs.readFileSync(file, 'utf8'));
  });

  it('only the exported entry points are reachable (the server is not)', async () => {
    const script = "try { await import('scopegate/dist/src/server.js'); console.log('reachable') } catch (e) { console.log(e.code) }";
    const { code, stdout, stderr } = await exec(process.execPath, ['--input-type=module', '-e', script], project);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});

describe('plain Node ESM importing scopegate/client, against a real server', () => {
  let server: TestServer;
  let out: any;

  beforeAll(async () => {
    server = await startTestServer();
    const env = childEnv({ SCOPEGATE_URL: server.url, SCOPEGATE_TOKEN: server.adminToken });
    const { code, stdout, stderr } = await exec(process.execPath, ['use.mjs'], project, env);
    expect(code, stderr).toBe(0);
    out = JSON.parse(stdout);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('loads the built JavaScript from dist/', () => {
    expect(fs.realpathSync(fileURLToPath(out.clientUrl))).toBe(fs.realpathSync(path.join(ROOT, 'dist/src/client/index.js')));
    expect(fs.realpathSync(fileURLToPath(out.schemaUrl))).toBe(fs.realpathSync(path.join(ROOT, 'schema/schema.graphql')));
  });

  it('creates a namespace and an API token with the administrator token', () => {
    expect(out.namespace).toEqual({ name: 'integrator', viewerRole: 'OWNER' });
    expect(out.apiToken).toEqual({ resourceName: 'namespaces/integrator/apitokens/ci', role: 'EDITOR', secretShape: true });
  });

  it('the new token is its own viewer', () => {
    expect(out.viewer).toEqual({ kind: 'API_TOKEN', isAdmin: false, tokenName: 'ci', tokenRole: 'EDITOR' });
  });

  it('a bad token rejects with the package’s ScopegateError (instanceof holds across the boundary)', () => {
    expect(out.refusal).toEqual({ thrown: true, isScopegateError: true, name: 'ScopegateError', code: 'UNAUTHENTICATED', status: 401 });
  });
});

describe('types an integrator sees: tsc on the published declarations', () => {
  it('correct use compiles, with scopegate/client resolved to dist/src/client/index.d.ts (not the sources)', async () => {
    const { code, stdout, stderr } = await exec(TSC, ['-p', 'tsconfig.json', '--listFiles'], project);
    expect(code, stdout + stderr).toBe(0);
    const files = stdout.split('\n').map((line) => line.trim()).filter(Boolean).map((f) => fs.realpathSync(f));
    expect(files).toContain(fs.realpathSync(path.join(ROOT, 'dist/src/client/index.d.ts')));
    expect(files).toContain(fs.realpathSync(path.join(ROOT, 'dist/src/client/generated/graphql.d.ts')));
    expect(files.filter((f) => f.startsWith(path.join(fs.realpathSync(ROOT), 'src') + path.sep))).toEqual([]);
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([path.join(fs.realpathSync(project), 'use.ts')]);
  }, 60_000);

  it('a role the schema does not have does not compile', async () => {
    const { code, stdout, stderr } = await exec(TSC, ['-p', 'tsconfig.wrong.json'], project);
    expect(code).not.toBe(0);
    const output = stdout + stderr;
    expect(output).toMatch(/wrong\.ts\(\d+,\d+\): error TS2322: .*SUPERUSER.*Role/);
    expect(output.match(/error TS/g)).toHaveLength(1);
  }, 60_000);
});
