/** The scopegate command tree, and running it to an exit status. */
import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerAuth } from './commands/auth.js';
import { registerCredential } from './commands/credential.js';
import { registerMember } from './commands/member.js';
import { registerNamespace } from './commands/namespace.js';
import { registerPat } from './commands/pat.js';
import { registerRegistry } from './commands/registry.js';
import { registerToken } from './commands/token.js';
import { current, withGlobalOptions } from './context.js';
import { describeFailure, EXIT } from './errors.js';
import { printable } from './output.js';

export function buildProgram(): Command {
  const program = new Command('scopegate')
    .description('Manage a scopegate server: namespaces, members, tokens, credentials, registries and the audit trail.')
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  withGlobalOptions(program);
  program.addHelpText(
    'after',
    `
The token comes from SCOPEGATE_TOKEN, else --token-file PATH, else the login stored by \`scopegate login\`.
Exit status: 0 success, 1 refused by the server, 2 usage error, 3 not authenticated, 4 server unreachable.

Example:
  $ scopegate login --url https://scopegate.example.com --username alice
  $ scopegate token create ci -n shop --role editor --expires-in 30
`,
  );
  registerAuth(program);
  registerNamespace(program);
  registerMember(program);
  registerToken(program);
  registerPat(program);
  registerCredential(program);
  registerRegistry(program);
  registerAudit(program);
  return program;
}

/** Runs one command line; resolves to its exit status. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    // Commander has already printed its message (unknown option, missing argument) or the help.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const failure = describeFailure(error, current);
    process.stderr.write(`error: ${printable(failure.message)}\n`);
    if (failure.hint) process.stderr.write(`hint: ${printable(failure.hint)}\n`);
    return failure.status;
  }
}
