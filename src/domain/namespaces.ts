import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Context, principalOf } from '../context.js';
import { isUserPrincipal, outlivedBy, type Role } from '../policy.js';
import { type Executor, isUniqueViolation } from '../store/db.js';
import type { NamespaceRow } from '../store/loaders.js';
import { conflict, forbidden, notFound, shown } from './errors.js';
import { mutate } from './mutation.js';
import { withinQuota } from './quotas.js';
import { userNamed } from './users.js';
import { descriptionSchema, displayNameSchema, nameSchema, parseInput, recordedName, USERNAME_PATTERN, usernameSchema } from './validation.js';

/** A namespace the caller can see, by name; one it has no role in does not exist for it. */
export async function namespaceNamed(ctx: Context, name: string): Promise<NamespaceRow> {
  const ns = await ctx.loaders.namespaceByName.load(name);
  if (!ns || (await ctx.loaders.roleIn(ns.id)) === null) throw notFound(`namespace ${shown(name)}`);
  return ns;
}

const namespaceFields = z.object({
  name: nameSchema,
  displayName: displayNameSchema.nullish(),
  description: descriptionSchema.nullish(),
});

interface NamespaceInput {
  name: string;
  displayName?: string | null;
  description?: string | null;
}

export async function createNamespace(ctx: Context, input: NamespaceInput): Promise<NamespaceRow> {
  const p = principalOf(ctx);
  if (!isUserPrincipal(p)) throw forbidden('namespaces are created by users; this request used a namespace API token');
  const id = randomUUID();
  return mutate(ctx, { operation: 'createNamespace', namespace: { id, name: input.name }, target: `namespaces/${input.name}` }, async ({ trx }) => {
    const fields = parseInput(namespaceFields, input);
    await withinQuota(ctx, trx, 'namespacesPerUser', { id: p.userId, name: `user "${p.username}"` });
    const now = ctx.app.now().toISOString();
    const row: NamespaceRow = {
      id,
      name: fields.name,
      display_name: fields.displayName ?? null,
      description: fields.description ?? null,
      created_by: p.userId,
      created_at: now,
      updated_at: now,
    };
    try {
      await trx.insertInto('namespaces').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`namespace "${fields.name}" already exists; choose another name`);
      throw err;
    }
    await trx.insertInto('memberships').values({ namespace_id: row.id, user_id: p.userId, role: 'OWNER', created_at: now }).execute();
    return row;
  });
}

export async function updateNamespace(ctx: Context, input: NamespaceInput): Promise<NamespaceRow> {
  const ns = await namespaceNamed(ctx, input.name);
  const updated = await mutate(ctx, { operation: 'updateNamespace', namespace: ns, target: `namespaces/${ns.name}` }, async ({ trx, note }) => {
    const fields = parseInput(namespaceFields, input);
    const patch: Partial<NamespaceRow> = {};
    if (input.displayName !== undefined) patch.display_name = fields.displayName ?? null;
    if (input.description !== undefined) patch.description = fields.description ?? null;
    note({ changed: Object.keys(patch) });
    const updated = { ...ns, ...patch, updated_at: ctx.app.now().toISOString() };
    await trx.updateTable('namespaces').set({ ...patch, updated_at: updated.updated_at }).where('id', '=', ns.id).execute();
    return updated;
  });
  ctx.app.invalidations.publish({ namespaceId: ns.id });
  return updated;
}

/** Deletes the namespace with its memberships and tokens (foreign keys cascade); the audit trail stays. */
export async function deleteNamespace(ctx: Context, input: { name: string }): Promise<string> {
  const ns = await namespaceNamed(ctx, input.name);
  await mutate(ctx, { operation: 'deleteNamespace', namespace: ns, target: `namespaces/${ns.name}` }, async ({ trx }) => {
    await trx.deleteFrom('namespaces').where('id', '=', ns.id).execute();
  });
  ctx.app.invalidations.publish({ namespaceId: ns.id });
  return `namespaces/${ns.name}`;
}

// ---------------------------------------------------------------- members

async function membershipOf(trx: Executor, namespaceId: string, userId: string) {
  return trx.selectFrom('memberships').selectAll().where('namespace_id', '=', namespaceId).where('user_id', '=', userId).executeTakeFirst();
}

async function ownerCount(trx: Executor, namespaceId: string): Promise<number> {
  const { count } = await trx
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('namespace_id', '=', namespaceId)
    .where('role', '=', 'OWNER')
    .executeTakeFirstOrThrow();
  return Number(count);
}

export async function setMemberRole(ctx: Context, input: { namespace: string; username: string; role: Role }) {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: 'setMemberRole', namespace: ns, target: `namespaces/${ns.name}/members/${recordedName(input.username, USERNAME_PATTERN)}` } as const;
  const membership = await mutate(ctx, scope, async ({ trx, note }) => {
    const outlived = outlivedBy(principalOf(ctx));
    if (outlived) throw forbidden(outlived);
    parseInput(z.object({ username: usernameSchema }), input);
    const user = await userNamed(trx, input.username);
    const current = await membershipOf(trx, ns.id, user.id);
    if (current?.role === 'OWNER' && input.role !== 'OWNER' && (await ownerCount(trx, ns.id)) === 1) {
      throw conflict(`${user.username} is the last owner of namespace "${ns.name}": make someone else owner first`);
    }
    note({ role: input.role, previousRole: current?.role ?? null });
    if (current) {
      await trx.updateTable('memberships').set({ role: input.role }).where('namespace_id', '=', ns.id).where('user_id', '=', user.id).execute();
      return { ...current, role: input.role };
    }
    const row = { namespace_id: ns.id, user_id: user.id, role: input.role, created_at: ctx.app.now().toISOString() };
    await trx.insertInto('memberships').values(row).execute();
    return row;
  });
  // What this user may do changed: their cached roles (and tokens) go.
  ctx.app.invalidations.publish({ userId: membership.user_id });
  return membership;
}

export async function removeMember(ctx: Context, input: { namespace: string; username: string }): Promise<string> {
  const ns = await namespaceNamed(ctx, input.namespace);
  const target = `namespaces/${ns.name}/members/${recordedName(input.username, USERNAME_PATTERN)}`;
  const userId = await mutate(ctx, { operation: 'removeMember', namespace: ns, target }, async ({ trx, note }) => {
    const user = await userNamed(trx, input.username);
    const current = await membershipOf(trx, ns.id, user.id);
    if (!current) throw notFound(`member ${shown(input.username)} of namespace "${ns.name}"`);
    if (current.role === 'OWNER' && (await ownerCount(trx, ns.id)) === 1) {
      throw conflict(`${user.username} is the last owner of namespace "${ns.name}" and cannot be removed`);
    }
    note({ previousRole: current.role });
    await trx.deleteFrom('memberships').where('namespace_id', '=', ns.id).where('user_id', '=', user.id).execute();
    return user.id;
  });
  ctx.app.invalidations.publish({ userId });
  return target;
}

