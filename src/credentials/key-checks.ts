/**
 * A key id names one key for good. The first time a key id is configured, a check value
 * derived from its key is recorded; from then on the server (at start) and the scripts
 * (before they act) refuse a key whose material does not match its id's check value. Without
 * this, a wrong key would start, and seal new secrets and audit events under an id whose
 * stored ones it cannot read: two keys behind one id.
 *
 * Key ids and check values are checked, not every row: one unreadable credential is that
 * credential's problem (re-entering its secret repairs it), not the instance's.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { chainKeyOf, hashAuditEvent } from '../domain/audit.js';
import type { Executor } from '../store/db.js';
import { otherSecretKeyIds, recordCheckValues, sealedSample, storedCheckValues } from '../store/key-checks.js';
import { decryptSecret, type Keyring } from './crypto.js';

/** HKDF label of the check key: independent of the key's other uses (AES-GCM, the audit chain's HMAC key). */
const CHECK_KEY_INFO = 'scopegate key check v1';
/** Credentials tried when a key id has no check value yet: any one that opens proves the key. */
const PROOF_SAMPLE = 3;

export class KeyCheckError extends Error {
  override name = 'KeyCheckError';
}

/** An HMAC of a fixed label and the key id, under a key derived for this alone: it reveals nothing about the key. */
export function checkValueOf(key: Buffer, keyId: string): string {
  const checkKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), CHECK_KEY_INFO, 32));
  return createHmac('sha256', checkKey).update(JSON.stringify(['scopegate key check', keyId])).digest('hex');
}

/**
 * Checks every configured key against its id's check value. An id without one is first
 * proven against a blob stored under it (the newest audit event it sealed, or a credential
 * secret); an id nothing was sealed under yet is new. Then, with `record`, the check values
 * of the ids checked this way are stored, so the next start compares values only.
 * Nothing is recorded unless every key passed. Throws KeyCheckError naming the id.
 */
export async function checkKeys(db: Executor, keyring: Keyring, { record }: { record: boolean }): Promise<void> {
  const stored = await storedCheckValues(db);
  const unrecorded = new Map<string, string>();
  for (const [keyId, key] of keyring.keys) {
    const value = checkValueOf(key, keyId);
    const known = stored.get(keyId);
    if (known !== undefined) {
      if (known !== value) throw mismatch(keyId, 'its check value in the database differs');
    } else if ((await provenByStoredBlob(db, keyring, keyId)) === false) {
      throw mismatch(keyId, 'it opens none of the secrets and audit events stored under that id');
    } else {
      unrecorded.set(keyId, value);
    }
  }
  if (!record || !unrecorded.size) return;
  await recordCheckValues(db, unrecorded, new Date().toISOString());
  // A replica starting at the same moment may have recorded the id first, with other material.
  const now = await storedCheckValues(db);
  for (const [keyId, value] of unrecorded) {
    if (now.get(keyId) !== value) throw mismatch(keyId, 'its check value in the database differs');
  }
}

/** True when a blob sealed under the id opens with the key, false when none does, null when there is none. */
async function provenByStoredBlob(db: Executor, keyring: Keyring, keyId: string): Promise<boolean | null> {
  const { event, credentials } = await sealedSample(db, keyId, PROOF_SAMPLE);
  if (event) {
    const { seq: _seq, hash, ...content } = event;
    if (hashAuditEvent(content, chainKeyOf(keyring, keyId)) === hash) return true;
  }
  for (const c of credentials) {
    try {
      decryptSecret(keyring, { ciphertext: c.secret_ciphertext, keyId }, { credentialId: c.id, namespaceId: c.namespace_id });
      return true;
    } catch {
      // Another sample may open: a single damaged blob does not disprove the key.
    }
  }
  return event || credentials.length ? false : null;
}

function mismatch(keyId: string, why: string): KeyCheckError {
  return new KeyCheckError(
    `the key configured for key id "${keyId}" is not the key "${keyId}" this database was sealed with (${why}). ` +
      `Restore the original key for "${keyId}" (SCOPEGATE_MASTER_KEY, SCOPEGATE_KEYRING, or the development key file). ` +
      `To move to a new key, give it a new id in SCOPEGATE_KEYRING beside the original "${keyId}", make it SCOPEGATE_ACTIVE_KEY_ID ` +
      `and run rotate-key. If it is lost, leave "${keyId}" out of the keyring and enter the secrets sealed under it anew.`,
  );
}

/**
 * Key ids that seal stored credential secrets but are missing from the keyring: those secrets
 * cannot be read, so the instance is not ready. Audit events count for nothing here: serving
 * never reads old events; audit:verify needs their key and says so.
 */
export function missingSecretKeys(db: Executor, keyring: Keyring): Promise<string[]> {
  return otherSecretKeyIds(db, [...keyring.keys.keys()]);
}

export function missingKeysMessage(keyIds: string[]): string {
  const ids = keyIds.map((id) => `"${id}"`).join(', ');
  return (
    `credential secrets are sealed under key id ${ids}, missing from the keyring: add ${keyIds.length > 1 ? 'those keys' : 'that key'} ` +
    'to SCOPEGATE_KEYRING (`rotate-key --dry-run` names the credentials; if a key is lost, enter their secrets anew)'
  );
}
