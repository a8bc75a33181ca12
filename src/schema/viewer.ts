import type { Principal } from '../policy.js';
import { scopesFor } from './auth.js';
import { builder } from './builder.js';
import { paginate } from './pagination.js';
import { PrincipalKindEnum, RoleEnum } from './scalars.js';
import { ApiTokenRef, PersonalAccessTokenConnection, PersonalAccessTokenRef } from './token.js';
import { UserRef } from './user.js';

const ViewerRef = builder.objectRef<Principal>('Viewer');

ViewerRef.implement({
  description: 'The authenticated principal: who am I, and what may I do.',
  authScopes: { principal: true },
  fields: (t) => ({
    kind: t.field({ type: PrincipalKindEnum, resolve: (p) => p.kind }),
    user: t.field({
      type: UserRef,
      nullable: true,
      description: 'Null when authenticated by a namespace API token.',
      resolve: (p, _args, ctx) => (p.kind === 'API_TOKEN' ? null : ctx.loaders.userById.load(p.userId)),
    }),
    apiToken: t.field({
      type: ApiTokenRef,
      nullable: true,
      description: 'Set when authenticated by a namespace API token.',
      resolve: (p, _args, ctx) => (p.kind === 'API_TOKEN' ? ctx.loaders.tokenById.load(p.tokenId) : null),
    }),
    personalAccessToken: t.field({
      type: PersonalAccessTokenRef,
      nullable: true,
      description: 'Set when authenticated by a personal access token.',
      resolve: (p, _args, ctx) => (p.kind === 'PERSONAL_ACCESS_TOKEN' ? ctx.loaders.tokenById.load(p.tokenId) : null),
    }),
    isAdmin: t.boolean({ resolve: (p) => p.kind !== 'API_TOKEN' && p.isAdmin }),
    roleIn: t.field({
      type: RoleEnum,
      nullable: true,
      description: 'The effective role of this principal in that namespace, null if none.',
      args: { namespace: t.arg.string({ required: true }) },
      resolve: async (_p, { namespace }, ctx) => {
        const ns = await ctx.loaders.namespaceByName.load(namespace);
        return ns ? ctx.loaders.roleIn(ns.id) : null;
      },
    }),
    personalAccessTokens: t.connection({
      type: PersonalAccessTokenRef,
      description: "The caller's own personal access tokens (user principals only).",
      resolve: (p, args, ctx) => {
        // A namespace API token has no personal tokens: an empty page, not an error.
        const userId = p.kind === 'API_TOKEN' ? '' : p.userId;
        const query = ctx.app.db
          .selectFrom('tokens')
          .selectAll()
          .where('kind', '=', 'PERSONAL')
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null);
        return paginate(args, query, 'name');
      },
    }, PersonalAccessTokenConnection),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'The authenticated principal: who am I, and what may I do.',
    authScopes: scopesFor('Query.viewer'),
    resolve: (_root, _args, ctx) => ctx.principal!,
  }),
);
