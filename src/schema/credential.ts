import { encodeGlobalID } from '@pothos/plugin-relay';
import type { CredentialTypeName } from '../../db/types.js';
import type { Context } from '../context.js';
import {
  createCredential,
  createSshKeyCredential,
  credentialResourceName,
  type CredentialRow,
  deleteCredential,
  publicFieldsOf,
  revealCredentialSecret,
  updateCredential,
  validateCredential,
} from '../domain/credentials.js';
import { inputNamespace, scopesFor } from './auth.js';
import { builder } from './builder.js';
import { NamespaceRef } from './namespace.js';
import { paginate } from './pagination.js';
import { DeletePayload } from './scalars.js';
import { UserRef } from './user.js';

export const CredentialTypeEnum = builder.enumType('CredentialType', {
  values: ['REGISTRY', 'GIT', 'HETZNER', 'OVH', 'SSH_KEY'] as const,
});
const ValidationStatusEnum = builder.enumType('CredentialValidationStatus', {
  values: ['UNCHECKED', 'VALID', 'INVALID', 'UNREACHABLE'] as const,
});
const GitProviderEnum = builder.enumType('GitProvider', { values: ['GITHUB', 'GITLAB', 'BITBUCKET', 'GENERIC'] as const });
const OvhEndpointEnum = builder.enumType('OvhEndpoint', { values: ['OVH_EU', 'OVH_CA', 'OVH_US'] as const });

const TYPE_NAMES: Record<CredentialTypeName, string> = {
  REGISTRY: 'RegistryCredential',
  GIT: 'GitCredential',
  HETZNER: 'HetznerCredential',
  OVH: 'OvhCredential',
  SSH_KEY: 'SshKeyCredential',
};

const namespaceOf = async (row: CredentialRow, ctx: Context) => (await ctx.loaders.namespaceById.load(row.namespace_id))!;

export const CredentialRef = builder.interfaceRef<CredentialRow>('Credential').implement({
  description: 'Secrets of a credential are encrypted at rest and never part of this type.',
  resolveType: (row) => TYPE_NAMES[row.type],
  fields: (t) => ({
    id: t.id({ resolve: (row) => encodeGlobalID(TYPE_NAMES[row.type], row.id) }),
    name: t.exposeString('name'),
    resourceName: t.string({
      description: 'namespaces/{namespace}/credentials/{name}',
      resolve: async (row, _args, ctx) => credentialResourceName((await namespaceOf(row, ctx)).name, row.name),
    }),
    type: t.field({ type: CredentialTypeEnum, resolve: (row) => row.type }),
    namespace: t.field({ type: NamespaceRef, resolve: (row, _args, ctx) => namespaceOf(row, ctx) }),
    description: t.exposeString('description', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (row) => row.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (row) => row.updated_at }),
    createdBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who created it; null when that user is gone or not visible to you (as node(id) would read).',
      resolve: (row, _args, ctx) => (row.created_by ? ctx.loaders.visibleUserById.load(row.created_by) : null),
    }),
    validationStatus: t.field({ type: ValidationStatusEnum, resolve: (row) => row.validation_status }),
    validationMessage: t.exposeString('validation_message', { nullable: true }),
    lastValidatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (row) => row.last_validated_at }),
  }),
});

/** Credentials the caller may see: those of namespaces it has a role in. */
async function visibleCredentials(ids: string[], ctx: Context, type: CredentialTypeName) {
  const rows = await ctx.loaders.credentialById.loadMany(ids);
  return Promise.all(
    rows.map(async (row) => (row && !(row instanceof Error) && row.type === type && (await ctx.loaders.roleIn(row.namespace_id)) ? row : null)),
  );
}

/** One object type per credential type; the shared fields come from the interface. */
function credentialNode<T extends CredentialTypeName>(type: T, description: string, fields: Parameters<typeof builder.node>[1]['fields']) {
  const ref = builder.objectRef<CredentialRow>(TYPE_NAMES[type]);
  builder.node(ref, {
    description,
    interfaces: [CredentialRef],
    id: { resolve: (row) => row.id },
    loadMany: (ids, ctx) => visibleCredentials(ids, ctx, type),
    isTypeOf: (row) => (row as CredentialRow).type === type,
    authScopes: (row) => ({ namespace: { id: row.namespace_id, role: 'VIEWER' } }),
    fields,
  });
  return ref;
}

const pub = (row: CredentialRow) => publicFieldsOf(row);

export const RegistryCredentialRef = credentialNode(
  'REGISTRY',
  'Username and password or access token for a Helm chart registry (HTTP or OCI).',
  (t) => ({ username: t.string({ resolve: (row: CredentialRow) => pub(row).username }) }),
);
const GitCredentialRef = credentialNode('GIT', 'A token for a Git provider.', (t) => ({
  provider: t.field({ type: GitProviderEnum, resolve: (row: CredentialRow) => pub(row).provider }),
  host: t.string({
    nullable: true,
    description: 'Host for self-hosted providers, e.g. gitlab.example.com; null for the public service.',
    resolve: (row: CredentialRow) => pub(row).host ?? null,
  }),
  username: t.string({ nullable: true, resolve: (row: CredentialRow) => pub(row).username ?? null }),
}));
const HetznerCredentialRef = credentialNode('HETZNER', 'A Hetzner Cloud API token.', () => ({}));
const OvhCredentialRef = credentialNode('OVH', 'OVH API keys for a Public Cloud project.', (t) => ({
  projectId: t.string({ resolve: (row: CredentialRow) => pub(row).projectId }),
  endpoint: t.field({ type: OvhEndpointEnum, resolve: (row: CredentialRow) => pub(row).endpoint }),
  applicationKey: t.string({ resolve: (row: CredentialRow) => pub(row).applicationKey }),
}));
const SshKeyCredentialRef = credentialNode('SSH_KEY', 'An SSH public key; a generated private key is returned once and never kept.', (t) => ({
  publicKey: t.string({ description: 'OpenSSH authorized_keys form, e.g. ssh-ed25519 AAAA... comment', resolve: (row: CredentialRow) => pub(row).publicKey }),
  fingerprint: t.string({ description: 'As ssh-keygen -l prints it: SHA256:base64-without-padding', resolve: (row: CredentialRow) => pub(row).fingerprint }),
  keyType: t.string({ description: 'ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...', resolve: (row: CredentialRow) => pub(row).keyType }),
  generated: t.boolean({
    description: 'True when the server generated the keypair (its private key was returned once and not kept).',
    resolve: (row: CredentialRow) => pub(row).generated,
  }),
}));

const CredentialConnection = builder.connectionObject({ type: CredentialRef, name: 'CredentialConnection' }, { name: 'CredentialEdge' });

builder.objectFields(NamespaceRef, (t) => ({
  credentials: t.connection(
    {
      type: CredentialRef,
      authScopes: scopesFor('Namespace.read', (_args, ns: { id: string }) => ({ id: ns.id })),
      args: { type: t.arg({ type: CredentialTypeEnum }) },
      resolve: (ns, args, ctx) => {
        let query = ctx.app.db.selectFrom('credentials').selectAll().where('namespace_id', '=', ns.id);
        if (args.type) query = query.where('type', '=', args.type);
        return paginate(args, query, 'name');
      },
    },
    CredentialConnection,
  ),
  credential: t.field({
    type: CredentialRef,
    nullable: true,
    authScopes: scopesFor('Namespace.read', (_args, ns: { id: string }) => ({ id: ns.id })),
    args: { name: t.arg.string({ required: true }) },
    resolve: async (ns, { name }, ctx) =>
      (await ctx.app.db.selectFrom('credentials').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst()) ?? null,
  }),
}));

// ---------------------------------------------------------------- mutations

const SKIP_VALIDATION = 'Store without asking the provider (offline use); the credential stays UNCHECKED.';

const CreateRegistryCredentialInput = builder.inputType('CreateRegistryCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    username: t.string({ required: true }),
    password: t.string({ required: true, description: 'Password or access token; a whole JSON key file for Google Artifact Registry (_json_key).' }),
  }),
});
const UpdateRegistryCredentialInput = builder.inputType('UpdateRegistryCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    username: t.string(),
    password: t.string(),
    skipValidation: t.boolean({ defaultValue: false, description: 'A changed secret is checked through every registry that uses it, unless this is set.' }),
  }),
});
const CreateGitCredentialInput = builder.inputType('CreateGitCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    provider: t.field({ type: GitProviderEnum, required: true }),
    host: t.string(),
    username: t.string(),
    token: t.string({ required: true }),
    skipValidation: t.boolean({ defaultValue: false, description: SKIP_VALIDATION }),
  }),
});
const UpdateGitCredentialInput = builder.inputType('UpdateGitCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    username: t.string(),
    token: t.string(),
    skipValidation: t.boolean({ defaultValue: false, description: SKIP_VALIDATION }),
  }),
});
const CreateHetznerCredentialInput = builder.inputType('CreateHetznerCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    apiToken: t.string({ required: true }),
    skipValidation: t.boolean({ defaultValue: false, description: SKIP_VALIDATION }),
  }),
});
const UpdateHetznerCredentialInput = builder.inputType('UpdateHetznerCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    apiToken: t.string(),
    skipValidation: t.boolean({ defaultValue: false, description: SKIP_VALIDATION }),
  }),
});
const CreateOvhCredentialInput = builder.inputType('CreateOvhCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    projectId: t.string({ required: true }),
    endpoint: t.field({ type: OvhEndpointEnum, defaultValue: 'OVH_EU' }),
    applicationKey: t.string({ required: true }),
    applicationSecret: t.string({ required: true }),
    consumerKey: t.string({ required: true }),
    skipValidation: t.boolean({ defaultValue: false, description: SKIP_VALIDATION }),
  }),
});
const UpdateOvhCredentialInput = builder.inputType('UpdateOvhCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    projectId: t.string(),
    applicationKey: t.string(),
    applicationSecret: t.string(),
    consumerKey: t.string(),
    skipValidation: t.boolean({ defaultValue: false, description: SKIP_VALIDATION }),
  }),
});
const CreateSshKeyCredentialInput = builder.inputType('CreateSshKeyCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    publicKey: t.string({ description: 'Give publicKey, or generate: true — not both.' }),
    generate: t.boolean({ defaultValue: false }),
  }),
});
const DeleteCredentialInput = builder.inputType('DeleteCredentialInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    force: t.boolean({ defaultValue: false, description: 'Delete even while registries use it; they lose their credential.' }),
  }),
});
const CredentialRefInput = builder.inputType('CredentialRefInput', {
  fields: (t) => ({ namespace: t.string({ required: true }), name: t.string({ required: true }) }),
});

const SshKeyCredentialPayload = builder.objectRef<{ credential: CredentialRow; privateKey: string | null }>('SshKeyCredentialPayload').implement({
  fields: (t) => ({
    credential: t.field({ type: SshKeyCredentialRef, resolve: (p) => p.credential }),
    privateKey: t.exposeString('privateKey', {
      nullable: true,
      description: 'OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----) when generated; returned only here, never stored.',
    }),
  }),
});
const SecretField = builder.objectRef<{ name: string; value: string }>('SecretField').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeString('value') }),
});
const CredentialSecret = builder.objectRef<{ credential: CredentialRow; fields: { name: string; value: string }[] }>('CredentialSecret').implement({
  fields: (t) => ({
    credential: t.field({ type: CredentialRef, resolve: (p) => p.credential }),
    fields: t.field({ type: [SecretField], resolve: (p) => p.fields }),
  }),
});

builder.mutationFields((t) => ({
  createRegistryCredential: t.field({
    type: RegistryCredentialRef,
    description: 'Editors and owners. Credential mutations validate against the provider unless skipValidation.',
    authScopes: scopesFor('Mutation.createRegistryCredential', inputNamespace),
    args: { input: t.arg({ type: CreateRegistryCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => createCredential(ctx, 'REGISTRY', input),
  }),
  updateRegistryCredential: t.field({
    type: RegistryCredentialRef,
    description: 'Editors and owners. Applies to every registry that uses the credential.',
    authScopes: scopesFor('Mutation.updateRegistryCredential', inputNamespace),
    args: { input: t.arg({ type: UpdateRegistryCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateCredential(ctx, 'REGISTRY', input),
  }),
  createGitCredential: t.field({
    type: GitCredentialRef,
    description: 'Editors and owners. GitHub and GitLab tokens are checked against the current-user API unless skipValidation.',
    authScopes: scopesFor('Mutation.createGitCredential', inputNamespace),
    args: { input: t.arg({ type: CreateGitCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => createCredential(ctx, 'GIT', input),
  }),
  updateGitCredential: t.field({
    type: GitCredentialRef,
    authScopes: scopesFor('Mutation.updateGitCredential', inputNamespace),
    args: { input: t.arg({ type: UpdateGitCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateCredential(ctx, 'GIT', input),
  }),
  createHetznerCredential: t.field({
    type: HetznerCredentialRef,
    description: 'Validated against the Hetzner API on creation unless skipValidation.',
    authScopes: scopesFor('Mutation.createHetznerCredential', inputNamespace),
    args: { input: t.arg({ type: CreateHetznerCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => createCredential(ctx, 'HETZNER', input),
  }),
  updateHetznerCredential: t.field({
    type: HetznerCredentialRef,
    authScopes: scopesFor('Mutation.updateHetznerCredential', inputNamespace),
    args: { input: t.arg({ type: UpdateHetznerCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateCredential(ctx, 'HETZNER', input),
  }),
  createOvhCredential: t.field({
    type: OvhCredentialRef,
    description: 'Validated against the OVH API on creation unless skipValidation.',
    authScopes: scopesFor('Mutation.createOvhCredential', inputNamespace),
    args: { input: t.arg({ type: CreateOvhCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => createCredential(ctx, 'OVH', input),
  }),
  updateOvhCredential: t.field({
    type: OvhCredentialRef,
    authScopes: scopesFor('Mutation.updateOvhCredential', inputNamespace),
    args: { input: t.arg({ type: UpdateOvhCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateCredential(ctx, 'OVH', input),
  }),
  createSshKeyCredential: t.field({
    type: SshKeyCredentialPayload,
    description: 'Bring your own public key, or generate an Ed25519 keypair whose private key is returned once.',
    authScopes: scopesFor('Mutation.createSshKeyCredential', inputNamespace),
    args: { input: t.arg({ type: CreateSshKeyCredentialInput, required: true }) },
    resolve: (_root, { input }, ctx) => createSshKeyCredential(ctx, input),
  }),
  deleteCredential: t.field({
    type: DeletePayload,
    description: 'Editors and owners. Refused with CREDENTIAL_IN_USE while registries use it, unless force.',
    authScopes: scopesFor('Mutation.deleteCredential', inputNamespace),
    args: { input: t.arg({ type: DeleteCredentialInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await deleteCredential(ctx, input) }),
  }),
  validateCredential: t.field({
    type: CredentialRef,
    description: 'Editors and owners. Checks the stored secret against its provider now.',
    authScopes: scopesFor('Mutation.validateCredential', inputNamespace),
    args: { input: t.arg({ type: CredentialRefInput, required: true }) },
    resolve: (_root, { input }, ctx) => validateCredential(ctx, input),
  }),
  revealCredentialSecret: t.field({
    type: CredentialSecret,
    description: 'Editors and owners. Returns the decrypted secret fields; always audited.',
    authScopes: scopesFor('Mutation.revealCredentialSecret', inputNamespace),
    args: { input: t.arg({ type: CredentialRefInput, required: true }) },
    resolve: (_root, { input }, ctx) => revealCredentialSecret(ctx, input),
  }),
}));
