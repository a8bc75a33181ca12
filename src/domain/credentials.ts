import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CredentialsTable, CredentialTypeName, RegistriesTable } from '../../db/types.js';
import type { Context } from '../context.js';
import { decryptSecret, encryptSecret, SecretDecryptionError } from '../credentials/crypto.js';
import { checkWithProvider, credentialFields, destinationRefusal, providerOptions } from '../credentials/kinds.js';
import { generateEd25519, InvalidSshKeyError, parsePublicKey } from '../credentials/ssh.js';
import { isUserPrincipal, type MutationName } from '../policy.js';
import { type RegistryLogin, validateRegistry } from '../providers/registry.js';
import { ProviderInputError, type ValidationResult } from '../providers/types.js';
import { type Executor, isUniqueViolation } from '../store/db.js';
import { forgetDestinations, knownDestinations, rememberDestinations } from '../store/destinations.js';
import type { NamespaceRow } from '../store/loaders.js';
import { badInput, conflict, DomainError, notFound } from './errors.js';
import { attempt, mutate } from './mutation.js';
import { withinQuota } from './quotas.js';
import { namespaceNamed } from './namespaces.js';
import { descriptionSchema, nameSchema, parseInput, recordedName } from './validation.js';

export type CredentialRow = CredentialsTable;

export const credentialResourceName = (namespace: string, name: string) => `namespaces/${namespace}/credentials/${recordedName(name)}`;

export const publicFieldsOf = (row: CredentialRow): Record<string, any> => JSON.parse(row.public_fields);

interface CredentialInput {
  namespace: string;
  name: string;
  description?: string | null;
  skipValidation?: boolean | null;
  [field: string]: unknown;
}

const pick = (input: Record<string, unknown>, keys: string[], onlyGiven = false) =>
  Object.fromEntries(keys.filter((k) => !onlyGiven || input[k] != null).map((k) => [k, input[k] ?? undefined]));

/** A provider's "no" or silence as the error the caller gets; nothing has been stored. */
function rejection(result: ValidationResult): DomainError {
  return result.status === 'UNREACHABLE'
    ? new DomainError('PROVIDER_UNREACHABLE', result.message)
    : new DomainError('VALIDATION_FAILED', result.message, { httpStatus: result.status === 'INVALID' ? result.httpStatus : undefined });
}

function inputError(field: string, err: unknown): never {
  if (err instanceof ProviderInputError || err instanceof InvalidSshKeyError) throw badInput(field, err.message);
  throw err;
}

function validationColumns(result: ValidationResult | null, checked: boolean, now: string) {
  if (!checked) return { validation_status: 'UNCHECKED' as const, validation_message: null, last_validated_at: null };
  if (!result) {
    return { validation_status: 'UNCHECKED' as const, validation_message: 'this credential cannot be checked against a provider on its own', last_validated_at: now };
  }
  return { validation_status: result.status, validation_message: result.message, last_validated_at: now };
}

async function registriesUsing(db: Executor, credentialId: string): Promise<RegistriesTable[]> {
  return db.selectFrom('registries').selectAll().where('credential_id', '=', credentialId).orderBy('name').execute();
}

/** Checks a credential with its provider; registry credentials through every registry that uses them. */
async function check(
  ctx: Context,
  type: CredentialTypeName,
  pub: Record<string, any>,
  sec: Record<string, string>,
  credentialId?: string,
): Promise<ValidationResult | null> {
  if (type !== 'REGISTRY') return checkWithProvider(ctx.app.config, ctx.log, type, pub, sec);
  const registries = credentialId ? await registriesUsing(ctx.app.db, credentialId) : [];
  if (!registries.length) return null;
  return checkRegistries(ctx, registries, { username: pub.username, password: sec.password });
}

/** Registry checks of one credential that run at once: enough to overlap slow registries, few enough to be polite. */
const REGISTRY_CHECKS_AT_ONCE = 4;

/**
 * Checks a credential through its registries, a few at a time, under one deadline for all of
 * them (SCOPEGATE_PROVIDER_TIMEOUT_MS): a check under way when it passes is cut off
 * (UNREACHABLE), and those not yet started stay unchecked, named in the message. Every check
 * that ran reports where the secret went. Any "no" makes the credential INVALID; otherwise any
 * registry without an answer leaves it UNREACHABLE (no verdict).
 */
async function checkRegistries(ctx: Context, registries: RegistriesTable[], login: RegistryLogin): Promise<ValidationResult> {
  const opts = providerOptions(ctx.app.config, ctx.log);
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const results: (ValidationResult | undefined)[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < registries.length && !deadline.aborted; i = next++) {
      results[i] = await validateRegistry(registries[i].url, login, { ...opts, deadline });
    }
  };
  await Promise.all(Array.from({ length: Math.min(REGISTRY_CHECKS_AT_ONCE, registries.length) }, worker));

  const sentTo = [...new Set(results.flatMap((r) => r?.sentTo ?? []))];
  const names = (pick: (r: ValidationResult | undefined) => boolean) => registries.filter((_, i) => pick(results[i])).map((r) => r.name);
  const accepted = names((r) => r?.status === 'VALID');
  if (accepted.length === registries.length) return { status: 'VALID', message: `accepted by ${accepted.join(', ')}`, sentTo };
  const problems = registries.flatMap((r, i) => (results[i] && results[i].status !== 'VALID' ? [`registry "${r.name}": ${results[i].message}`] : []));
  const unchecked = names((r) => r === undefined);
  if (unchecked.length) {
    problems.push(`not checked, the ${opts.timeoutMs} ms deadline (SCOPEGATE_PROVIDER_TIMEOUT_MS) passed first: ${unchecked.map((n) => `"${n}"`).join(', ')}`);
  }
  if (accepted.length) problems.push(`accepted by ${accepted.join(', ')}`);
  const message = problems.join('; ');
  const invalid = results.find((r) => r?.status === 'INVALID');
  return invalid?.status === 'INVALID' ? { status: 'INVALID', httpStatus: invalid.httpStatus, message, sentTo } : { status: 'UNREACHABLE', message, sentTo };
}

/**
 * A check carried stored secret fields to `sentTo`: each host this credential's secret has not
 * been sent to before gets a `credential.reveal` event, as if the caller had read the secret
 * (they chose where it went). `remember`: what was sent is the stored secret, so the hosts become
 * known; a secret being replaced is remembered with its own destinations when it is stored.
 */
async function auditSecretLeaving(ctx: Context, ns: NamespaceRow, row: CredentialRow, sentTo: string[], remember: boolean) {
  const known = await knownDestinations(ctx.app.db, row.id);
  const scope = { operation: 'revealCredentialSecret' as const, namespace: ns, target: credentialResourceName(ns.name, row.name) };
  for (const host of sentTo.filter((h) => !known.has(h))) {
    await mutate(ctx, scope, async ({ trx, note }) => {
      note({ via: 'validation', host });
      if (remember) await rememberDestinations(trx, row.id, [host], ctx.app.now().toISOString());
    });
  }
}

/** Refuses a destination the outbound guard would refuse without resolving a name (a Git host that is an internal IP). */
function refuseDestination(ctx: Context, type: CredentialTypeName, pub: Record<string, unknown>) {
  const refused = destinationRefusal(ctx.app.config, type, pub);
  if (refused) throw badInput(`input.${refused.field}`, refused.message);
}

function seal(ctx: Context, fields: Record<string, string>, credentialId: string, namespaceId: string) {
  if (!Object.keys(fields).length) return { secret_ciphertext: null, secret_key_id: null };
  const sealed = encryptSecret(ctx.app.keyring, fields, { credentialId, namespaceId });
  return { secret_ciphertext: sealed.ciphertext, secret_key_id: sealed.keyId };
}

/** The decrypted secret fields; a blob that does not belong to this row is refused, clearly. */
function unseal(ctx: Context, row: CredentialRow, namespaceName: string): Record<string, string> {
  if (!row.secret_ciphertext || !row.secret_key_id) return {};
  try {
    return decryptSecret(ctx.app.keyring, { ciphertext: row.secret_ciphertext, keyId: row.secret_key_id }, { credentialId: row.id, namespaceId: row.namespace_id });
  } catch (err) {
    if (!(err instanceof SecretDecryptionError)) throw err;
    ctx.log.error({ err, credential: credentialResourceName(namespaceName, row.name) }, 'credential secret cannot be decrypted');
    throw new DomainError(
      'INTERNAL_SERVER_ERROR',
      `the stored secret of ${credentialResourceName(namespaceName, row.name)} cannot be decrypted: it was not sealed for this credential, or its key is missing (see the server log)`,
    );
  }
}

async function credentialNamed(db: Executor, ns: NamespaceRow, name: string): Promise<CredentialRow> {
  const row = await db.selectFrom('credentials').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst();
  if (!row) throw notFound(`credential ${credentialResourceName(ns.name, name)}`);
  return row;
}

const createOperation: Record<Exclude<CredentialTypeName, 'SSH_KEY'>, MutationName> = {
  REGISTRY: 'createRegistryCredential',
  GIT: 'createGitCredential',
  HETZNER: 'createHetznerCredential',
  OVH: 'createOvhCredential',
};
const updateOperation: Record<Exclude<CredentialTypeName, 'SSH_KEY'>, MutationName> = {
  REGISTRY: 'updateRegistryCredential',
  GIT: 'updateGitCredential',
  HETZNER: 'updateHetznerCredential',
  OVH: 'updateOvhCredential',
};

const commonSchema = z.object({ name: nameSchema, description: descriptionSchema.nullish() });

async function insertCredential(
  ctx: Context,
  trx: Executor,
  ns: NamespaceRow,
  fields: { name: string; description?: string | null; type: CredentialTypeName; pub: Record<string, unknown>; sec: Record<string, string> },
  validation: ReturnType<typeof validationColumns>,
): Promise<CredentialRow> {
  await withinQuota(ctx, trx, 'credentialsPerNamespace', { id: ns.id, name: `namespace "${ns.name}"` });
  const now = ctx.app.now().toISOString();
  const id = randomUUID();
  const p = ctx.principal!;
  const row: CredentialRow = {
    id,
    namespace_id: ns.id,
    name: fields.name,
    type: fields.type,
    description: fields.description ?? null,
    public_fields: JSON.stringify(fields.pub),
    ...seal(ctx, fields.sec, id, ns.id),
    ...validation,
    created_by: isUserPrincipal(p) ? p.userId : null,
    created_at: now,
    updated_at: now,
  };
  try {
    await trx.insertInto('credentials').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`a credential named "${fields.name}" already exists in namespace "${ns.name}"`);
    throw err;
  }
  return row;
}

/** Creates a REGISTRY, GIT, HETZNER or OVH credential: validated with its provider first unless skipValidation. */
export async function createCredential(ctx: Context, type: Exclude<CredentialTypeName, 'SSH_KEY'>, input: CredentialInput): Promise<CredentialRow> {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: createOperation[type], namespace: ns, target: credentialResourceName(ns.name, input.name) };
  const spec = credentialFields[type];
  const prepared = await attempt(ctx, scope, async (note) => {
    const common = parseInput(commonSchema, input);
    const pub = parseInput(spec.public, pick(input, Object.keys(spec.public.shape)));
    const sec = parseInput(spec.secret, pick(input, Object.keys(spec.secret.shape))) as Record<string, string>;
    refuseDestination(ctx, type, pub);
    // Early, so that nothing is sent to a provider for a credential that cannot be stored (checked again on insert).
    await withinQuota(ctx, ctx.app.db, 'credentialsPerNamespace', { id: ns.id, name: `namespace "${ns.name}"` });
    const checked = !input.skipValidation;
    const result = checked ? await check(ctx, type, pub, sec).catch((err) => inputError('input', err)) : null;
    // The secret came with the request: where it went is recorded, but nothing stored left.
    const sentTo = result?.sentTo ?? [];
    note({ sentTo });
    if (result && result.status !== 'VALID') throw rejection(result);
    return { common, pub, sec, sentTo, validation: validationColumns(result, checked && type !== 'REGISTRY', ctx.app.now().toISOString()) };
  });
  return mutate(ctx, scope, async ({ trx, note }) => {
    note({ type, validationStatus: prepared.validation.validation_status, fields: Object.keys(prepared.pub), sentTo: prepared.sentTo });
    const row = await insertCredential(ctx, trx, ns, { ...prepared.common, type, pub: prepared.pub, sec: prepared.sec }, prepared.validation);
    await rememberDestinations(trx, row.id, prepared.sentTo, row.created_at);
    return row;
  });
}

/** Updates a credential of the given type; a changed secret is re-validated unless skipValidation. */
export async function updateCredential(ctx: Context, type: Exclude<CredentialTypeName, 'SSH_KEY'>, input: CredentialInput): Promise<CredentialRow> {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: updateOperation[type], namespace: ns, target: credentialResourceName(ns.name, input.name) };
  const spec = credentialFields[type];
  const prepared = await attempt(ctx, scope, async (note) => {
    const current = await credentialNamed(ctx.app.db, ns, input.name);
    if (current.type !== type) {
      throw badInput('input.name', `"${input.name}" is a ${current.type} credential, not ${type}: use the update mutation of its type`);
    }
    const description = input.description === undefined ? current.description : (parseInput(commonSchema.shape.description, input.description, 'input.description') ?? null);
    const givenPub = pick(input, Object.keys(spec.public.shape), true);
    const givenSec = pick(input, Object.keys(spec.secret.shape), true);
    const pub = parseInput(spec.public, { ...publicFieldsOf(current), ...givenPub });
    // Every secret field given: the stored one is not needed (and may be unreadable: this repairs it).
    const replacesAll = Object.keys(spec.secret.shape).every((k) => k in givenSec);
    const sec = parseInput(spec.secret, { ...(replacesAll ? {} : unseal(ctx, current, ns.name)), ...givenSec }) as Record<string, string>;
    const changed = [...Object.keys(givenPub), ...Object.keys(givenSec)];
    const checked = changed.length > 0 && !input.skipValidation;
    const result = checked ? await check(ctx, type, pub, sec, current.id).catch((err) => inputError('input', err)) : null;
    const secretChanged = Object.keys(givenSec).length > 0;
    const sentTo = result?.sentTo ?? [];
    note({ sentTo });
    // Stored fields went along (a new host, or a secret only partly replaced): audited like a reveal, pass or fail.
    if (!replacesAll) await auditSecretLeaving(ctx, ns, current, sentTo, !secretChanged);
    if (result && result.status !== 'VALID') throw rejection(result);
    return { current, description, pub, sec, changed, result, checked, secretChanged, sentTo };
  });
  return mutate(ctx, scope, async ({ trx, note }) => {
    const now = ctx.app.now().toISOString();
    const validation = prepared.checked
      ? validationColumns(prepared.result, true, now)
      : prepared.changed.length
        ? validationColumns(null, false, now)
        : {};
    const patch = {
      description: prepared.description,
      public_fields: JSON.stringify(prepared.pub),
      ...(prepared.secretChanged ? seal(ctx, prepared.sec, prepared.current.id, ns.id) : {}),
      ...validation,
      updated_at: now,
    };
    note({ changed: [...prepared.changed, ...(input.description !== undefined ? ['description'] : [])], sentTo: prepared.sentTo });
    await trx.updateTable('credentials').set(patch).where('id', '=', prepared.current.id).execute();
    if (prepared.secretChanged) {
      await forgetDestinations(trx, prepared.current.id);
      await rememberDestinations(trx, prepared.current.id, prepared.sentTo, now);
    }
    return { ...prepared.current, ...patch };
  });
}

/** Bring a public key, or generate an Ed25519 pair whose private half is returned once and never stored. */
export async function createSshKeyCredential(
  ctx: Context,
  input: { namespace: string; name: string; description?: string | null; publicKey?: string | null; generate?: boolean | null },
): Promise<{ credential: CredentialRow; privateKey: string | null }> {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: 'createSshKeyCredential' as const, namespace: ns, target: credentialResourceName(ns.name, input.name) };
  let privateKey: string | null = null;
  const credential = await mutate(ctx, scope, async ({ trx, note }) => {
    const common = parseInput(commonSchema, input);
    if (input.publicKey != null && input.generate) throw badInput('input.generate', 'give publicKey or generate: true, not both');
    if (input.publicKey == null && !input.generate) throw badInput('input.publicKey', 'give an OpenSSH public key, or generate: true to have a keypair generated');
    let publicKey = input.publicKey ?? '';
    if (input.generate) ({ publicKey, privateKey } = generateEd25519(`${ns.name}/${common.name}`));
    let parsed;
    try {
      parsed = parsePublicKey(publicKey);
    } catch (err) {
      inputError('input.publicKey', err);
    }
    const pub = { publicKey: parsed.publicKey, fingerprint: parsed.fingerprint, keyType: parsed.keyType, generated: Boolean(input.generate) };
    note({ type: 'SSH_KEY', generated: pub.generated, fingerprint: pub.fingerprint, keyType: pub.keyType });
    return insertCredential(ctx, trx, ns, { ...common, type: 'SSH_KEY', pub, sec: {} }, validationColumns(null, false, ''));
  });
  return { credential, privateKey };
}

/** Refused while registries use it, unless force: then they lose it, and the audit trail names them. */
export async function deleteCredential(ctx: Context, input: { namespace: string; name: string; force?: boolean | null }): Promise<string> {
  const ns = await namespaceNamed(ctx, input.namespace);
  const target = credentialResourceName(ns.name, input.name);
  await mutate(ctx, { operation: 'deleteCredential', namespace: ns, target }, async ({ trx, note }) => {
    const row = await credentialNamed(trx, ns, input.name);
    const users = await registriesUsing(trx, row.id);
    if (users.length && !input.force) {
      const names = users.map((r) => r.name);
      throw new DomainError(
        'CREDENTIAL_IN_USE',
        `credential "${row.name}" is used by registr${names.length === 1 ? 'y' : 'ies'} ${names.map((n) => `"${n}"`).join(', ')}: detach ${names.length === 1 ? 'it' : 'them'} first, or delete with force: true`,
        { registries: names },
      );
    }
    if (users.length) {
      await trx.updateTable('registries').set({ credential_id: null, updated_at: ctx.app.now().toISOString() }).where('credential_id', '=', row.id).execute();
    }
    note({ type: row.type, detachedRegistries: users.map((r) => r.name) });
    await trx.deleteFrom('credentials').where('id', '=', row.id).execute();
  });
  return target;
}

/** Checks the stored secret with its provider now and records the outcome; a "no" is also an error. */
export async function validateCredential(ctx: Context, input: { namespace: string; name: string }): Promise<CredentialRow> {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: 'validateCredential' as const, namespace: ns, target: credentialResourceName(ns.name, input.name) };
  const { row, result } = await attempt(ctx, scope, async () => {
    const row = await credentialNamed(ctx.app.db, ns, input.name);
    const result = await check(ctx, row.type, publicFieldsOf(row), unseal(ctx, row, ns.name), row.id).catch((err) => inputError('input', err));
    return { row, result };
  });
  const sentTo = result?.sentTo ?? [];
  await auditSecretLeaving(ctx, ns, row, sentTo, true);
  const now = ctx.app.now().toISOString();
  const validation =
    result === null && row.type === 'REGISTRY'
      ? { validation_status: 'UNCHECKED' as const, validation_message: 'no registry uses this credential yet', last_validated_at: now }
      : validationColumns(result, true, now);
  const updated = await mutate(ctx, scope, async ({ trx, note }) => {
    note({ validationStatus: validation.validation_status, ...(result?.status === 'INVALID' ? { httpStatus: result.httpStatus } : {}), sentTo });
    await trx.updateTable('credentials').set({ ...validation, updated_at: now }).where('id', '=', row.id).execute();
    return { ...row, ...validation, updated_at: now };
  });
  if (result && result.status !== 'VALID') throw rejection(result);
  return updated;
}

/** The decrypted secret fields, for editors; every reveal is an audit event (naming the fields, never their values). */
export async function revealCredentialSecret(ctx: Context, input: { namespace: string; name: string }) {
  const ns = await namespaceNamed(ctx, input.namespace);
  const scope = { operation: 'revealCredentialSecret' as const, namespace: ns, target: credentialResourceName(ns.name, input.name) };
  return mutate(ctx, scope, async ({ trx, note }) => {
    const row = await credentialNamed(trx, ns, input.name);
    const fields = Object.entries(unseal(ctx, row, ns.name)).map(([name, value]) => ({ name, value }));
    note({ type: row.type, fields: fields.map((f) => f.name) });
    return { credential: row, fields };
  });
}
