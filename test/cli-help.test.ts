/**
 * Every command and subcommand of the scopegate CLI answers --help with its flags and an
 * example; walked over the real command tree, so a new verb without an example fails here.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';

function walk(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return [{ path, command }, ...command.commands.flatMap((sub) => walk(sub, [...path, sub.name()]))];
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

describe('scopegate --help', () => {
  const all = walk(buildProgram());

  it('covers every noun and verb of the spec', () => {
    const paths = all.map(({ path }) => path.join(' '));
    expect(paths).toEqual(
      expect.arrayContaining([
        'login',
        'logout',
        'whoami',
        'namespace list',
        'namespace get',
        'namespace create',
        'namespace update',
        'namespace delete',
        'member list',
        'member set',
        'member remove',
        'token list',
        'token get',
        'token create',
        'token update',
        'token enable',
        'token disable',
        'token regenerate',
        'token revoke',
        'pat list',
        'pat create',
        'pat update',
        'pat regenerate',
        'pat revoke',
        'credential list',
        'credential get',
        'credential validate',
        'credential reveal',
        'credential delete',
        ...['registry', 'git', 'hetzner', 'ovh', 'ssh-key'].map((kind) => `credential create ${kind}`),
        ...['registry', 'git', 'hetzner', 'ovh'].map((kind) => `credential update ${kind}`),
        'registry list',
        'registry create',
        'registry update',
        'registry delete',
        'audit list',
      ]),
    );
  });

  it.each(walk(buildProgram()).map(({ path, command }) => [path.join(' ') || '(top)', command] as const))(
    '%s shows its flags and an example',
    (name, command) => {
      const help = helpOf(command);
      expect(help).toMatch(/^Usage: scopegate/m);
      expect(help).toMatch(/^Example:\n {2}\$ .*\bscopegate /m);
      if (command.commands.length === 0 && name !== '(top)') {
        // A verb: the global output option, and every flag it takes, are listed.
        expect(help).toMatch(/-o, --output <format>/);
        for (const option of command.options) if (!option.hidden) expect(help).toContain(option.flags);
      }
    },
  );

  it('never offers a secret as a plain flag', () => {
    for (const { command } of all) {
      for (const option of command.options) {
        if (
          /^--(password|token|api-token|application-secret|consumer-key) </.test(option.long ? `${option.long} <` : '') &&
          option.required
        ) {
          expect(option.hidden, `${command.name()} ${option.flags}`).toBe(true);
        }
      }
    }
    expect(helpOf(all.find(({ path }) => path.join(' ') === 'credential create registry')!.command)).not.toMatch(/--password </);
  });
});
