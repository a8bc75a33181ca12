import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import type { App, Context } from '../context.js';
import { principalOf } from '../context.js';
import { auditActionOf, isUserPrincipal, passwordRule, type Principal } from '../policy.js';
import { type Executor, isUniqueViolation } from '../store/db.js';
import type { UserRow } from '../store/loaders.js';
import { actorOf, appendAudit, logAudit } from './audit.js';
import { badInput, conflict, DomainError, forbidden, notFound } from './errors.js';
import { mutate } from './mutation.js';
import { newToken } from './new-token.js';
import { endOldestSessions } from './quotas.js';
import { displayNameSchema, parseInput, passwordSchema, usernameSchema } from './validation.js';

const userTarget = (username: string) => `users/${username}`;

export async function userNamed(trx: Executor, username: string): Promise<UserRow> {
  const user = await trx.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  if (!user) throw notFound(`user "${username}"`);
  return user;
}

async function activeAdminCount(trx: Executor): Promise<number> {
  const { count } = await trx
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('is_admin', '=', 1)
    .where('disabled', '=', 0)
    .executeTakeFirstOrThrow();
  return Number(count);
}

async function insertUser(trx: Executor, app: App, fields: { username: string; displayName?: string | null; password?: string; isAdmin: boolean }) {
  const now = app.now().toISOString();
  const user: UserRow = {
    id: randomUUID(),
    username: fields.username,
    display_name: fields.displayName ?? null,
    password_hash: fields.password ? await hashPassword(fields.password) : null,
    is_admin: fields.isAdmin ? 1 : 0,
    disabled: 0,
    created_at: now,
    updated_at: now,
  };
  try {
    await trx.insertInto('users').values(user).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`user "${fields.username}" already exists`);
    throw err;
  }
  return user;
}

const createUserSchema = z.object({
  username: usernameSchema,
  displayName: displayNameSchema.nullish(),
  password: passwordSchema,
  isAdmin: z.boolean().nullish(),
});

export async function createUser(ctx: Context, input: z.input<typeof createUserSchema>): Promise<UserRow> {
  return mutate(ctx, { operation: 'createUser', target: userTarget(input.username) }, async ({ trx, note }) => {
    const fields = parseInput(createUserSchema, input);
    note({ isAdmin: Boolean(fields.isAdmin) });
    return insertUser(trx, ctx.app, { ...fields, isAdmin: Boolean(fields.isAdmin) });
  });
}

export async function updateUser(
  ctx: Context,
  input: { username: string; displayName?: string | null; isAdmin?: boolean | null; disabled?: boolean | null },
): Promise<UserRow> {
  const user = await mutate(ctx, { operation: 'updateUser', target: userTarget(input.username) }, async ({ trx, note }) => {
    const current = await userNamed(trx, input.username);
    const patch: Partial<UserRow> = {};
    if (input.displayName !== undefined) {
      patch.display_name = input.displayName === null ? null : parseInput(displayNameSchema, input.displayName, 'input.displayName');
    }
    if (input.isAdmin != null) patch.is_admin = input.isAdmin ? 1 : 0;
    if (input.disabled != null) patch.disabled = input.disabled ? 1 : 0;
    const losesAdmin = current.is_admin === 1 && current.disabled === 0 && (patch.is_admin === 0 || patch.disabled === 1);
    if (losesAdmin && (await activeAdminCount(trx)) === 1) {
      throw conflict(`${current.username} is the last active administrator: make another user administrator first`);
    }
    note({ changed: Object.keys(patch), ...(input.isAdmin != null ? { isAdmin: input.isAdmin } : {}), ...(input.disabled != null ? { disabled: input.disabled } : {}) });
    const updated = { ...current, ...patch, updated_at: ctx.app.now().toISOString() };
    await trx.updateTable('users').set({ ...patch, updated_at: updated.updated_at }).where('id', '=', current.id).execute();
    return updated;
  });
  ctx.app.verifier.invalidateUser(user.id);
  return user;
}

/** Who may set which password is policy.passwordRule: one's own with the current one; anyone's for an uncapped administrator. */
export async function setPassword(ctx: Context, input: { username?: string | null; currentPassword?: string | null; newPassword: string }) {
  const p = principalOf(ctx);
  const username = input.username ?? (isUserPrincipal(p) ? p.username : '');
  const userId = await mutate(ctx, { operation: 'setPassword', target: userTarget(username) }, async ({ trx, note }) => {
    // Before the lookup, so that a refused caller learns nothing about which users exist.
    const rule = passwordRule(p, username);
    if (!rule.allowed) throw forbidden(rule.reason);
    const newPassword = parseInput(passwordSchema, input.newPassword, 'input.newPassword');
    const user = await userNamed(trx, username);
    if (rule.own && user.password_hash !== null && !(await verifyPassword(input.currentPassword ?? '', user.password_hash))) {
      throw badInput('input.currentPassword', 'does not match your current password');
    }
    const now = ctx.app.now().toISOString();
    await trx.updateTable('users').set({ password_hash: await hashPassword(newPassword), updated_at: now }).where('id', '=', user.id).execute();
    // A new password ends every other session of that user.
    const ended = await trx
      .updateTable('tokens')
      .set({ revoked_at: now, updated_at: now })
      .where('user_id', '=', user.id)
      .where('kind', '=', 'SESSION')
      .where('revoked_at', 'is', null)
      .where('id', '!=', p.tokenId)
      .executeTakeFirst();
    note({ endedSessions: Number(ended.numUpdatedRows) });
    return user.id;
  });
  ctx.app.verifier.invalidateUser(userId);
  return true;
}

// ---------------------------------------------------------------- sessions

const loginSchema = z.object({ username: z.string().max(100, 'must be at most 100 characters'), password: z.string().max(1024, 'must be at most 1024 characters') });

export async function login(ctx: Context, input: { username: string; password: string }) {
  const { app } = ctx;
  const fields = parseInput(loginSchema, input);
  const scope = { operation: 'login', target: userTarget(fields.username) } as const;
  try {
    await app.loginThrottle.attempt(fields.username, ctx.ipAddress);
  } catch (err) {
    await app.authFailures.record(ctx, { action: 'auth.login', reason: 'rate limited', target: scope.target });
    throw err;
  }
  const user = await app.db.selectFrom('users').selectAll().where('username', '=', fields.username).executeTakeFirst();
  const ok = await verifyPassword(fields.password, user?.password_hash ?? null);
  if (!user || !ok || user.disabled) {
    const err = new DomainError('UNAUTHENTICATED', user?.disabled && ok ? 'this account is disabled' : 'invalid username or password');
    // Folded like token failures, so that password guessing cannot flood the trail.
    await app.authFailures.record(ctx, { action: 'auth.login', reason: err.message, target: scope.target });
    throw err;
  }
  await app.loginThrottle.succeeded(fields.username, ctx.ipAddress);
  const now = app.now();
  const expiresAt = new Date(now.getTime() + app.config.SCOPEGATE_SESSION_TTL_HOURS * 3_600_000).toISOString();
  const { row: session, secret } = newToken('SESSION', now, { user_id: user.id, created_by: user.id, expires_at: expiresAt });
  const { record, ended } = await app.db.transaction().execute(async (trx) => {
    const ended = await endOldestSessions(ctx, trx, { id: user.id, isAdmin: Boolean(user.is_admin) });
    await trx.insertInto('tokens').values(session).execute();
    const actor = { kind: 'USER_SESSION' as const, name: `user:${user.username}` };
    const details = { hint: session.secret_hint, ...(ended.length ? { endedSessions: ended.length } : {}) };
    const entry = { action: auditActionOf('login'), target: scope.target, outcome: 'SUCCESS' as const, details };
    return { record: await appendAudit(trx, app.dialect, ctx, actor, entry, now, app.keyring), ended };
  });
  for (const id of ended) app.verifier.invalidateToken(id);
  logAudit(ctx.log, record);
  const principal: Principal = { kind: 'USER_SESSION', tokenId: session.id, userId: user.id, username: user.username, isAdmin: Boolean(user.is_admin), expiresAt };
  return { token: secret, expiresAt, user, principal };
}

export async function logout(ctx: Context): Promise<boolean> {
  const p = principalOf(ctx);
  await mutate(ctx, { operation: 'logout', target: isUserPrincipal(p) ? userTarget(p.username) : null }, async ({ trx }) => {
    if (p.kind !== 'USER_SESSION') {
      throw badInput('logout', `ends a session token; this request used ${p.kind === 'API_TOKEN' ? 'an API token (see revokeApiToken)' : 'a personal access token (see revokePersonalAccessToken)'}`);
    }
    const now = ctx.app.now().toISOString();
    await trx.updateTable('tokens').set({ revoked_at: now, updated_at: now }).where('id', '=', p.tokenId).execute();
  });
  ctx.app.verifier.invalidateToken(p.tokenId);
  return true;
}

// ---------------------------------------------------------------- first start

/**
 * On an empty database: the administrator `admin` and a personal access token for it,
 * returned once so the caller can print it. SCOPEGATE_ADMIN_PASSWORD, when set, is
 * admin's password so that `login` works from the first start.
 */
export async function bootstrapAdmin(app: App): Promise<{ username: string; secret: string } | null> {
  const created = await app.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (existing) return null;
    const password = app.config.SCOPEGATE_ADMIN_PASSWORD;
    const admin = await insertUser(trx, app, { username: 'admin', displayName: 'Administrator', password, isAdmin: true });
    const now = app.now();
    const maxDays = app.config.SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS;
    const { row, secret } = newToken('PERSONAL', now, {
      name: 'bootstrap',
      description: 'Created on first start',
      user_id: admin.id,
      created_by: admin.id,
      role: 'OWNER',
      admin: 1,
      expires_at: maxDays ? new Date(now.getTime() + maxDays * 86_400_000).toISOString() : null,
    });
    await trx.insertInto('tokens').values(row).execute();
    const meta = { requestId: 'startup', ipAddress: null, userAgent: null };
    const entry = { action: 'instance.bootstrap', outcome: 'SUCCESS' as const, target: userTarget('admin') };
    const record = await appendAudit(trx, app.dialect, meta, actorOf(null), entry, now, app.keyring);
    return { username: admin.username, secret, record };
  });
  if (!created) return null;
  logAudit(app.log, created.record);
  return { username: created.username, secret: created.secret };
}
