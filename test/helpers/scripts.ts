import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const NPM_SCRIPTS: Record<string, string> = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts;

/** The command `npm run <script>` runs (built JavaScript under plain node), as [file, ...args]. */
export function scriptCommand(script: string): string[] {
  const [file, ...args] = NPM_SCRIPTS[script]!.split(' ');
  return [file === 'node' ? process.execPath : file!, ...args];
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for messages that may go to either. */
  output: string;
}

/**
 * Runs an operational script as `npm run <script>` does: a child process with exactly the given
 * environment (none of ours, so no key leaks in from the test's own environment).
 */
export function runScript(script: string, env: Record<string, string>, args: string[] = []): Promise<ScriptRun> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCOPEGATE_') && k !== 'DATABASE_URL') base[k] = v;
  return new Promise((resolve, reject) => {
    const [file, ...command] = scriptCommand(script);
    const child = spawn(file!, [...command, ...args], {
      cwd: REPO,
      env: { ...base, NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, output: stdout + stderr }));
  });
}

export const auditVerify = (env: Record<string, string>, args: string[] = []) => runScript('audit:verify', env, args);
export const rotateKey = (env: Record<string, string>, args: string[] = []) => runScript('rotate-key', env, args);
