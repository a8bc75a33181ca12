import type { Context } from '../context.js';
import type { CredentialRow } from '../domain/credentials.js';
import { createRegistry, deleteRegistry, registryResourceName, type RegistryRow, updateRegistry } from '../domain/registries.js';
import { inputNamespace, scopesFor } from './auth.js';
import { builder } from './builder.js';
import { RegistryCredentialRef } from './credential.js';
import { NamespaceRef } from './namespace.js';
import { paginate, paginateLoaded } from './pagination.js';
import { DeletePayload } from './scalars.js';

const RegistryKindEnum = builder.enumType('RegistryKind', { values: ['HTTP', 'OCI'] as const });

export const RegistryRef = builder.objectRef<RegistryRow>('Registry');
const RegistryConnection = builder.connectionObject({ type: RegistryRef, name: 'RegistryConnection' }, { name: 'RegistryEdge' });

async function visibleRegistries(ids: string[], ctx: Context) {
  const rows = await ctx.loaders.registryById.loadMany(ids);
  return Promise.all(rows.map(async (row) => (row && !(row instanceof Error) && (await ctx.loaders.roleIn(row.namespace_id)) ? row : null)));
}

builder.node(RegistryRef, {
  description: 'A Helm chart repository; authenticates with a registry credential when one is set.',
  id: { resolve: (row) => row.id },
  loadMany: visibleRegistries,
  authScopes: (row) => ({ namespace: { id: row.namespace_id, role: 'VIEWER' } }),
  fields: (t) => ({
    name: t.exposeString('name'),
    resourceName: t.string({
      description: 'namespaces/{namespace}/registries/{name}',
      resolve: async (row, _args, ctx) => registryResourceName((await ctx.loaders.namespaceById.load(row.namespace_id))!.name, row.name),
    }),
    namespace: t.field({ type: NamespaceRef, resolve: async (row, _args, ctx) => (await ctx.loaders.namespaceById.load(row.namespace_id))! }),
    url: t.exposeString('url', { description: 'https://charts.example.com or oci://ghcr.io/org/charts' }),
    kind: t.field({ type: RegistryKindEnum, resolve: (row) => row.kind }),
    credential: t.field({
      type: RegistryCredentialRef,
      nullable: true,
      resolve: (row, _args, ctx) => (row.credential_id ? ctx.loaders.credentialById.load(row.credential_id) : null),
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (row) => row.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (row) => row.updated_at }),
  }),
});

builder.objectField(RegistryCredentialRef, 'registries', (t) =>
  t.connection(
    {
      type: RegistryRef,
      description: 'Registries that authenticate with this credential.',
      resolve: async (credential: CredentialRow, args, ctx) => paginateLoaded(args, await ctx.loaders.registriesByCredential.load(credential.id), 'name'),
    },
    RegistryConnection,
  ),
);

builder.objectFields(NamespaceRef, (t) => ({
  registries: t.connection(
    {
      type: RegistryRef,
      authScopes: scopesFor('Namespace.read', (_args, ns: { id: string }) => ({ id: ns.id })),
      resolve: (ns, args, ctx) => paginate(args, ctx.app.db.selectFrom('registries').selectAll().where('namespace_id', '=', ns.id), 'name'),
    },
    RegistryConnection,
  ),
  registry: t.field({
    type: RegistryRef,
    nullable: true,
    authScopes: scopesFor('Namespace.read', (_args, ns: { id: string }) => ({ id: ns.id })),
    args: { name: t.arg.string({ required: true }) },
    resolve: async (ns, { name }, ctx) =>
      (await ctx.app.db.selectFrom('registries').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst()) ?? null,
  }),
}));

const CreateRegistryInput = builder.inputType('CreateRegistryInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    url: t.string({ required: true, description: 'https://… for a Helm repository, oci://… for an OCI registry; the kind follows.' }),
    credential: t.string({ description: 'Name of a REGISTRY credential of the same namespace.' }),
  }),
});
const UpdateRegistryInput = builder.inputType('UpdateRegistryInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    url: t.string(),
    credential: t.string(),
    clearCredential: t.boolean(),
  }),
});
const DeleteRegistryInput = builder.inputType('DeleteRegistryInput', {
  fields: (t) => ({ namespace: t.string({ required: true }), name: t.string({ required: true }) }),
});

builder.mutationFields((t) => ({
  createRegistry: t.field({
    type: RegistryRef,
    description: 'Editors and owners.',
    authScopes: scopesFor('Mutation.createRegistry', inputNamespace),
    args: { input: t.arg({ type: CreateRegistryInput, required: true }) },
    resolve: (_root, { input }, ctx) => createRegistry(ctx, input),
  }),
  updateRegistry: t.field({
    type: RegistryRef,
    authScopes: scopesFor('Mutation.updateRegistry', inputNamespace),
    args: { input: t.arg({ type: UpdateRegistryInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateRegistry(ctx, input),
  }),
  deleteRegistry: t.field({
    type: DeletePayload,
    authScopes: scopesFor('Mutation.deleteRegistry', inputNamespace),
    args: { input: t.arg({ type: DeleteRegistryInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await deleteRegistry(ctx, input) }),
  }),
}));
