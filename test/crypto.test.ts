import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SecretDecryptionError,
  decryptSecret,
  encryptSecret,
  loadKeyring,
  needsRotation,
  type Keyring,
} from '../src/credentials/crypto.js';

const key1 = randomBytes(32).toString('base64');
const key2 = randomBytes(32).toString('base64');
const binding = { credentialId: 'cred-1', namespaceId: 'ns-1' };

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scopegate-crypto-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function keyringOf(opts: { masterKey?: string; keyring?: string; activeKeyId?: string }): Keyring {
  return loadKeyring({ ...opts, dataDir: '/nonexistent', production: true, warn: () => {} });
}

describe('encryptSecret / decryptSecret', () => {
  const keyring = keyringOf({ masterKey: key1 });

  it('round-trips fields, including a 5 KB JSON value byte for byte', () => {
    const big = JSON.stringify({ type: 'service_account', key: 'x'.repeat(5000), ünicode: '✓ "quotes" \n newline' });
    expect(big.length).toBeGreaterThan(5000);
    const fields = { username: '_json_key', password: big };

    const stored = encryptSecret(keyring, fields, binding);
    expect(stored.keyId).toBe('k1');
    expect(stored.ciphertext).toMatch(/^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect(stored.ciphertext).not.toContain('_json_key');

    const decrypted = decryptSecret(keyring, stored, binding);
    expect(decrypted).toEqual(fields);
    expect(Buffer.from(decrypted.password, 'utf8').equals(Buffer.from(big, 'utf8'))).toBe(true);
  });

  it('uses a fresh nonce every time', () => {
    const a = encryptSecret(keyring, { token: 't' }, binding);
    const b = encryptSecret(keyring, { token: 't' }, binding);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('refuses a blob copied onto another credential or namespace', () => {
    const stored = encryptSecret(keyring, { token: 'secret' }, binding);
    expect(() => decryptSecret(keyring, stored, { ...binding, credentialId: 'cred-2' })).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(keyring, stored, { ...binding, namespaceId: 'ns-2' })).toThrow(
      'credential secret cannot be decrypted: it does not belong to this credential or the key is wrong',
    );
  });

  it('refuses a tampered blob', () => {
    const stored = encryptSecret(keyring, { token: 'secret' }, binding);
    const [version, nonce, tag, ct] = stored.ciphertext.split('.');
    const flipped = Buffer.from(ct, 'base64');
    flipped[0] ^= 1;
    const variants = [
      [version, nonce, tag, flipped.toString('base64')],
      [version, randomBytes(12).toString('base64'), tag, ct],
      [version, nonce, randomBytes(16).toString('base64'), ct],
      [version, nonce, Buffer.from(tag, 'base64').subarray(0, 8).toString('base64'), ct], // truncated tag
      ['v9', nonce, tag, ct],
      [version, nonce, tag],
    ];
    for (const parts of variants) {
      expect(() => decryptSecret(keyring, { ...stored, ciphertext: parts.join('.') }, binding)).toThrow(
        SecretDecryptionError,
      );
    }
  });

  it('refuses a blob under the wrong key', () => {
    const other = keyringOf({ masterKey: key2 });
    const stored = encryptSecret(keyring, { token: 'secret' }, binding);
    expect(() => decryptSecret(other, stored, binding)).toThrow(SecretDecryptionError);
  });

  it('names an unknown key id', () => {
    const stored = encryptSecret(keyring, { token: 'secret' }, binding);
    expect(() => decryptSecret(keyring, { ...stored, keyId: 'k0' }, binding)).toThrow(/key id "k0".*not in the keyring/);
  });

  it('decrypts old blobs from a keyring and flags them for rotation', () => {
    const stored = encryptSecret(keyring, { token: 'secret' }, binding);
    const rotated = keyringOf({ keyring: JSON.stringify({ k1: key1, k2: key2 }), activeKeyId: 'k2' });
    expect(decryptSecret(rotated, stored, binding)).toEqual({ token: 'secret' });
    expect(needsRotation(rotated, stored.keyId)).toBe(true);
    const fresh = encryptSecret(rotated, { token: 'secret' }, binding);
    expect(fresh.keyId).toBe('k2');
    expect(needsRotation(rotated, fresh.keyId)).toBe(false);
  });
});

describe('loadKeyring', () => {
  it('uses SCOPEGATE_MASTER_KEY as key "k1", or under SCOPEGATE_ACTIVE_KEY_ID', () => {
    expect(keyringOf({ masterKey: key1 }).activeKeyId).toBe('k1');
    const named = keyringOf({ masterKey: key1, activeKeyId: '2026-01' });
    expect(named.activeKeyId).toBe('2026-01');
    expect(named.keys.get('2026-01')?.toString('base64')).toBe(key1);
  });

  it('creates a development key file with mode 0600 and reuses it', () => {
    const dataDir = join(tempDir(), 'data');
    const warnings: string[] = [];
    const first = loadKeyring({ dataDir, production: false, warn: (m) => warnings.push(m) });
    const file = join(dataDir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first.keys.get('k1')!)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('SCOPEGATE_MASTER_KEY');
    expect(warnings[0]).toContain(file);

    const second = loadKeyring({ dataDir, production: false, warn: (m) => warnings.push(m) });
    expect(second.keys.get('k1')!.equals(first.keys.get('k1')!)).toBe(true);
    expect(warnings).toHaveLength(2);

    const stored = encryptSecret(first, { token: 'secret' }, binding);
    expect(decryptSecret(second, stored, binding)).toEqual({ token: 'secret' });
  });

  it('refuses to start in production without a key, naming the variable', () => {
    const dataDir = join(tempDir(), 'data');
    expect(() => loadKeyring({ dataDir, production: true, warn: () => {} })).toThrow(/SCOPEGATE_MASTER_KEY/);
    expect(() => statSync(join(dataDir, 'master.key'))).toThrow();
  });

  it('rejects malformed keys without echoing them', () => {
    const cases: Array<[string, RegExp]> = [
      ['not base64 at all!', /SCOPEGATE_MASTER_KEY is not valid base64: expected base64 of exactly 32/],
      [randomBytes(16).toString('base64'), /SCOPEGATE_MASTER_KEY decodes to 16 bytes: expected base64 of exactly 32/],
      [randomBytes(33).toString('base64'), /decodes to 33 bytes/],
      [key1.slice(0, -1), /not valid base64/],
    ];
    for (const [masterKey, message] of cases) {
      let error: Error | undefined;
      try {
        keyringOf({ masterKey });
      } catch (err) {
        error = err as Error;
      }
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain(masterKey);
    }
  });

  it('validates SCOPEGATE_KEYRING and SCOPEGATE_ACTIVE_KEY_ID', () => {
    const ring = JSON.stringify({ k1: key1, k2: key2 });
    expect(() => keyringOf({ keyring: ring })).toThrow(/SCOPEGATE_ACTIVE_KEY_ID is required.*k1, k2/);
    expect(() => keyringOf({ keyring: ring, activeKeyId: 'k3' })).toThrow(/"k3" is not in SCOPEGATE_KEYRING/);
    expect(() => keyringOf({ keyring: '{nope', activeKeyId: 'k1' })).toThrow(/SCOPEGATE_KEYRING is not valid JSON/);
    expect(() => keyringOf({ keyring: '{}', activeKeyId: 'k1' })).toThrow(/non-empty JSON object/);
    expect(() => keyringOf({ keyring: JSON.stringify({ k1: 'short' }), activeKeyId: 'k1' })).toThrow(
      /SCOPEGATE_KEYRING key "k1"/,
    );
    expect(() => keyringOf({ keyring: JSON.stringify({ 'bad id': key1 }), activeKeyId: 'k1' })).toThrow(
      /key id "bad id" is not allowed/,
    );
    expect(() => keyringOf({ masterKey: key1, keyring: ring, activeKeyId: 'k1' })).toThrow(/not both/);
    expect(keyringOf({ keyring: ring, activeKeyId: 'k2' }).keys.size).toBe(2);
  });
});
