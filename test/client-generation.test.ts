import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildSchema, type OperationDefinitionNode, type FieldNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { generatedClientOperations, METHODS_FILE, OPERATIONS_FILE, SCHEMA_FILE } from '../scripts/client-operations.js';
import { createClient } from '../src/client/index.js';
import { methods } from '../src/client/generated/methods.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT_DIR = path.join(ROOT, 'src/client');
const FIXTURES = path.join(ROOT, 'test/fixtures/client-types');

/** What the client may import from outside itself: what a browser needs, nothing of the server. */
const ALLOWED_PACKAGES = ['graphql', '@graphql-typed-document-node/core'];

/** Every module specifier a TypeScript source names: import/export … from, import '…', import('…'). */
function specifiers(source: string): string[] {
  const found = source.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g);
  return [...found].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** Follows the relative imports from src/client/index.ts; returns the files reached and the bare specifiers named. */
function importGraph(entry: string): { files: string[]; bare: Set<string> } {
  const files: string[] = [];
  const bare = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.shift()!;
    if (files.includes(file)) continue;
    files.push(file);
    for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) {
        bare.add(spec);
        continue;
      }
      const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
      queue.push(target);
    }
  }
  return { files: files.map((f) => path.relative(ROOT, f).split(path.sep).join('/')), bare };
}

async function tsc(project: string): Promise<{ code: number; output: string }> {
  const bin = path.join(ROOT, 'node_modules/.bin/tsc');
  try {
    const { stdout, stderr } = await promisify(execFile)(bin, ['-p', path.join(FIXTURES, project)], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

describe('the client generated from schema/schema.graphql', () => {
  it('is up to date: operations, method table and typed documents (run `npm run codegen`)', async () => {
    const fresh = generatedClientOperations();
    expect(fs.readFileSync(OPERATIONS_FILE, 'utf8')).toBe(fresh.operations);
    expect(fs.readFileSync(METHODS_FILE, 'utf8')).toBe(fresh.methods);

    const { generate } = await import('@graphql-codegen/cli');
    const { default: config } = await import('../codegen.js');
    const clientTarget = Object.fromEntries(Object.entries(config.generates).filter(([target]) => target.startsWith('src/client/')));
    expect(Object.keys(clientTarget)).toEqual(['src/client/generated/']);
    const outputs: { filename: string; content: string }[] = await generate({ ...config, generates: clientTarget, silent: true }, false);
    expect(outputs.map((o) => o.filename).sort()).toEqual(['gql.ts', 'graphql.ts', 'index.ts'].map((f) => `src/client/generated/${f}`));
    const stale = outputs.filter((o) => fs.readFileSync(path.join(ROOT, o.filename), 'utf8') !== o.content).map((o) => o.filename);
    expect(stale).toEqual([]);
  }, 60_000);

  it('has a method for every root field, sending an operation on that field', () => {
    const schema = buildSchema(fs.readFileSync(SCHEMA_FILE, 'utf8'));
    const client = createClient({ url: 'http://127.0.0.1:1', token: 'unused' }) as unknown as Record<string, unknown>;
    const rootFields = [schema.getQueryType()!, schema.getMutationType()!].flatMap((root) =>
      Object.values(root.getFields()).map((field) => ({ field: field.name, kind: root === schema.getQueryType() ? 'query' : 'mutation' })),
    );
    expect(rootFields.map(({ field }) => field)).toEqual(expect.arrayContaining(['createApiToken', 'regenerateApiToken', 'namespace', 'namespaces', 'auditEvents', 'viewer']));
    const missing = rootFields.filter(({ field }) => typeof client[field] !== 'function').map(({ field }) => field);
    expect(missing).toEqual([]);
    for (const { field, kind } of rootFields) {
      const operation = methods[field as keyof typeof methods].document.definitions[0] as OperationDefinitionNode;
      expect(operation.operation, field).toBe(kind);
      expect((operation.selectionSet.selections[0] as FieldNode).name.value, field).toBe(field);
    }
    expect(Object.keys(methods).sort()).toEqual(rootFields.map(({ field }) => field).sort());
  });

  it('imports nothing of the server and nothing of Node: only its own files and a browser-safe allowlist', () => {
    const { files, bare } = importGraph(path.join(CLIENT_DIR, 'index.ts'));
    // The walk reaches the generated documents, so it does follow imports.
    expect(files).toEqual(expect.arrayContaining(['src/client/index.ts', 'src/client/errors.ts', 'src/client/generated/methods.ts', 'src/client/generated/graphql.ts']));
    expect(files.filter((f) => !f.startsWith('src/client/'))).toEqual([]);
    for (const file of files) expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
    expect([...bare].filter((spec) => !ALLOWED_PACKAGES.includes(spec))).toEqual([]);
  });

  it('finds imports of every form (so the walk above cannot miss one)', () => {
    const source = [
      "import fs from 'node:fs';",
      'import { x } from "../store/db.js";',
      "import type { Y } from 'pino';",
      "export { z } from './z.js';",
      "export * from 'graphql-yoga';",
      "import 'better-sqlite3';",
      "const m = await import('../server.js');",
      'import {\n  a,\n  b,\n} from "kysely";',
    ].join('\n');
    expect(specifiers(source)).toEqual(['node:fs', '../store/db.js', 'pino', './z.js', 'graphql-yoga', 'better-sqlite3', '../server.js', 'kysely']);
  });
});

describe('types an integrator sees (tsc on test/fixtures/client-types)', () => {
  it('compiles correct use, in a project with a browser lib and no Node types', async () => {
    const { code, output } = await tsc('tsconfig.json');
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 60_000);

  it('refuses a role that does not exist, a missing required input field, a misspelt argument, a field not selected', async () => {
    const { code, output } = await tsc('tsconfig.wrong.json');
    expect(code).not.toBe(0);
    const errors = output.split('\n').filter((line) => line.includes('error TS'));
    expect(errors.every((line) => line.startsWith('test/fixtures/client-types/wrong.ts'))).toBe(true);
    expect(errors).toEqual([
      expect.stringMatching(/wrong\.ts\(6,.*'"SUPERUSER"' is not assignable to type 'Role'/),
      expect.stringMatching(/wrong\.ts\(7,.*Property 'name' is missing .* 'CreateApiTokenInput'/),
      expect.stringMatching(/wrong\.ts\(8,.*'nmae' does not exist/),
      expect.stringMatching(/wrong\.ts\(10,.*Property 'secret' does not exist/),
    ]);
  }, 60_000);
});
