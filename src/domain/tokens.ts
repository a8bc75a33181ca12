import { generateSecret, hashSecret, secretHint } from '../auth/secrets.js';
import { type App, type Context, principalOf } from '../context.js';
import { isUserPrincipal, type Role, widerThan, type Width } from '../policy.js';
import { type Executor, isUniqueViolation } from '../store/db.js';
import { settingFirstSeen } from '../store/settings.js';
import type { NamespaceRow, TokenRow } from '../store/loaders.js';
import { badInput, conflict, forbidden, notFound } from './errors.js';
import { DAY_MS, latestExpiry, resolveExpiry, secretIssuedAt } from './expiry.js';
import { actorOf, appendAudit, type AuditRecord, logAudit, startupMeta } from './audit.js';
import { mutate } from './mutation.js';
import { newToken } from './new-token.js';
import { type QuotaName, withinQuota } from './quotas.js';
import { namespaceNamed } from './namespaces.js';
import { descriptionSchema, nameSchema, parseInput, recordedName } from './validation.js';
import { z } from 'zod';

/** Whose token it is: a namespace's API token or a user's personal access token. */
type TokenOwner = { kind: 'API'; namespace: NamespaceRow } | { kind: 'PERSONAL'; userId: string; username: string; userIsAdmin: boolean };

export const apiTokenResourceName = (namespace: string, name: string) => `namespaces/${namespace}/apitokens/${recordedName(name)}`;
export const personalTokenResourceName = (username: string, name: string) => `user:${username}/tokens/${recordedName(name)}`;

const resourceName = (owner: TokenOwner, name: string) =>
  owner.kind === 'API' ? apiTokenResourceName(owner.namespace.name, name) : personalTokenResourceName(owner.username, name);

const auditScope = (owner: TokenOwner, verb: 'create' | 'update' | 'regenerate' | 'revoke', name: string) => ({
  operation: `${verb}${owner.kind === 'API' ? 'ApiToken' : 'PersonalAccessToken'}` as const,
  namespace: owner.kind === 'API' ? owner.namespace : null,
  target: resourceName(owner, name),
});

const tokenQuota = (owner: TokenOwner): [QuotaName, { id: string; name: string }] =>
  owner.kind === 'API'
    ? ['apiTokensPerNamespace', { id: owner.namespace.id, name: `namespace "${owner.namespace.name}"` }]
    : ['personalTokensPerUser', { id: owner.userId, name: `user "${owner.username}"` }];

const MAX_GRACE_SECONDS = 86_400;

export interface TokenWithSecret {
  token: TokenRow;
  secret: string;
}

interface ExpiryFields {
  expiresAt?: Date | null;
  expiresInDays?: number | null;
}

interface NewToken extends ExpiryFields {
  name: string;
  description?: string | null;
  role: Role;
  admin?: boolean | null;
  enabled?: boolean | null;
}

interface TokenChanges {
  name: string;
  description?: string | null;
  enabled?: boolean | null;
  role?: Role | null;
  expiresAt?: Date | null;
  clearExpiry?: boolean | null;
}

interface Regeneration extends ExpiryFields {
  name: string;
  gracePeriodSeconds?: number | null;
}

const newTokenSchema = z.object({ name: nameSchema, description: descriptionSchema.nullish() });
const changesSchema = z.object({ description: descriptionSchema.nullish() });

/**
 * The caller's width when it acts on tokens (policy.widerThan): its effective role in the
 * namespace (API tokens) or its maxRole (personal tokens), its administrator rights, and its
 * own expiry when it is a token. Computed before the transaction (it reads through the loaders).
 */
async function callerWidth(ctx: Context, owner: TokenOwner): Promise<Width> {
  const p = principalOf(ctx);
  const role =
    owner.kind === 'API' ? await ctx.loaders.roleIn(owner.namespace.id) : p.kind === 'PERSONAL_ACCESS_TOKEN' ? p.maxRole : 'OWNER';
  return { role, admin: isUserPrincipal(p) && p.isAdmin, expiresAt: p.kind === 'USER_SESSION' ? null : p.expiresAt };
}

/** A token's width: an admin personal token carries administrator rights only while its user is an administrator. */
const widthOf = (owner: TokenOwner, token: Pick<TokenRow, 'role' | 'admin' | 'expires_at'>): Width => ({
  role: token.role as Role,
  admin: Boolean(token.admin) && owner.kind === 'PERSONAL' && owner.userIsAdmin,
  expiresAt: token.expires_at,
});

/**
 * No principal produces or reaches a token wider than itself: `reached` is the token as it is
 * (revoke, update, regenerate act on it), `produced` the token as it will be (lifetime counts).
 */
function assertWithinCaller(ctx: Context, caller: Width, tokens: { reached?: Width; produced?: Width }) {
  const who = principalOf(ctx).kind === 'USER_SESSION' ? 'you' : 'the token making this request';
  const wider =
    (tokens.reached && widerThan(tokens.reached, caller, who, { lifetime: false })) ||
    (tokens.produced && widerThan(tokens.produced, caller, who, { lifetime: true }));
  if (wider) throw forbidden(wider.reason, wider.neededRole ? { neededRole: wider.neededRole } : {});
}

async function findLiveToken(trx: Executor, owner: TokenOwner, name: string): Promise<TokenRow> {
  let query = trx.selectFrom('tokens').selectAll().where('kind', '=', owner.kind).where('name', '=', name).where('revoked_at', 'is', null);
  query = owner.kind === 'API' ? query.where('namespace_id', '=', owner.namespace.id) : query.where('user_id', '=', owner.userId);
  const row = await query.executeTakeFirst();
  if (!row) throw notFound(owner.kind === 'API' ? `api token ${resourceName(owner, name)}` : `personal access token "${name}"`);
  return row;
}

async function issue(ctx: Context, owner: TokenOwner, input: NewToken): Promise<TokenWithSecret> {
  const { app } = ctx;
  const caller = await callerWidth(ctx, owner);
  return mutate(ctx, auditScope(owner, 'create', input.name), async ({ trx, note }) => {
    const fields = parseInput(newTokenSchema, input);
    const now = app.now();
    const expiresAt = resolveExpiry(input, now, app.config.SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS);
    const creator = principalOf(ctx);
    const { row: token, secret } = newToken(owner.kind, now, {
      name: fields.name,
      description: fields.description ?? null,
      namespace_id: owner.kind === 'API' ? owner.namespace.id : null,
      user_id: owner.kind === 'PERSONAL' ? owner.userId : null,
      created_by: isUserPrincipal(creator) ? creator.userId : null,
      role: input.role,
      admin: input.admin ? 1 : 0,
      enabled: input.enabled === false ? 0 : 1,
      expires_at: expiresAt,
    });
    // A new token's admin flag counts as asked, whatever its user is.
    assertWithinCaller(ctx, caller, { produced: { ...widthOf(owner, token), admin: Boolean(token.admin) } });
    await withinQuota(ctx, trx, ...tokenQuota(owner));
    try {
      await trx.insertInto('tokens').values(token).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a token named "${fields.name}" already exists here; choose another name or revoke it first`);
      throw err;
    }
    note({ role: token.role, admin: Boolean(token.admin), enabled: Boolean(token.enabled), expiresAt, hint: token.secret_hint });
    return { token, secret };
  });
}

async function update(ctx: Context, owner: TokenOwner, input: TokenChanges): Promise<TokenRow> {
  const { app } = ctx;
  const caller = await callerWidth(ctx, owner);
  const token = await mutate(ctx, auditScope(owner, 'update', input.name), async ({ trx, note }) => {
    const current = await findLiveToken(trx, owner, input.name);
    assertWithinCaller(ctx, caller, { reached: widthOf(owner, current) });
    const fields = parseInput(changesSchema, input);
    const now = app.now();
    const maxDays = app.config.SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS;
    const patch: Partial<TokenRow> = {};
    if (input.description !== undefined) patch.description = fields.description ?? null;
    if (input.enabled != null) patch.enabled = input.enabled ? 1 : 0;
    if (input.role != null) patch.role = input.role;
    if (input.clearExpiry && input.expiresAt != null) throw badInput('input.clearExpiry', 'give either expiresAt or clearExpiry, not both');
    if (input.expiresAt != null) {
      patch.expires_at = resolveExpiry({ expiresAt: input.expiresAt }, now, maxDays, { issuedAt: secretIssuedAt(current) });
    }
    if (input.clearExpiry) {
      if (maxDays !== undefined) throw badInput('input.clearExpiry', `refused: this instance requires every token to expire within ${maxDays} days`);
      patch.expires_at = null;
    }
    note({ changed: Object.keys(patch), ...(patch.role ? { role: patch.role } : {}), ...('enabled' in patch ? { enabled: Boolean(patch.enabled) } : {}) });
    const updated = { ...current, ...patch, updated_at: now.toISOString() };
    assertWithinCaller(ctx, caller, { produced: widthOf(owner, updated) });
    await trx.updateTable('tokens').set({ ...patch, updated_at: updated.updated_at }).where('id', '=', current.id).execute();
    return updated;
  });
  app.invalidations.publish({ tokenId: token.id });
  return token;
}

async function regenerate(ctx: Context, owner: TokenOwner, input: Regeneration): Promise<TokenWithSecret> {
  const { app } = ctx;
  const caller = await callerWidth(ctx, owner);
  const result = await mutate(ctx, auditScope(owner, 'regenerate', input.name), async ({ trx, note }) => {
    const grace = input.gracePeriodSeconds ?? 0;
    if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
      throw badInput('input.gracePeriodSeconds', `must be a whole number of seconds from 0 to ${MAX_GRACE_SECONDS}`);
    }
    const current = await findLiveToken(trx, owner, input.name);
    const now = app.now();
    const expiresAt = resolveExpiry(input, now, app.config.SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS, { fallback: current.expires_at });
    if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) {
      throw badInput('input.expiresAt', `the token expired at ${expiresAt}: give a new expiresAt or expiresInDays`);
    }
    assertWithinCaller(ctx, caller, { reached: widthOf(owner, current), produced: widthOf(owner, { ...current, expires_at: expiresAt }) });
    const secret = generateSecret(owner.kind);
    const patch = {
      secret_hash: hashSecret(secret),
      secret_hint: secretHint(secret),
      // Kept even without a grace period, so the old secret is refused with "regenerated", not "unknown".
      previous_secret_hash: current.secret_hash,
      previous_secret_expires_at: new Date(now.getTime() + grace * 1000).toISOString(),
      secret_rotated_at: now.toISOString(),
      expires_at: expiresAt,
      updated_at: now.toISOString(),
    };
    await trx.updateTable('tokens').set(patch).where('id', '=', current.id).execute();
    note({ gracePeriodSeconds: grace, expiresAt, hint: patch.secret_hint });
    return { token: { ...current, ...patch }, secret };
  });
  app.invalidations.publish({ tokenId: result.token.id });
  return result;
}

async function revoke(ctx: Context, owner: TokenOwner, name: string): Promise<string> {
  const { app } = ctx;
  const caller = await callerWidth(ctx, owner);
  const token = await mutate(ctx, auditScope(owner, 'revoke', name), async ({ trx }) => {
    const current = await findLiveToken(trx, owner, name);
    assertWithinCaller(ctx, caller, { reached: widthOf(owner, current) });
    const now = app.now().toISOString();
    await trx
      .updateTable('tokens')
      .set({ revoked_at: now, enabled: 0, previous_secret_hash: null, previous_secret_expires_at: null, updated_at: now })
      .where('id', '=', current.id)
      .execute();
    return current;
  });
  app.invalidations.publish({ tokenId: token.id });
  return resourceName(owner, name);
}

// ---------------------------------------------------------------- namespace API tokens

async function apiTokenOwner(ctx: Context, namespace: string): Promise<TokenOwner> {
  return { kind: 'API', namespace: await namespaceNamed(ctx, namespace) };
}

export async function createApiToken(ctx: Context, input: NewToken & { namespace: string }) {
  return issue(ctx, await apiTokenOwner(ctx, input.namespace), { ...input, admin: false });
}

export async function updateApiToken(ctx: Context, input: TokenChanges & { namespace: string }) {
  return update(ctx, await apiTokenOwner(ctx, input.namespace), input);
}

export async function regenerateApiToken(ctx: Context, input: Regeneration & { namespace: string }) {
  return regenerate(ctx, await apiTokenOwner(ctx, input.namespace), input);
}

export async function revokeApiToken(ctx: Context, input: { namespace: string; name: string }) {
  return revoke(ctx, await apiTokenOwner(ctx, input.namespace), input.name);
}

// ---------------------------------------------------------------- personal access tokens

async function personalOwner(ctx: Context): Promise<TokenOwner & { kind: 'PERSONAL' }> {
  const p = principalOf(ctx);
  if (!isUserPrincipal(p)) throw forbidden('personal access tokens belong to users; this request used a namespace API token');
  const user = await ctx.loaders.userById.load(p.userId);
  return { kind: 'PERSONAL', userId: p.userId, username: p.username, userIsAdmin: Boolean(user?.is_admin) };
}

export async function createPersonalAccessToken(ctx: Context, input: Omit<NewToken, 'role'> & { maxRole?: Role | null }) {
  return issue(ctx, await personalOwner(ctx), { ...input, role: input.maxRole ?? 'OWNER', admin: Boolean(input.admin) });
}

export const updatePersonalAccessToken = async (ctx: Context, input: Omit<TokenChanges, 'role'>) => update(ctx, await personalOwner(ctx), input);
export const regeneratePersonalAccessToken = async (ctx: Context, input: Regeneration) => regenerate(ctx, await personalOwner(ctx), input);
export const revokePersonalAccessToken = async (ctx: Context, input: { name: string }) => revoke(ctx, await personalOwner(ctx), input.name);

// ---------------------------------------------------------------- the instance's maximum lifetime

/** How long tokens that a new maximum would end at once keep working, so that their holders are warned, not cut off. */
const WARNING_DAYS = 7;

/**
 * SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS holds for every API and personal token, also those made
 * before it was set (sessions have their own lifetime): one without an expiry, or with a later
 * one, expires when its secret was issued + the maximum, but no sooner than 7 days after the
 * instance first saw this maximum. Run at start, before serving; a second run changes nothing.
 * One audit event per token, so that each namespace's trail shows what happened to its tokens.
 */
export async function capTokenLifetimes(app: App): Promise<void> {
  const maxDays = app.config.SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS;
  const now = app.now();
  const capped = await app.db.transaction().execute(async (trx) => {
    const since = await settingFirstSeen(trx, 'max_token_lifetime_days', maxDays === undefined ? null : String(maxDays), now);
    if (!since) return [];
    const earliest = since.getTime() + WARNING_DAYS * DAY_MS;
    const rows = await trx
      .selectFrom('tokens as t')
      .leftJoin('namespaces as n', 'n.id', 't.namespace_id')
      .leftJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.kind', 't.name', 't.namespace_id', 'n.name as namespace_name', 'u.username', 't.expires_at', 't.created_at', 't.secret_rotated_at'])
      .where('t.kind', 'in', ['API', 'PERSONAL'])
      .where('t.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', new Date(earliest).toISOString())]))
      .execute();
    const changed: { id: string; record: AuditRecord }[] = [];
    for (const row of rows) {
      const cap = new Date(Math.max(latestExpiry(secretIssuedAt(row), maxDays)!.getTime(), earliest)).toISOString();
      if (row.expires_at !== null && Date.parse(row.expires_at) <= Date.parse(cap)) continue;
      await trx.updateTable('tokens').set({ expires_at: cap, updated_at: now.toISOString() }).where('id', '=', row.id).execute();
      const api = row.kind === 'API';
      const entry = {
        action: api ? 'apitoken.expiry_capped' : 'personaltoken.expiry_capped',
        outcome: 'SUCCESS' as const,
        namespace: api ? { id: row.namespace_id, name: row.namespace_name! } : null,
        target: api ? apiTokenResourceName(row.namespace_name!, row.name!) : personalTokenResourceName(row.username!, row.name!),
        details: { previousExpiresAt: row.expires_at, expiresAt: cap, maxLifetimeDays: maxDays },
      };
      changed.push({ id: row.id, record: await appendAudit(trx, app.dialect, startupMeta, actorOf(null), entry, now, app.keyring) });
    }
    return changed;
  });
  for (const { id, record } of capped) {
    logAudit(app.log, record);
    // Verified principals carry their expiry: no replica may keep the old one cached.
    app.invalidations.publish({ tokenId: id });
  }
  if (capped.length) app.log.warn({ tokens: capped.length, maxLifetimeDays: maxDays }, 'tokens without an expiry within SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS now have one');
}
