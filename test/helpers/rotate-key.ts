import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScriptRun } from './audit-verify.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const SCRIPT = path.join(REPO, 'scripts', 'rotate-key.ts');

/** Runs scripts/rotate-key.ts as `npm run rotate-key` would, with exactly the given environment. */
export function rotateKey(env: Record<string, string>, args: string[] = []): Promise<ScriptRun> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCOPEGATE_') && k !== 'DATABASE_URL') base[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [SCRIPT, ...args], { cwd: REPO, env: { ...base, NODE_ENV: 'test', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, output: stdout + stderr }));
  });
}
