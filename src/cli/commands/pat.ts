/** scopegate pat list | create | update | regenerate | revoke (your personal access tokens, sgp_…) */
import { type Command, Option } from 'commander';
import { act, collect, noun, parseRole, verb } from '../define.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { confirm } from '../secrets.js';
import { expiresAtOption, expiresInOption, expiryChange, graceOption, withExpiryChange } from './token.js';

const FIELDS = 'name maxRole admin description enabled expired expiresAt lastUsedAt secretHint secretRotatedAt createdAt updatedAt';

const columns: Column<any>[] = [
  { header: 'name', value: (t) => t.name },
  { header: 'max role', value: (t) => t.maxRole },
  { header: 'admin', value: (t) => t.admin },
  { header: 'enabled', value: (t) => t.enabled },
  { header: 'expires', value: (t) => (t.expired ? `expired ${t.expiresAt.slice(0, 10)}` : t.expiresAt) },
  { header: 'last used', value: (t) => t.lastUsedAt },
  { header: 'secret', value: (t) => t.secretHint },
];

export function registerPat(program: Command): void {
  const pat = noun(program, 'pat', 'Your personal access tokens (sgp_…): act as you, capped at a role', [
    'scopegate pat list',
    'scopegate pat create laptop --max-role editor --expires-in 90',
  ]);

  act(verb(pat, { name: 'list', description: 'List your personal access tokens', example: 'scopegate pat list' }), async (_a, _o, ctx) => {
    const client = ctx.client();
    const query = `query($after: String) { viewer { personalAccessTokens(first: 100, after: $after) { edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor } } } }`;
    const tokens = (await collect<any>(async (after) => (await client.request(query, { after })).viewer.personalAccessTokens))!;
    ctx.output.result(tokens, tokens, columns);
  });

  act(
    verb(pat, {
      name: 'create <name>',
      description: 'Create a personal access token; prints its secret once',
      example: 'scopegate pat create laptop --max-role editor --expires-in 90',
    })
      .addOption(new Option('--max-role <role>', 'the highest role it acts with (default owner)').argParser(parseRole))
      .option('--admin', 'act with your administrator rights (administrators only)')
      .option('--description <text>', 'what it is for')
      .addOption(expiresInOption())
      .addOption(expiresAtOption()),
    async ([name], o, ctx) => {
      const result = await ctx
        .client()
        .createPersonalAccessToken({
          name: name!,
          maxRole: o.maxRole,
          admin: o.admin,
          description: o.description,
          expiresInDays: o.expiresIn,
          expiresAt: o.expiresAt,
        });
      ctx.output.note(
        `created personal access token ${result.personalAccessToken.name} (max role ${result.personalAccessToken.maxRole}${result.personalAccessToken.admin ? ', admin' : ''})`,
      );
      ctx.output.secret(result.secret, result);
    },
  );

  act(
    withExpiryChange(
      verb(pat, {
        name: 'update <name>',
        description: 'Change a personal access token',
        example: ['scopegate pat update laptop --disable', 'scopegate pat update laptop --expires-in 30'],
      })
        .option('--description <text>', 'what it is for')
        .addOption(new Option('--enable', 'enable it').conflicts('disable'))
        .option('--disable', 'disable it'),
    ),
    async ([name], o, ctx) => {
      const { expiresAt, clearExpiry } = expiryChange(o);
      const enabled = o.enable ? true : o.disable ? false : undefined;
      if (o.description === undefined && enabled === undefined && expiresAt === undefined && !clearExpiry) {
        throw new UsageError('nothing to change', 'pass --description, --enable, --disable, --expires-in, --expires-at or --no-expiry');
      }
      const updated = await ctx
        .client()
        .updatePersonalAccessToken({ name: name!, description: o.description, enabled, expiresAt, clearExpiry });
      ctx.output.note(`updated personal access token ${updated.name}`);
      ctx.output.result(updated, [updated], columns);
    },
  );

  act(
    verb(pat, {
      name: 'regenerate <name>',
      description: 'Issue a new secret; the old one stops at once, or after --grace',
      example: 'scopegate pat regenerate laptop --expires-in 90',
    })
      .addOption(graceOption())
      .addOption(expiresInOption())
      .addOption(expiresAtOption()),
    async ([name], o, ctx) => {
      const result = await ctx
        .client()
        .regeneratePersonalAccessToken({ name: name!, gracePeriodSeconds: o.grace, expiresInDays: o.expiresIn, expiresAt: o.expiresAt });
      ctx.output.note(`regenerated personal access token ${result.personalAccessToken.name}`);
      ctx.output.secret(result.secret, result);
    },
  );

  act(
    verb(pat, {
      name: 'revoke <name>',
      description: 'Revoke a personal access token; it stops working at once',
      example: 'scopegate pat revoke laptop --yes',
    }).option('--yes', 'do not ask for confirmation'),
    async ([name], o, ctx) => {
      const client = ctx.client();
      await confirm(`revoke personal access token ${name}`, o.yes);
      const result = await client.revokePersonalAccessToken({ name: name! });
      ctx.output.note(`revoked personal access token ${name}`);
      if (ctx.output.format === 'json') ctx.output.json(result);
    },
  );
}
