/** scopegate token list | get | create | update | enable | disable | regenerate | revoke (namespace API tokens) */
import { type Command, Option } from 'commander';
import { act, getInNamespace, listInNamespace, namespaceOption, noun, parsePositiveInt, parseRole, parseTime, verb } from '../define.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { confirm } from '../secrets.js';

const FIELDS = 'name role description enabled expired expiresAt lastUsedAt secretHint secretRotatedAt createdAt updatedAt resourceName';

export const tokenColumns: Column<any>[] = [
  { header: 'name', value: (t) => t.name },
  { header: 'role', value: (t) => t.role ?? t.maxRole },
  { header: 'enabled', value: (t) => t.enabled },
  { header: 'expires', value: (t) => (t.expired ? `expired ${t.expiresAt.slice(0, 10)}` : t.expiresAt) },
  { header: 'last used', value: (t) => t.lastUsedAt },
  { header: 'secret', value: (t) => t.secretHint },
];

export const expiresInOption = () =>
  new Option('--expires-in <days>', 'expire after this many days').argParser(parsePositiveInt).conflicts('expiresAt');
export const expiresAtOption = () => new Option('--expires-at <time>', 'expire at this time (ISO 8601)').argParser(parseTime);
/** --expires-in, --expires-at and --no-expiry, on a command that changes a token. */
export const withExpiryChange = (command: Command) =>
  command
    .addOption(new Option('--expires-in <days>', 'expire this many days from now').argParser(parsePositiveInt).conflicts(['expiresAt', 'expiry']))
    .addOption(new Option('--expires-at <time>', 'expire at this time (ISO 8601)').argParser(parseTime).conflicts('expiry'))
    .option('--no-expiry', 'never expire');

/** What those options ask for, as the update mutations take it. */
export function expiryChange(o: { expiresIn?: number; expiresAt?: string; expiry?: boolean }) {
  return {
    expiresAt: o.expiresIn !== undefined ? new Date(Date.now() + o.expiresIn * 86_400_000).toISOString() : o.expiresAt,
    clearExpiry: o.expiry === false ? (true as const) : undefined,
  };
}

export const graceOption = () =>
  new Option('--grace <seconds>', 'keep the old secret working this many seconds (0 to 86400; default 0)').argParser(parsePositiveInt);

export function registerToken(program: Command): void {
  const token = noun(program, 'token', "A namespace's API tokens (sgt_…)", [
    'scopegate token list -n shop',
    'scopegate token create ci -n shop --role editor --expires-in 30',
  ]);

  act(
    verb(token, { name: 'list', description: "List a namespace's API tokens", example: 'scopegate token list -n shop' }).addOption(
      namespaceOption(),
    ),
    async (_a, o, ctx) => {
      const tokens = await listInNamespace<any>(ctx.client(), o.namespace, 'apiTokens', FIELDS);
      ctx.output.result(tokens, tokens, tokenColumns);
    },
  );

  act(
    verb(token, { name: 'get <name>', description: 'Show one API token', example: 'scopegate token get ci -n shop' }).addOption(
      namespaceOption(),
    ),
    async ([name], o, ctx) => {
      const found = await getInNamespace<any>(ctx.client(), o.namespace, 'apiToken', name!, FIELDS, 'API token');
      ctx.output.result(found, [found], tokenColumns);
    },
  );

  act(
    verb(token, {
      name: 'create <name>',
      description: 'Create an API token (owners); prints its secret once',
      example: [
        'scopegate token create ci -n shop --role editor --expires-in 30',
        'SECRET=$(scopegate token create deploy -n shop --role viewer --expires-at 2027-01-01T00:00:00Z)',
      ],
    })
      .addOption(namespaceOption())
      .addOption(new Option('--role <role>', 'viewer, editor or owner (any case)').argParser(parseRole).makeOptionMandatory())
      .option('--description <text>', 'what it is for')
      .addOption(expiresInOption())
      .addOption(expiresAtOption())
      .option('--disabled', 'create it disabled'),
    async ([name], o, ctx) => {
      const result = await ctx.client().createApiToken({
        namespace: o.namespace,
        name: name!,
        role: o.role,
        description: o.description,
        expiresInDays: o.expiresIn,
        expiresAt: o.expiresAt,
        enabled: o.disabled ? false : undefined,
      });
      ctx.output.note(
        `created API token ${result.apiToken.name} in ${o.namespace} (role ${result.apiToken.role}, ${result.apiToken.expiresAt ? `expires ${result.apiToken.expiresAt}` : 'no expiry'})`,
      );
      ctx.output.secret(result.secret, result);
    },
  );

  act(
    withExpiryChange(
      verb(token, {
        name: 'update <name>',
        description: 'Change an API token (owners)',
        example: ['scopegate token update ci -n shop --role viewer', 'scopegate token update ci -n shop --no-expiry'],
      })
        .addOption(namespaceOption())
        .addOption(new Option('--role <role>', 'viewer, editor or owner').argParser(parseRole))
        .option('--description <text>', 'what it is for'),
    ),
    async ([name], o, ctx) => {
      const { expiresAt, clearExpiry } = expiryChange(o);
      if (o.role === undefined && o.description === undefined && expiresAt === undefined && !clearExpiry) {
        throw new UsageError('nothing to change', 'pass --role, --description, --expires-in, --expires-at or --no-expiry');
      }
      const updated = await ctx
        .client()
        .updateApiToken({ namespace: o.namespace, name: name!, role: o.role, description: o.description, expiresAt, clearExpiry });
      ctx.output.note(`updated API token ${updated.name} in ${o.namespace}`);
      ctx.output.result(updated, [updated], tokenColumns);
    },
  );

  for (const [verbName, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    act(
      verb(token, {
        name: `${verbName} <name>`,
        description: `${enabled ? 'Enable' : 'Disable'} an API token (owners)`,
        example: `scopegate token ${verbName} ci -n shop`,
      }).addOption(namespaceOption()),
      async ([name], o, ctx) => {
        const updated = await ctx.client().updateApiToken({ namespace: o.namespace, name: name!, enabled });
        ctx.output.note(`${enabled ? 'enabled' : 'disabled'} API token ${updated.name} in ${o.namespace}`);
        ctx.output.result(updated, [updated], tokenColumns);
      },
    );
  }

  act(
    verb(token, {
      name: 'regenerate <name>',
      description: 'Issue a new secret (owners); the old one stops at once, or after --grace',
      example: 'scopegate token regenerate ci -n shop --grace 300',
    })
      .addOption(namespaceOption())
      .addOption(graceOption())
      .addOption(expiresInOption())
      .addOption(expiresAtOption()),
    async ([name], o, ctx) => {
      const result = await ctx
        .client()
        .regenerateApiToken({
          namespace: o.namespace,
          name: name!,
          gracePeriodSeconds: o.grace,
          expiresInDays: o.expiresIn,
          expiresAt: o.expiresAt,
        });
      ctx.output.note(
        `regenerated API token ${result.apiToken.name} in ${o.namespace}; the old secret ${o.grace ? `works for ${o.grace} more seconds` : 'no longer works'}`,
      );
      ctx.output.secret(result.secret, result);
    },
  );

  act(
    verb(token, {
      name: 'revoke <name>',
      description: 'Revoke an API token (owners); it stops working at once',
      example: 'scopegate token revoke ci -n shop --yes',
    })
      .addOption(namespaceOption())
      .option('--yes', 'do not ask for confirmation'),
    async ([name], o, ctx) => {
      const client = ctx.client();
      await confirm(`revoke API token ${name} in ${o.namespace}`, o.yes);
      const result = await client.revokeApiToken({ namespace: o.namespace, name: name! });
      ctx.output.note(`revoked API token ${name} in ${o.namespace}`);
      if (ctx.output.format === 'json') ctx.output.json(result);
    },
  );
}
