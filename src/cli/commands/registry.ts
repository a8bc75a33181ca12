/** scopegate registry list | create | update | delete */
import type { Command } from 'commander';
import { act, listInNamespace, namespaceOption, noun, verb } from '../define.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { confirm } from '../secrets.js';

const FIELDS = 'name kind url resourceName createdAt updatedAt credential { name username validationStatus }';

const columns: Column<any>[] = [
  { header: 'name', value: (r) => r.name },
  { header: 'kind', value: (r) => r.kind },
  { header: 'url', value: (r) => r.url },
  { header: 'credential', value: (r) => r.credential?.name },
];

const note =
  "\nThe server to talk to goes before the noun here (`scopegate --url https://scopegate.example.com registry …`), since --url is the registry's.\n";

export function registerRegistry(program: Command): void {
  const registry = noun(program, 'registry', "A namespace's Helm and OCI registries", [
    'scopegate registry list -n shop',
    'scopegate registry create charts -n shop --url oci://ghcr.io/acme/charts --credential ghcr',
  ]);

  act(
    verb(registry, { name: 'list', description: "List a namespace's registries", example: 'scopegate registry list -n shop' }).addOption(
      namespaceOption(),
    ),
    async (_a, o, ctx) => {
      const registries = await listInNamespace<any>(ctx.client(), o.namespace, 'registries', FIELDS);
      ctx.output.result(registries, registries, columns);
    },
  );

  act(
    verb(registry, {
      name: 'create <name>',
      description: 'Add a registry (editors): https://… for Helm, oci://… for OCI',
      example: 'scopegate registry create charts -n shop --url oci://ghcr.io/acme/charts --credential ghcr',
      shadows: ['url'],
    })
      .addOption(namespaceOption())
      .requiredOption('--url <url>', "the registry's URL (https://… or oci://…)")
      .option('--credential <name>', 'a registry credential of the namespace')
      .addHelpText('after', note),
    async ([name], o, ctx) => {
      const created = await ctx.client().request(`mutation($input: CreateRegistryInput!) { createRegistry(input: $input) { ${FIELDS} } }`, {
        input: { namespace: o.namespace, name, url: o.url, credential: o.credential },
      });
      ctx.output.note(`created registry ${name} in ${o.namespace}`);
      ctx.output.result(created.createRegistry, [created.createRegistry], columns);
    },
  );

  act(
    verb(registry, {
      name: 'update <name>',
      description: 'Change a registry (editors)',
      example: 'scopegate registry update charts -n shop --credential ghcr-new',
      shadows: ['url'],
    })
      .addOption(namespaceOption())
      .option('--url <url>', "the registry's new URL")
      .option('--credential <name>', 'use this registry credential')
      .option('--no-credential', 'use no credential')
      .addHelpText('after', note),
    async ([name], o, ctx) => {
      const clearCredential = o.credential === false ? true : undefined;
      const credential = typeof o.credential === 'string' ? o.credential : undefined;
      if (o.url === undefined && credential === undefined && !clearCredential)
        throw new UsageError('nothing to change', 'pass --url, --credential or --no-credential');
      const updated = await ctx.client().request(`mutation($input: UpdateRegistryInput!) { updateRegistry(input: $input) { ${FIELDS} } }`, {
        input: { namespace: o.namespace, name, url: o.url, credential, clearCredential },
      });
      ctx.output.note(`updated registry ${name} in ${o.namespace}`);
      ctx.output.result(updated.updateRegistry, [updated.updateRegistry], columns);
    },
  );

  act(
    verb(registry, {
      name: 'delete <name>',
      description: 'Remove a registry (editors)',
      example: 'scopegate registry delete charts -n shop --yes',
    })
      .addOption(namespaceOption())
      .option('--yes', 'do not ask for confirmation'),
    async ([name], o, ctx) => {
      const client = ctx.client();
      await confirm(`delete registry ${name} in ${o.namespace}`, o.yes);
      const result = await client.deleteRegistry({ namespace: o.namespace, name: name! });
      ctx.output.note(`deleted registry ${name} in ${o.namespace}`);
      if (ctx.output.format === 'json') ctx.output.json(result);
    },
  );
}
