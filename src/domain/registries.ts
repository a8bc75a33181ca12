import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RegistriesTable } from '../../db/types.js';
import type { Context } from '../context.js';
import { outboundPolicy } from '../outbound/policy.js';
import { parseRegistryUrl } from '../providers/registry.js';
import { ProviderInputError } from '../providers/types.js';
import { type Executor, isUniqueViolation } from '../store/db.js';
import type { NamespaceRow } from '../store/loaders.js';
import { badInput, conflict, notFound } from './errors.js';
import { mutate } from './mutation.js';
import { withinQuota } from './quotas.js';
import { namespaceNamed } from './namespaces.js';
import { nameSchema, parseInput, recordedName } from './validation.js';

export type RegistryRow = RegistriesTable;

export const registryResourceName = (namespace: string, name: string) => `namespaces/${namespace}/registries/${recordedName(name)}`;

function parseUrl(ctx: Context, url: string) {
  if (url.length > 2048) throw badInput('input.url', 'must be at most 2048 characters');
  try {
    return parseRegistryUrl(url, outboundPolicy(ctx.app.config));
  } catch (err) {
    if (err instanceof ProviderInputError) throw badInput('input.url', err.message);
    throw err;
  }
}

/**
 * A registry authenticates with a REGISTRY credential of its own namespace, named here; one
 * more registry for it must fit its quota (`current`: the registry's credential now, which
 * keeps its place).
 */
async function registryCredentialId(ctx: Context, trx: Executor, ns: NamespaceRow, name: string, current: string | null = null): Promise<string> {
  const row = await trx.selectFrom('credentials').select(['id', 'type']).where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst();
  if (!row) throw badInput('input.credential', `no credential named "${name}" in namespace "${ns.name}"`);
  if (row.type !== 'REGISTRY') throw badInput('input.credential', `"${name}" is a ${row.type} credential; a registry authenticates with a REGISTRY credential`);
  if (row.id !== current) await withinQuota(ctx, trx, 'registriesPerCredential', { id: row.id, name: `credential "${name}"` });
  return row.id;
}

async function registryNamed(trx: Executor, ns: NamespaceRow, name: string): Promise<RegistryRow> {
  const row = await trx.selectFrom('registries').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst();
  if (!row) throw notFound(`registry ${registryResourceName(ns.name, name)}`);
  return row;
}

export async function createRegistry(ctx: Context, input: { namespace: string; name: string; url: string; credential?: string | null }) {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: 'createRegistry' as const, namespace: ns, target: registryResourceName(ns.name, input.name) };
  return mutate(ctx, scope, async ({ trx, note }) => {
    const { name } = parseInput(z.object({ name: nameSchema }), input);
    const url = parseUrl(ctx, input.url);
    await withinQuota(ctx, trx, 'registriesPerNamespace', { id: ns.id, name: `namespace "${ns.name}"` });
    const now = ctx.app.now().toISOString();
    const row: RegistryRow = {
      id: randomUUID(),
      namespace_id: ns.id,
      name,
      url: url.url,
      kind: url.kind,
      credential_id: input.credential ? await registryCredentialId(ctx, trx, ns, input.credential) : null,
      created_at: now,
      updated_at: now,
    };
    try {
      await trx.insertInto('registries').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a registry named "${name}" already exists in namespace "${ns.name}"`);
      throw err;
    }
    note({ url: row.url, kind: row.kind, credential: input.credential ?? null });
    return row;
  });
}

export async function updateRegistry(
  ctx: Context,
  input: { namespace: string; name: string; url?: string | null; credential?: string | null; clearCredential?: boolean | null },
) {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: 'updateRegistry' as const, namespace: ns, target: registryResourceName(ns.name, input.name) };
  return mutate(ctx, scope, async ({ trx, note }) => {
    const current = await registryNamed(trx, ns, input.name);
    if (input.credential != null && input.clearCredential) throw badInput('input.clearCredential', 'give either credential or clearCredential, not both');
    const patch: Partial<RegistryRow> = {};
    if (input.url != null) {
      const url = parseUrl(ctx, input.url);
      Object.assign(patch, { url: url.url, kind: url.kind });
    }
    if (input.credential != null) patch.credential_id = await registryCredentialId(ctx, trx, ns, input.credential, current.credential_id);
    if (input.clearCredential) patch.credential_id = null;
    note({ changed: Object.keys(patch).map((k) => (k === 'credential_id' ? 'credential' : k)) });
    const updated = { ...current, ...patch, updated_at: ctx.app.now().toISOString() };
    await trx.updateTable('registries').set({ ...patch, updated_at: updated.updated_at }).where('id', '=', current.id).execute();
    return updated;
  });
}

export async function deleteRegistry(ctx: Context, input: { namespace: string; name: string }): Promise<string> {
  const ns = await namespaceNamed(ctx, input.namespace);
  const target = registryResourceName(ns.name, input.name);
  await mutate(ctx, { operation: 'deleteRegistry', namespace: ns, target }, async ({ trx }) => {
    const row = await registryNamed(trx, ns, input.name);
    await trx.deleteFrom('registries').where('id', '=', row.id).execute();
  });
  return target;
}
