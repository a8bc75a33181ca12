/**
 * Secrets never come from a plain flag (it would land in shell history and the process list):
 * a secret field F is read from `--F-stdin`, `--F-file PATH`, or a prompt without echo on a terminal.
 */
import fs from 'node:fs';
import readline from 'node:readline/promises';
import { type Command, Option } from 'commander';
import { RefusedError, UsageError } from './errors.js';

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Adds --F-stdin and --F-file, and a hidden --F that only explains how to pass the secret instead. */
export function secretOption(command: Command, field: string, description: string): Command {
  return command
    .addOption(new Option(`--${field}-stdin`, `read ${description} from standard input`).conflicts(`${camel(field)}File`))
    .addOption(new Option(`--${field}-file <path>`, `read ${description} from a file`))
    .addOption(new Option(`--${field} <value>`).hideHelp());
}

/** Everything on standard input, one trailing newline stripped. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return stripNewline(Buffer.concat(chunks).toString('utf8'));
}

const stripNewline = (text: string) => text.replace(/\r?\n$/, '');

/** Refuses a secret given as a plain flag, and more than one --…-stdin, before anything is sent. */
export function checkSecretFlags(options: Record<string, unknown>, fields: readonly string[]): void {
  for (const field of fields) {
    if (options[camel(field)] !== undefined) {
      throw new UsageError(
        `--${field} does not take a value on the command line (it would be kept in shell history and shown in the process list)`,
        `pass it with --${field}-stdin (e.g. \`printf %s "$SECRET" | scopegate … --${field}-stdin\`), --${field}-file PATH, or leave it out on a terminal to be prompted`,
      );
    }
  }
  const fromStdin = fields.filter((field) => options[`${camel(field)}Stdin`]);
  if (fromStdin.length > 1) {
    throw new UsageError(
      `only one secret can come from standard input (got ${fromStdin.map((f) => `--${f}-stdin`).join(', ')})`,
      'read the others with --…-file PATH',
    );
  }
}

/**
 * The secret `field`, or undefined when it was not given and is not required. A required one
 * is prompted for without echo on a terminal, and a usage error otherwise.
 */
export async function readSecret(
  options: Record<string, unknown>,
  field: string,
  { required, label }: { required: boolean; label: string },
): Promise<string | undefined> {
  let value: string | undefined;
  const file = options[`${camel(field)}File`];
  if (options[`${camel(field)}Stdin`]) value = await readStdin();
  else if (typeof file === 'string') {
    try {
      value = stripNewline(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read --${field}-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else if (required) {
    if (!process.stdin.isTTY) {
      throw new UsageError(
        `${label} is required`,
        `pass it with --${field}-stdin or --${field}-file PATH (standard input is not a terminal, so there is no prompt)`,
      );
    }
    value = await promptHidden(`${label[0]!.toUpperCase()}${label.slice(1)}:`);
  }
  if (value === '') throw new UsageError(`${label} is empty`);
  return value;
}

/** A prompt without echo, on stderr. */
export async function promptHidden(message: string): Promise<string> {
  const { default: password } = await import('@inquirer/password');
  return password({ message, mask: false }, { output: process.stderr });
}

/** A plain question on stderr (a username). */
export async function promptLine(message: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${message} `)).trim();
  } finally {
    rl.close();
  }
}

/** `delete`/`revoke` go ahead with --yes; without it they ask on a terminal and refuse elsewhere. */
export async function confirm(what: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new UsageError(
      `refusing to ${what} without --yes (standard input is not a terminal, so there is no one to ask)`,
      'add --yes to confirm',
    );
  }
  const answer = await promptLine(`${what[0]!.toUpperCase()}${what.slice(1)}? [y/N]`);
  if (!/^y(es)?$/i.test(answer)) throw new RefusedError('cancelled');
}
