import { actAs } from '../context.js';
import { login, logout } from '../domain/users.js';
import type { UserRow } from '../store/loaders.js';
import { scopesFor } from './auth.js';
import { builder } from './builder.js';
import { UserRef } from './user.js';

const LoginInput = builder.inputType('LoginInput', {
  fields: (t) => ({ username: t.string({ required: true }), password: t.string({ required: true }) }),
});

const LoginPayload = builder.objectRef<{ token: string; expiresAt: string; user: UserRow }>('LoginPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Session token, shown once.' }),
    expiresAt: t.field({ type: 'DateTime', resolve: (p) => p.expiresAt }),
    // The user who just proved their password sees themselves.
    user: t.field({ type: UserRef, grantScopes: ['signedInUser'], resolve: (p) => p.user }),
  }),
});

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginPayload,
    description: 'The only operation an anonymous caller may run. Returns a session token (sgs_...).',
    // The one public field: Mutation's type scope (a principal) does not apply here.
    skipTypeScopes: true,
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const session = await login(ctx, input);
      actAs(ctx, session.principal);
      return session;
    },
  }),
  logout: t.boolean({
    description: 'Ends the current session token.',
    authScopes: scopesFor('Mutation.logout'),
    resolve: (_root, _args, ctx) => logout(ctx),
  }),
}));
