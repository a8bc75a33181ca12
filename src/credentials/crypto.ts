/**
 * Secrets at rest: AES-256-GCM per credential, keys from a keyring.
 *
 * Stored form: "v1.<b64 nonce>.<b64 tag>.<b64 ciphertext>" plus the key id in
 * its own column. The additional authenticated data binds the blob to its
 * credential and namespace, so a blob copied onto another row fails to decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';

export interface Keyring {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export interface SecretBinding {
  credentialId: string;
  namespaceId: string;
}

export interface StoredSecret {
  ciphertext: string;
  keyId: string;
}

export class SecretDecryptionError extends Error {
  override name = 'SecretDecryptionError';
}

const FORMAT_VERSION = 'v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const DEFAULT_KEY_ID = 'k1';
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KEY_HELP = 'base64 of exactly 32 random bytes, e.g. the output of `openssl rand -base64 32`';

// ---------------------------------------------------------------------------
// Loading keys
// ---------------------------------------------------------------------------

export interface LoadKeyringOptions {
  /** SCOPEGATE_MASTER_KEY */
  masterKey?: string;
  /** SCOPEGATE_KEYRING: JSON object {"keyId": "base64 key", ...} */
  keyring?: string;
  /** SCOPEGATE_ACTIVE_KEY_ID */
  activeKeyId?: string;
  dataDir: string;
  production: boolean;
  warn: (msg: string) => void;
}

/** The keyring the configuration names (server and scripts alike). */
export function keyringFromConfig(config: Config, warn: (msg: string) => void): Keyring {
  return loadKeyring({
    masterKey: config.SCOPEGATE_MASTER_KEY,
    keyring: config.SCOPEGATE_KEYRING,
    activeKeyId: config.SCOPEGATE_ACTIVE_KEY_ID,
    dataDir: config.SCOPEGATE_DATA_DIR,
    production: config.NODE_ENV === 'production',
    warn,
  });
}

export function loadKeyring(opts: LoadKeyringOptions): Keyring {
  const masterKey = blankToUndefined(opts.masterKey);
  const keyringJson = blankToUndefined(opts.keyring);
  const activeKeyId = blankToUndefined(opts.activeKeyId);
  if (activeKeyId !== undefined) checkKeyId(activeKeyId, 'SCOPEGATE_ACTIVE_KEY_ID');

  if (masterKey && keyringJson) {
    // Two sources would make "which key is active" a guess; rotation uses the keyring alone.
    throw new Error(
      'Set either SCOPEGATE_MASTER_KEY or SCOPEGATE_KEYRING, not both ' +
        '(to rotate, list the old and new keys in SCOPEGATE_KEYRING).',
    );
  }
  if (keyringJson) return parseKeyring(keyringJson, activeKeyId);

  const keyId = activeKeyId ?? DEFAULT_KEY_ID;
  if (masterKey) return single(keyId, decodeKey(masterKey, 'SCOPEGATE_MASTER_KEY'));

  if (opts.production) {
    throw new Error(
      `SCOPEGATE_MASTER_KEY is not set: production (NODE_ENV=production) refuses to start without an encryption key. ` +
        `Set SCOPEGATE_MASTER_KEY to ${KEY_HELP}, or SCOPEGATE_KEYRING with SCOPEGATE_ACTIVE_KEY_ID.`,
    );
  }
  return single(keyId, developmentKey(opts.dataDir, opts.warn));
}

function parseKeyring(json: string, activeKeyId: string | undefined): Keyring {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('SCOPEGATE_KEYRING is not valid JSON: expected an object like {"k1": "<base64 key>", "k2": "<base64 key>"}.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw new Error('SCOPEGATE_KEYRING must be a non-empty JSON object like {"k1": "<base64 key>"}.');
  }
  const keys = new Map<string, Buffer>();
  for (const [keyId, value] of Object.entries(parsed)) {
    checkKeyId(keyId, 'SCOPEGATE_KEYRING');
    if (typeof value !== 'string') throw new Error(`SCOPEGATE_KEYRING key "${keyId}" must be a string: ${KEY_HELP}.`);
    keys.set(keyId, decodeKey(value, `SCOPEGATE_KEYRING key "${keyId}"`));
  }
  if (activeKeyId === undefined) {
    throw new Error(`SCOPEGATE_ACTIVE_KEY_ID is required with SCOPEGATE_KEYRING: name one of ${[...keys.keys()].join(', ')}.`);
  }
  if (!keys.has(activeKeyId)) {
    throw new Error(
      `SCOPEGATE_ACTIVE_KEY_ID "${activeKeyId}" is not in SCOPEGATE_KEYRING: name one of ${[...keys.keys()].join(', ')}.`,
    );
  }
  return { activeKeyId, keys };
}

/** Development only: a key file beside the database, created once and reused. */
function developmentKey(dataDir: string, warn: (msg: string) => void): Buffer {
  const file = join(dataDir, 'master.key');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let created = false;
  try {
    // Write a temp file and hard-link it into place: the link fails if another
    // process got there first, and nobody ever reads a half-written key.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file);
      created = true;
    } finally {
      unlinkSync(tmp);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600); // a key readable by others is a leaked key
  const key = decodeKey(readFileSync(file, 'utf8'), `the key file ${file}`);
  warn(
    `SCOPEGATE_MASTER_KEY is not set: ${created ? 'created' : 'using'} the development key file ${file} (mode 0600). ` +
      'Set SCOPEGATE_MASTER_KEY for production; losing this file makes stored credentials unreadable.',
  );
  return key;
}

function decodeKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  // Buffer.from(..., 'base64') silently skips bad characters, so check the shape first.
  if (!BASE64_PATTERN.test(trimmed)) throw new Error(`${source} is not valid base64: expected ${KEY_HELP}.`);
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`${source} decodes to ${key.length} bytes: expected ${KEY_HELP}.`);
  }
  return key;
}

function checkKeyId(keyId: string, source: string): void {
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new Error(`${source}: key id "${keyId}" is not allowed; use 1-64 letters, digits, "_" or "-".`);
  }
}

function single(keyId: string, key: Buffer): Keyring {
  return { activeKeyId: keyId, keys: new Map([[keyId, key]]) };
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

// ---------------------------------------------------------------------------
// Encrypting and decrypting
// ---------------------------------------------------------------------------

export function encryptSecret(keyring: Keyring, fields: Record<string, string>, aad: SecretBinding): StoredSecret {
  const keyId = keyring.activeKeyId;
  const key = keyring.keys.get(keyId);
  if (!key) throw new Error(`the active key id "${keyId}" is not in the keyring`);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(FORMAT_VERSION, aad));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(fields), 'utf8'), cipher.final()]);
  const parts = [nonce, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64'));
  return { ciphertext: [FORMAT_VERSION, ...parts].join('.'), keyId };
}

export function decryptSecret(keyring: Keyring, stored: StoredSecret, aad: SecretBinding): Record<string, string> {
  const key = keyring.keys.get(stored.keyId);
  if (!key) {
    throw new SecretDecryptionError(
      `credential secret cannot be decrypted: it was encrypted with key id "${stored.keyId}", ` +
        'which is not in the keyring (add it to SCOPEGATE_KEYRING)',
    );
  }
  const [version, nonce, tag, ciphertext, ...rest] = stored.ciphertext.split('.');
  if (version !== FORMAT_VERSION || rest.length > 0 || ciphertext === undefined) {
    throw new SecretDecryptionError('credential secret cannot be decrypted: unknown or damaged storage format');
  }
  let plaintext: string;
  try {
    // authTagLength pins the tag size: without it GCM would accept a truncated tag.
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(version, aad));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptionError(
      'credential secret cannot be decrypted: it does not belong to this credential or the key is wrong',
    );
  }
  return parseFields(plaintext);
}

/** True when the secret should be re-encrypted under the active key. */
export function needsRotation(keyring: Keyring, keyId: string): boolean {
  return keyId !== keyring.activeKeyId;
}

// A JSON array keeps the parts unambiguous whatever characters the ids contain.
function associatedData(version: string, aad: SecretBinding): Buffer {
  return Buffer.from(JSON.stringify(['scopegate-credential', version, aad.credentialId, aad.namespaceId]), 'utf8');
}

function parseFields(plaintext: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    // JSON.parse quotes the text it chokes on: never let decrypted content into a message.
    throw new SecretDecryptionError('credential secret cannot be decrypted: the content is not a set of fields');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SecretDecryptionError('credential secret cannot be decrypted: the content is not a set of fields');
  }
  for (const field of Object.values(value)) {
    if (typeof field !== 'string') {
      throw new SecretDecryptionError('credential secret cannot be decrypted: the content is not a set of fields');
    }
  }
  return value as Record<string, string>;
}
