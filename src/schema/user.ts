import type { MembershipsTable } from '../../db/types.js';
import { setMemberRole, removeMember } from '../domain/namespaces.js';
import { createUser, setPassword, updateUser } from '../domain/users.js';
import type { UserRow } from '../store/loaders.js';
import { visibleNamespaces } from '../policy.js';
import { inVisibleNamespaces } from '../store/visibility.js';
import { scopesFor } from './auth.js';
import { builder } from './builder.js';
import { NamespaceRef } from './namespace.js';
import { paginate } from './pagination.js';
import { DeletePayload, RoleEnum } from './scalars.js';

export const UserRef = builder.objectRef<UserRow>('User');
type MembershipRow = MembershipsTable & { username?: string };
export const MembershipRef = builder.objectRef<MembershipRow>('Membership');
const UserConnection = builder.connectionObject({ type: UserRef, name: 'UserConnection' }, { name: 'UserEdge' });
const MembershipConnection = builder.connectionObject({ type: MembershipRef, name: 'MembershipConnection' }, { name: 'MembershipEdge' });

builder.node(UserRef, {
  id: { resolve: (u) => u.id },
  loadMany: (ids, ctx) => ids.map((id) => ctx.loaders.visibleUserById.load(id)),
  // Users are reached through fields that were authorized (members, creators, viewer) or node(),
  // which only loads visible ones; `login` grants its own user.
  authScopes: { $any: { principal: true, $granted: 'signedInUser' } },
  fields: (t) => ({
    username: t.exposeString('username'),
    displayName: t.string({ nullable: true, resolve: (u) => u.display_name }),
    isAdmin: t.boolean({ resolve: (u) => Boolean(u.is_admin) }),
    disabled: t.boolean({ resolve: (u) => Boolean(u.disabled) }),
    createdAt: t.field({ type: 'DateTime', resolve: (u) => u.created_at }),
    memberships: t.connection({
      type: MembershipRef,
      description: "The user's memberships in namespaces the caller can see.",
      resolve: (user, args, ctx) => {
        const query = inVisibleNamespaces(
          ctx.app.db
            .selectFrom('memberships as m')
            .innerJoin('namespaces as n', 'n.id', 'm.namespace_id')
            .selectAll('m')
            .select('n.name')
            .where('m.user_id', '=', user.id),
          'm.namespace_id',
          visibleNamespaces(ctx.principal!),
        );
        return paginate(args, query, 'n.name');
      },
    }, MembershipConnection),
  }),
});

MembershipRef.implement({
  authScopes: (m) => ({ namespace: { id: m.namespace_id, role: 'VIEWER' } }),
  fields: (t) => ({
    namespace: t.field({ type: NamespaceRef, resolve: async (m, _args, ctx) => (await ctx.loaders.namespaceById.load(m.namespace_id))! }),
    user: t.field({ type: UserRef, resolve: async (m, _args, ctx) => (await ctx.loaders.userById.load(m.user_id))! }),
    role: t.field({ type: RoleEnum, resolve: (m) => m.role }),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.created_at }),
  }),
});

builder.objectField(NamespaceRef, 'members', (t) =>
  t.connection({
    type: MembershipRef,
    authScopes: scopesFor('Namespace.read', (_args, ns: { id: string }) => ({ id: ns.id })),
    resolve: (ns, args, ctx) =>
      paginate(
        args,
        ctx.app.db
          .selectFrom('memberships as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .selectAll('m')
          .select('u.username')
          .where('m.namespace_id', '=', ns.id),
        'u.username',
      ),
  }, MembershipConnection),
);

builder.queryFields((t) => ({
  users: t.connection({
    type: UserRef,
    description: 'Administrators only.',
    authScopes: scopesFor('Query.users'),
    resolve: (_root, args, ctx) => paginate(args, ctx.app.db.selectFrom('users').selectAll(), 'username'),
  }, UserConnection),
  user: t.field({
    type: UserRef,
    nullable: true,
    description: 'Administrators only.',
    authScopes: scopesFor('Query.user'),
    args: { username: t.arg.string({ required: true }) },
    resolve: async (_root, { username }, ctx) =>
      (await ctx.app.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()) ?? null,
  }),
}));

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    username: t.string({ required: true }),
    displayName: t.string(),
    password: t.string({ required: true }),
    isAdmin: t.boolean({ defaultValue: false }),
  }),
});
const UpdateUserInput = builder.inputType('UpdateUserInput', {
  fields: (t) => ({
    username: t.string({ required: true }),
    displayName: t.string(),
    isAdmin: t.boolean(),
    disabled: t.boolean({ description: "Disabling ends the user's sessions and tokens at once." }),
  }),
});
const SetPasswordInput = builder.inputType('SetPasswordInput', {
  fields: (t) => ({
    username: t.string({ description: 'Whose password; yourself when omitted. Someone else: administrators only.' }),
    currentPassword: t.string({ description: 'Required when changing your own password.' }),
    newPassword: t.string({ required: true }),
  }),
});
const SetMemberRoleInput = builder.inputType('SetMemberRoleInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    username: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
  }),
});
const RemoveMemberInput = builder.inputType('RemoveMemberInput', {
  fields: (t) => ({ namespace: t.string({ required: true }), username: t.string({ required: true }) }),
});

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserRef,
    description: 'Administrators only.',
    authScopes: scopesFor('Mutation.createUser'),
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: (_root, { input }, ctx) => createUser(ctx, input),
  }),
  updateUser: t.field({
    type: UserRef,
    description: 'Administrators only.',
    authScopes: scopesFor('Mutation.updateUser'),
    args: { input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateUser(ctx, input),
  }),
  setPassword: t.boolean({
    description: "A user changes their own password (administrators may set anyone's). Ends the user's other sessions.",
    authScopes: scopesFor('Mutation.setPassword'),
    args: { input: t.arg({ type: SetPasswordInput, required: true }) },
    resolve: (_root, { input }, ctx) => setPassword(ctx, input),
  }),
  setMemberRole: t.field({
    type: MembershipRef,
    description: 'Owners only. Adds the user or changes their role; the last owner cannot be demoted.',
    authScopes: scopesFor('Mutation.setMemberRole', ({ input }) => ({ name: input.namespace })),
    args: { input: t.arg({ type: SetMemberRoleInput, required: true }) },
    resolve: (_root, { input }, ctx) => setMemberRole(ctx, input),
  }),
  removeMember: t.field({
    type: DeletePayload,
    description: 'Owners only. The last owner cannot be removed.',
    authScopes: scopesFor('Mutation.removeMember', ({ input }) => ({ name: input.namespace })),
    args: { input: t.arg({ type: RemoveMemberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deleted: await removeMember(ctx, input) }),
  }),
}));
