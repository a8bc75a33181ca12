/** scopegate namespace list | get | create | update | delete */
import type { Command } from 'commander';
import { act, collect, namespaceNotFound, noun, verb } from '../define.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { confirm } from '../secrets.js';

const columns: Column<any>[] = [
  { header: 'name', value: (n) => n.name },
  { header: 'role', value: (n) => n.viewerRole },
  { header: 'description', value: (n) => n.description },
  { header: 'created', value: (n) => n.createdAt },
];

export function registerNamespace(program: Command): void {
  const ns = noun(program, 'namespace', 'Namespaces: the unit of tokens, members, credentials and registries', [
    'scopegate namespace list',
    'scopegate namespace create shop --description "The web shop"',
  ]);

  act(
    verb(ns, {
      name: 'list',
      description: 'List the namespaces you have a role in (all of them for administrators)',
      example: 'scopegate namespace list',
    }),
    async (_a, _o, ctx) => {
      const client = ctx.client();
      const nodes = (await collect((after) => client.namespaces({ first: 100, after })))!;
      ctx.output.result(nodes, nodes, columns);
    },
  );

  act(
    verb(ns, { name: 'get <name>', description: 'Show one namespace', example: 'scopegate namespace get shop' }),
    async ([name], _o, ctx) => {
      const namespace = await ctx.client().namespace({ name: name! });
      if (!namespace) throw namespaceNotFound(name!);
      ctx.output.result(namespace, [namespace], columns);
    },
  );

  act(
    verb(ns, {
      name: 'create <name>',
      description: 'Create a namespace; you become its owner',
      example: 'scopegate namespace create shop --description "The web shop"',
    })
      .option('--description <text>', 'what it is for')
      .option('--display-name <text>', 'a friendlier name'),
    async ([name], options, ctx) => {
      const namespace = await ctx
        .client()
        .createNamespace({ name: name!, description: options.description, displayName: options.displayName });
      ctx.output.note(`created namespace ${namespace.name}`);
      ctx.output.result(namespace, [namespace], columns);
    },
  );

  act(
    verb(ns, {
      name: 'update <name>',
      description: 'Change a namespace (owners)',
      example: 'scopegate namespace update shop --description "Shop, production"',
    })
      .option('--description <text>', 'what it is for')
      .option('--display-name <text>', 'a friendlier name'),
    async ([name], options, ctx) => {
      if (options.description === undefined && options.displayName === undefined)
        throw new UsageError('nothing to change', 'pass --description or --display-name');
      const namespace = await ctx
        .client()
        .updateNamespace({ name: name!, description: options.description, displayName: options.displayName });
      ctx.output.note(`updated namespace ${namespace.name}`);
      ctx.output.result(namespace, [namespace], columns);
    },
  );

  act(
    verb(ns, {
      name: 'delete <name>',
      description: 'Delete a namespace with its tokens, credentials and registries (owners); the audit trail stays',
      example: 'scopegate namespace delete shop --yes',
    }).option('--yes', 'do not ask for confirmation'),
    async ([name], options, ctx) => {
      const client = ctx.client();
      await confirm(`delete namespace ${name} with its tokens, credentials and registries`, options.yes);
      const result = await client.deleteNamespace({ name: name! });
      ctx.output.note(`deleted namespace ${name}`);
      if (ctx.output.format === 'json') ctx.output.json(result);
    },
  );
}
