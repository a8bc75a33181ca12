import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Context } from '../context.js';
import { isExpired } from '../domain/expiry.js';
import {
  apiTokenResourceName,
  createApiToken,
  createPersonalAccessToken,
  regenerateApiToken,
  regeneratePersonalAccessToken,
  revokeApiToken,
  revokePersonalAccessToken,
  updateApiToken,
  updatePersonalAccessToken,
} from '../domain/tokens.js';
import { isUserPrincipal, type Role } from '../policy.js';
import type { TokenRow } from '../store/loaders.js';
import { inputNamespace, scopesFor } from './auth.js';
import { builder } from './builder.js';
import { NamespaceRef } from './namespace.js';
import { paginate } from './pagination.js';
import { DeletePayload, RoleEnum } from './scalars.js';
import { UserRef } from './user.js';

const typeNameOf = (row: TokenRow) => (row.kind === 'API' ? 'ApiToken' : 'PersonalAccessToken');

export const TokenRef = builder.interfaceRef<TokenRow>('Token').implement({
  description: 'Fields shared by every kind of token. The secret itself is never readable.',
  resolveType: typeNameOf,
  fields: (t) => ({
    id: t.id({ resolve: (row) => encodeGlobalID(typeNameOf(row), row.id) }),
    name: t.string({ resolve: (row) => row.name! }),
    description: t.exposeString('description', { nullable: true }),
    enabled: t.boolean({ resolve: (row) => Boolean(row.enabled) }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (row) => row.expires_at }),
    expired: t.boolean({ resolve: (row, _args, ctx) => isExpired(row.expires_at, ctx.app.now()) }),
    createdAt: t.field({ type: 'DateTime', resolve: (row) => row.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (row) => row.updated_at }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, resolve: (row) => row.last_used_at }),
    secretHint: t.exposeString('secret_hint', {
      description: 'Recognise a secret without revealing it: its prefix and last four characters, e.g. sgt_…9fQx',
    }),
    secretRotatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (row) => row.secret_rotated_at }),
  }),
});

export const ApiTokenRef = builder.objectRef<TokenRow>('ApiToken');
export const PersonalAccessTokenRef = builder.objectRef<TokenRow>('PersonalAccessToken');
const ApiTokenConnection = builder.connectionObject({ type: ApiTokenRef, name: 'ApiTokenConnection' }, { name: 'ApiTokenEdge' });
export const PersonalAccessTokenConnection = builder.connectionObject(
  { type: PersonalAccessTokenRef, name: 'PersonalAccessTokenConnection' },
  { name: 'PersonalAccessTokenEdge' },
);

/** Live tokens of one kind that the caller may see; everything else reads as absent. */
async function visibleTokens(ids: string[], ctx: Context, kind: TokenRow['kind']) {
  const rows = await ctx.loaders.tokenById.loadMany(ids);
  const p = ctx.principal!;
  return Promise.all(
    rows.map(async (row) => {
      if (!row || row instanceof Error || row.kind !== kind || row.revoked_at) return null;
      if (kind === 'API') return (await ctx.loaders.roleIn(row.namespace_id!)) ? row : null;
      return isUserPrincipal(p) && (p.userId === row.user_id || p.isAdmin) ? row : null;
    }),
  );
}

builder.node(ApiTokenRef, {
  description: 'A machine credential scoped to one namespace with one role.',
  interfaces: [TokenRef],
  id: { resolve: (row) => row.id },
  loadMany: (ids, ctx) => visibleTokens(ids, ctx, 'API'),
  authScopes: (row) => ({ namespace: { id: row.namespace_id!, role: 'VIEWER' } }),
  fields: (t) => ({
    resourceName: t.string({
      description: 'namespaces/{namespace}/apitokens/{name}',
      resolve: async (row, _args, ctx) => apiTokenResourceName((await ctx.loaders.namespaceById.load(row.namespace_id!))!.name, row.name!),
    }),
    namespace: t.field({ type: NamespaceRef, resolve: async (row, _args, ctx) => (await ctx.loaders.namespaceById.load(row.namespace_id!))! }),
    role: t.field({ type: RoleEnum, resolve: (row) => row.role as Role }),
    createdBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who created it; null when that user is gone or not visible to you (as node(id) would read).',
      resolve: (row, _args, ctx) => (row.created_by ? ctx.loaders.visibleUserById.load(row.created_by) : null),
    }),
  }),
});

builder.node(PersonalAccessTokenRef, {
  description: "A user's own token: acts as that user, capped at maxRole in every namespace.",
  interfaces: [TokenRef],
  id: { resolve: (row) => row.id },
  loadMany: (ids, ctx) => visibleTokens(ids, ctx, 'PERSONAL'),
  authScopes: (row) => ({ selfOrAdmin: row.user_id! }),
  fields: (t) => ({
    owner: t.field({ type: UserRef, resolve: async (row, _args, ctx) => (await ctx.loaders.userById.load(row.user_id!))! }),
    maxRole: t.field({ type: RoleEnum, resolve: (row) => row.role as Role }),
    admin: t.boolean({
      description: "Acts with the owner's administrator rights (only administrators may create one).",
      resolve: (row) => Boolean(row.admin),
    }),
  }),
});

// ---------------------------------------------------------------- reads

builder.objectFields(NamespaceRef, (t) => ({
  apiTokens: t.connection({
    type: ApiTokenRef,
    authScopes: scopesFor('Namespace.read', (_args, ns: { id: string }) => ({ id: ns.id })),
    args: { includeExpired: t.arg.boolean({ defaultValue: true }) },
    resolve: (ns, args, ctx) => {
      let query = ctx.app.db
        .selectFrom('tokens')
        .selectAll()
        .where('kind', '=', 'API')
        .where('namespace_id', '=', ns.id)
        .where('revoked_at', 'is', null);
      if (args.includeExpired === false) {
        const now = ctx.app.now().toISOString();
        query = query.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
      }
      return paginate(args, query, 'name');
    },
  }, ApiTokenConnection),
  apiToken: t.field({
    type: ApiTokenRef,
    nullable: true,
    authScopes: scopesFor('Namespace.read', (_args, ns: { id: string }) => ({ id: ns.id })),
    args: { name: t.arg.string({ required: true }) },
    resolve: async (ns, { name }, ctx) =>
      (await ctx.app.db
        .selectFrom('tokens')
        .selectAll()
        .where('kind', '=', 'API')
        .where('namespace_id', '=', ns.id)
        .where('name', '=', name)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()) ?? null,
  }),
}));

// ---------------------------------------------------------------- mutations

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    role: t.field({ type: RoleEnum, required: true }),
    expiresAt: t.field({
      type: 'DateTime',
      description:
        'Absolute expiry. Give at most one of expiresAt and expiresInDays; none means no expiry unless the instance sets a maximum lifetime.',
    }),
    expiresInDays: t.int({ description: EXPIRES_IN_DAYS }),
    enabled: t.boolean({ defaultValue: true }),
  }),
});
const UpdateApiTokenInput = builder.inputType('UpdateApiTokenInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    enabled: t.boolean(),
    role: t.field({ type: RoleEnum }),
    expiresAt: t.field({ type: 'DateTime' }),
    clearExpiry: t.boolean({ description: 'Remove the expiry (refused when the instance sets a maximum lifetime).' }),
  }),
});
const EXPIRES_AT = 'Absolute expiry. Give at most one of expiresAt and expiresInDays.';
const EXPIRES_IN_DAYS = 'Expiry in whole days from now (1-3650), e.g. 7, 30, 60 or 90.';
const GRACE_PERIOD = 'Keep the previous secret working for this many seconds (0 to 86400). Default 0: it stops at once.';
const RegenerateApiTokenInput = builder.inputType('RegenerateApiTokenInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    expiresAt: t.field({ type: 'DateTime', description: EXPIRES_AT }),
    expiresInDays: t.int({ description: EXPIRES_IN_DAYS }),
    gracePeriodSeconds: t.int({ defaultValue: 0, description: GRACE_PERIOD }),
  }),
});
const RevokeApiTokenInput = builder.inputType('RevokeApiTokenInput', {
  fields: (t) => ({ namespace: t.string({ required: true }), name: t.string({ required: true }) }),
});
const CreatePersonalAccessTokenInput = builder.inputType('CreatePersonalAccessTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    maxRole: t.field({ type: RoleEnum, defaultValue: 'OWNER' }),
    admin: t.boolean({ defaultValue: false }),
    expiresAt: t.field({ type: 'DateTime', description: EXPIRES_AT }),
    expiresInDays: t.int({ description: EXPIRES_IN_DAYS }),
  }),
});
const UpdatePersonalAccessTokenInput = builder.inputType('UpdatePersonalAccessTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    enabled: t.boolean(),
    expiresAt: t.field({ type: 'DateTime' }),
    clearExpiry: t.boolean(),
  }),
});
const RegeneratePersonalAccessTokenInput = builder.inputType('RegeneratePersonalAccessTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    expiresAt: t.field({ type: 'DateTime', description: EXPIRES_AT }),
    expiresInDays: t.int({ description: EXPIRES_IN_DAYS }),
    gracePeriodSeconds: t.int({ defaultValue: 0, description: GRACE_PERIOD }),
  }),
});
const RevokePersonalAccessTokenInput = builder.inputType('RevokePersonalAccessTokenInput', {
  fields: (t) => ({ name: t.string({ required: true }) }),
});

const ApiTokenSecretPayload = builder.objectRef<{ token: TokenRow; secret: string }>('ApiTokenSecretPayload').implement({
  fields: (t) => ({
    apiToken: t.field({ type: ApiTokenRef, resolve: (p) => p.token }),
    secret: t.exposeString('secret', {
      description: 'The token secret (sgt_...). Shown only in this response; it cannot be retrieved again.',
    }),
  }),
});
const PersonalAccessTokenSecretPayload = builder
  .objectRef<{ token: TokenRow; secret: string }>('PersonalAccessTokenSecretPayload')
  .implement({
    fields: (t) => ({
      personalAccessToken: t.field({ type: PersonalAccessTokenRef, resolve: (p) => p.token }),
      secret: t.exposeString('secret', { description: 'The token secret (sgp_...). Shown only in this response.' }),
    }),
  });

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: ApiTokenSecretPayload,
    description: 'Owners only. The role may not exceed the caller\'s own role. The secret is in the payload, once.',
    authScopes: scopesFor('Mutation.createApiToken', inputNamespace),
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => createApiToken(ctx, input),
  }),
  updateApiToken: t.field({
    type: ApiTokenRef,
    description: 'Owners only: description, enabled, expiry, role.',
    authScopes: scopesFor('Mutation.updateApiToken', inputNamespace),
    args: { input: t.arg({ type: UpdateApiTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateApiToken(ctx, input),
  }),
  regenerateApiToken: t.field({
    type: ApiTokenSecretPayload,
    description: 'Owners only. Issues a new secret; the old one stops working at once (or after gracePeriodSeconds).',
    authScopes: scopesFor('Mutation.regenerateApiToken', inputNamespace),
    args: { input: t.arg({ type: RegenerateApiTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => regenerateApiToken(ctx, input),
  }),
  revokeApiToken: t.field({
    type: DeletePayload,
    description: 'Owners only. The token stops working at once.',
    authScopes: scopesFor('Mutation.revokeApiToken', inputNamespace),
    args: { input: t.arg({ type: RevokeApiTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await revokeApiToken(ctx, input) }),
  }),
  createPersonalAccessToken: t.field({
    type: PersonalAccessTokenSecretPayload,
    authScopes: scopesFor('Mutation.createPersonalAccessToken'),
    args: { input: t.arg({ type: CreatePersonalAccessTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => createPersonalAccessToken(ctx, input),
  }),
  updatePersonalAccessToken: t.field({
    type: PersonalAccessTokenRef,
    authScopes: scopesFor('Mutation.updatePersonalAccessToken'),
    args: { input: t.arg({ type: UpdatePersonalAccessTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => updatePersonalAccessToken(ctx, input),
  }),
  regeneratePersonalAccessToken: t.field({
    type: PersonalAccessTokenSecretPayload,
    authScopes: scopesFor('Mutation.regeneratePersonalAccessToken'),
    args: { input: t.arg({ type: RegeneratePersonalAccessTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => regeneratePersonalAccessToken(ctx, input),
  }),
  revokePersonalAccessToken: t.field({
    type: DeletePayload,
    authScopes: scopesFor('Mutation.revokePersonalAccessToken'),
    args: { input: t.arg({ type: RevokePersonalAccessTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await revokePersonalAccessToken(ctx, input) }),
  }),
}));
