import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** `npm start`'s own command (node --import tsx src/main.ts), run without npm in between. */
const START = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start as string).split(' ');

export interface EntryPoint {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The real entry point as `npm start` runs it, with exactly this environment (plus PATH and
 * HOME), never the test's own; `detached` gives it a process group of its own, as under a supervisor.
 * `terminal` runs it on a pseudo-terminal (util-linux `script`), as a person at a console does:
 * its stdout and stderr arrive together in stdout(), and child.stdin is the keyboard ('\x03' is Ctrl-C).
 */
export function spawnEntryPoint(env: Record<string, string>, { detached = false, terminal = false } = {}): EntryPoint {
  const command = [START[0] === 'node' ? process.execPath : START[0]!, ...START.slice(1)];
  // `script` runs the command through a shell; `exec` lets Ctrl-C reach the server rather than the shell.
  const [file, ...args] = terminal ? ['script', '-qfec', `exec ${command.map((a) => `'${a}'`).join(' ')}`, '/dev/null'] : command;
  const child = spawn(file!, args, {
    cwd: ROOT,
    detached,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: [terminal ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}
