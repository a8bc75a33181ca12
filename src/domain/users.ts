import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import type { App, Context } from '../context.js';
import { principalOf } from '../context.js';
import { auditActionOf, isUserPrincipal, outlivedBy, passwordRule, type Principal } from '../policy.js';
import { type Executor, isUniqueViolation } from '../store/db.js';
import type { UserRow } from '../store/loaders.js';
import { actorOf, appendAudit, logAudit, startupMeta } from './audit.js';
import { badInput, conflict, DomainError, forbidden, notFound, shown } from './errors.js';
import { latestExpiry } from './expiry.js';
import { attempt, mutate } from './mutation.js';
import { newToken } from './new-token.js';
import { endOldestSessions } from './quotas.js';
import { displayNameSchema, parseInput, passwordSchema, recordedName, USERNAME_PATTERN, usernameSchema } from './validation.js';

/** What the trail records: a username that breaks the naming rule (a secret in the wrong field?) is not stored. */
const userTarget = (username: string) => `users/${recordedName(username, USERNAME_PATTERN)}`;

export async function userNamed(trx: Executor, username: string): Promise<UserRow> {
  const user = await trx.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  if (!user) throw notFound(`user ${shown(username)}`);
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

/** `passwordHash` comes from hashPassword, called before the transaction: scrypt must not hold the database. */
async function insertUser(trx: Executor, app: App, fields: { username: string; displayName?: string | null; passwordHash: string | null; isAdmin: boolean }) {
  const now = app.now().toISOString();
  const user: UserRow = {
    id: randomUUID(),
    username: fields.username,
    display_name: fields.displayName ?? null,
    password_hash: fields.passwordHash,
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
  const scope = { operation: 'createUser', target: userTarget(input.username) } as const;
  const { fields, passwordHash } = await attempt(ctx, scope, async () => {
    const outlived = outlivedBy(principalOf(ctx));
    if (outlived) throw forbidden(outlived);
    const fields = parseInput(createUserSchema, input);
    return { fields, passwordHash: await hashPassword(fields.password) };
  });
  return mutate(ctx, scope, async ({ trx, note }) => {
    note({ isAdmin: Boolean(fields.isAdmin) });
    return insertUser(trx, ctx.app, { ...fields, passwordHash, isAdmin: Boolean(fields.isAdmin) });
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
    // Granting admin rights or enabling an account widens a user; demoting and disabling do not.
    const widens = (patch.is_admin === 1 && current.is_admin === 0) || (patch.disabled === 0 && current.disabled === 1);
    const outlived = widens ? outlivedBy(principalOf(ctx)) : null;
    if (outlived) throw forbidden(outlived);
    const losesAdmin = current.is_admin === 1 && current.disabled === 0 && (patch.is_admin === 0 || patch.disabled === 1);
    if (losesAdmin && (await activeAdminCount(trx)) === 1) {
      throw conflict(`${current.username} is the last active administrator: make another user administrator first`);
    }
    note({ changed: Object.keys(patch), ...(input.isAdmin != null ? { isAdmin: input.isAdmin } : {}), ...(input.disabled != null ? { disabled: input.disabled } : {}) });
    const updated = { ...current, ...patch, updated_at: ctx.app.now().toISOString() };
    await trx.updateTable('users').set({ ...patch, updated_at: updated.updated_at }).where('id', '=', current.id).execute();
    // Disabling ends the user's sessions and personal tokens, so enabling brings none back. (On
    // enabling too: a user disabled by an older version, which only suspended them, may have some.)
    if (input.disabled != null && (patch.disabled === 1 || current.disabled === 1)) {
      note({
        endedSessions: await endTokens(trx, current.id, 'SESSION', updated.updated_at),
        endedPersonalTokens: await endTokens(trx, current.id, 'PERSONAL', updated.updated_at),
      });
    }
    return updated;
  });
  ctx.app.invalidations.publish({ userId: user.id });
  return user;
}

/**
 * Who may set which password is policy.passwordRule: one's own with the current one; anyone's
 * for an uncapped administrator. scrypt runs before the transaction (SQLite has one connection:
 * a transaction held across it stalls every request), so the write is a compare-and-set on the
 * hash that was checked: of two changes racing from the same current password, one lands.
 */
export async function setPassword(ctx: Context, input: { username?: string | null; currentPassword?: string | null; newPassword: string }) {
  const { app } = ctx;
  const p = principalOf(ctx);
  const username = input.username ?? (isUserPrincipal(p) ? p.username : '');
  const scope = { operation: 'setPassword', target: userTarget(username) } as const;
  const { user, passwordHash } = await attempt(ctx, scope, async () => {
    // Before the lookup, so that a refused caller learns nothing about which users exist.
    const rule = passwordRule(p, username);
    if (!rule.allowed) throw forbidden(rule.reason);
    const newPassword = parseInput(passwordSchema, input.newPassword, 'input.newPassword');
    const user = await userNamed(app.db, username);
    if (rule.own && user.password_hash !== null) await checkCurrentPassword(ctx, user, input.currentPassword ?? '');
    return { user, passwordHash: await hashPassword(newPassword) };
  });
  await mutate(ctx, scope, async ({ trx, note }) => {
    const now = app.now().toISOString();
    const changed = await trx
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('id', '=', user.id)
      .where('password_hash', user.password_hash === null ? 'is' : '=', user.password_hash)
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) throw conflict(`the password of ${user.username} changed while this request checked it: try again`);
    // A new password ends every other session of that user.
    note({ endedSessions: await endTokens(trx, user.id, 'SESSION', now, p.tokenId) });
  });
  app.invalidations.publish({ userId: user.id });
  return true;
}

/**
 * The current password is a login's password: guesses take from the same throttle, before the
 * check, so a burst evaluates at most its limit; the right one gives its attempt back.
 */
async function checkCurrentPassword(ctx: Context, user: UserRow, password: string): Promise<void> {
  const throttle = ctx.app.loginThrottle;
  await throttle.attempt(user.username, ctx.ipAddress);
  if (!(await verifyPassword(password, user.password_hash))) throw badInput('input.currentPassword', 'does not match your current password');
  await throttle.succeeded(user.username, ctx.ipAddress);
}

/** Ends a user's live tokens of one kind (all but `except`); returns how many. */
async function endTokens(trx: Executor, userId: string, kind: 'SESSION' | 'PERSONAL', now: string, except?: string): Promise<number> {
  let query = trx
    .updateTable('tokens')
    .set({ revoked_at: now, updated_at: now })
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('revoked_at', 'is', null);
  if (except) query = query.where('id', '!=', except);
  return Number((await query.executeTakeFirst()).numUpdatedRows);
}

// ---------------------------------------------------------------- sessions

const loginSchema = z.object({ username: z.string().max(100, 'must be at most 100 characters'), password: z.string().max(1024, 'must be at most 1024 characters') });

export async function login(ctx: Context, input: { username: string; password: string }) {
  const { app } = ctx;
  const fields = parseInput(loginSchema, input);
  const user = await app.db.selectFrom('users').selectAll().where('username', '=', fields.username).executeTakeFirst();
  // Only an account that exists is named: a password typed into the username field is not recorded.
  const scope = { operation: 'login', target: user ? userTarget(user.username) : 'users/(unknown)' } as const;
  try {
    await app.loginThrottle.attempt(fields.username, ctx.ipAddress);
  } catch (err) {
    await app.authFailures.record(ctx, { action: 'auth.login', reason: 'rate limited', target: scope.target });
    throw err;
  }
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
  for (const id of ended) app.invalidations.publish({ tokenId: id });
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
  ctx.app.invalidations.publish({ tokenId: p.tokenId });
  return true;
}

// ---------------------------------------------------------------- first start

/**
 * On an empty database: the administrator `admin` and a personal access token for it,
 * returned once so the caller can print it. SCOPEGATE_ADMIN_PASSWORD, when set, is
 * admin's password so that `login` works from the first start.
 */
export async function bootstrapAdmin(app: App): Promise<{ username: string; secret: string } | null> {
  const anyUser = (db: Executor) => db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (await anyUser(app.db)) return null;
  // Hashed before the transaction, which checks again (another replica may be starting too).
  const password = app.config.SCOPEGATE_ADMIN_PASSWORD;
  const passwordHash = password ? await hashPassword(password) : null;
  const created = await app.db.transaction().execute(async (trx) => {
    if (await anyUser(trx)) return null;
    const admin = await insertUser(trx, app, { username: 'admin', displayName: 'Administrator', passwordHash, isAdmin: true });
    const now = app.now();
    const { row, secret } = newToken('PERSONAL', now, {
      name: 'bootstrap',
      description: 'Created on first start',
      user_id: admin.id,
      created_by: admin.id,
      role: 'OWNER',
      admin: 1,
      expires_at: latestExpiry(now, app.config.SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS)?.toISOString() ?? null,
    });
    await trx.insertInto('tokens').values(row).execute();
    const entry = { action: 'instance.bootstrap', outcome: 'SUCCESS' as const, target: userTarget('admin') };
    const record = await appendAudit(trx, app.dialect, startupMeta, actorOf(null), entry, now, app.keyring);
    return { username: admin.username, secret, record };
  });
  if (!created) return null;
  logAudit(app.log, created.record);
  return { username: created.username, secret: created.secret };
}
