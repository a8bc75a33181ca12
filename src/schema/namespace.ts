import type { Context } from '../context.js';
import { createNamespace, deleteNamespace, updateNamespace } from '../domain/namespaces.js';
import type { NamespaceRow } from '../store/loaders.js';
import { visibleNamespaces } from '../policy.js';
import { inVisibleNamespaces } from '../store/visibility.js';
import { scopesFor } from './auth.js';
import { builder } from './builder.js';
import { paginate } from './pagination.js';
import { DeletePayload, RoleEnum } from './scalars.js';

export const NamespaceRef = builder.objectRef<NamespaceRow>('Namespace');
export const NamespaceConnection = builder.connectionObject({ type: NamespaceRef, name: 'NamespaceConnection' }, { name: 'NamespaceEdge' });

/** Namespaces the caller has a role in, by id; the rest are left out (they do not exist for it). */
async function loadVisibleNamespaces(ids: string[], ctx: Context): Promise<(NamespaceRow | null)[]> {
  const rows = await ctx.loaders.namespaceById.loadMany(ids);
  return Promise.all(rows.map(async (row) => (row && !(row instanceof Error) && (await ctx.loaders.roleIn(row.id)) ? row : null)));
}

builder.node(NamespaceRef, {
  id: { resolve: (ns) => ns.id },
  loadMany: loadVisibleNamespaces,
  authScopes: (ns) => ({ namespace: { id: ns.id, role: 'VIEWER' } }),
  fields: (t) => ({
    name: t.exposeString('name'),
    displayName: t.string({ nullable: true, resolve: (ns) => ns.display_name }),
    description: t.exposeString('description', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (ns) => ns.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (ns) => ns.updated_at }),
    viewerRole: t.field({
      type: RoleEnum,
      description: "The caller's effective role here.",
      resolve: async (ns, _args, ctx) => (await ctx.loaders.roleIn(ns.id))!,
    }),
  }),
});

builder.queryFields((t) => ({
  namespace: t.field({
    type: NamespaceRef,
    nullable: true,
    description: 'Null when it does not exist or the caller has no role in it.',
    authScopes: scopesFor('Query.namespace'),
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, { name }, ctx) => {
      const ns = await ctx.loaders.namespaceByName.load(name);
      return ns && (await ctx.loaders.roleIn(ns.id)) ? ns : null;
    },
  }),
  namespaces: t.connection({
    type: NamespaceRef,
    description: 'The namespaces the caller has a role in (every namespace for administrators).',
    authScopes: scopesFor('Query.namespaces'),
    resolve: (_root, args, ctx) => {
      const query = inVisibleNamespaces(ctx.app.db.selectFrom('namespaces as n').selectAll('n'), 'n.id', visibleNamespaces(ctx.principal!));
      return paginate(args, query, 'n.name');
    },
  }, NamespaceConnection),
}));

const NamespaceInput = (name: string) =>
  builder.inputType(name, {
    fields: (t) => ({
      name: t.string({ required: true }),
      displayName: t.string(),
      description: t.string(),
    }),
  });

const CreateNamespaceInput = NamespaceInput('CreateNamespaceInput');
const UpdateNamespaceInput = NamespaceInput('UpdateNamespaceInput');
const DeleteNamespaceInput = builder.inputType('DeleteNamespaceInput', { fields: (t) => ({ name: t.string({ required: true }) }) });

builder.mutationFields((t) => ({
  createNamespace: t.field({
    type: NamespaceRef,
    description: 'Any user may create a namespace and becomes its owner.',
    authScopes: scopesFor('Mutation.createNamespace'),
    args: { input: t.arg({ type: CreateNamespaceInput, required: true }) },
    resolve: (_root, { input }, ctx) => createNamespace(ctx, input),
  }),
  updateNamespace: t.field({
    type: NamespaceRef,
    description: 'Owners only.',
    authScopes: scopesFor('Mutation.updateNamespace', ({ input }) => ({ name: input.name })),
    args: { input: t.arg({ type: UpdateNamespaceInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateNamespace(ctx, input),
  }),
  deleteNamespace: t.field({
    type: DeletePayload,
    description: 'Owners only. Deletes its tokens, credentials and registries; the audit trail stays.',
    authScopes: scopesFor('Mutation.deleteNamespace', ({ input }) => ({ name: input.name })),
    args: { input: t.arg({ type: DeleteNamespaceInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await deleteNamespace(ctx, input) }),
  }),
}));
