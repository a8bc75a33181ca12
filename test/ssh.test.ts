import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidSshKeyError, generateEd25519, parsePublicKey } from '../src/credentials/ssh.js';

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const dir = mkdtempSync(join(tmpdir(), 'scopegate-ssh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(...args: string[]): string {
  return execFileSync(SSH_KEYGEN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** "type base64" of an authorized_keys line, ignoring the comment. */
function typeAndBlob(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** The SHA256:... field of `ssh-keygen -l`. */
function keygenFingerprint(pubFile: string): { bits: number; fingerprint: string } {
  const [bits, fingerprint] = keygen('-l', '-E', 'sha256', '-f', pubFile).trim().split(/\s+/);
  return { bits: Number(bits), fingerprint };
}

let counter = 0;
function keygenPair(type: string, extra: string[] = []): { privateFile: string; publicKey: string } {
  const privateFile = join(dir, `key-${type}-${counter++}`);
  keygen('-q', '-t', type, ...extra, '-N', '', '-C', `${type}@test`, '-f', privateFile);
  return { privateFile, publicKey: readFileSync(`${privateFile}.pub`, 'utf8') };
}

function invalidKeyMessage(text: string): string {
  try {
    parsePublicKey(text);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSshKeyError);
    return (err as Error).message;
  }
  throw new Error('expected the key to be rejected');
}

describe('generateEd25519', () => {
  it('produces an OpenSSH private key that ssh-keygen accepts and that matches the public key', () => {
    const { publicKey, privateKey } = generateEd25519('deploy@scopegate');
    expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(publicKey).toMatch(/^ssh-ed25519 AAAA\S+ deploy@scopegate$/);

    const privateFile = join(dir, 'generated');
    writeFileSync(privateFile, privateKey, { mode: 0o600 });
    expect(typeAndBlob(keygen('-y', '-f', privateFile))).toBe(typeAndBlob(publicKey));

    const pubFile = join(dir, 'generated.pub');
    writeFileSync(pubFile, `${publicKey}\n`);
    const parsed = parsePublicKey(publicKey);
    expect(parsed).toMatchObject({ keyType: 'ssh-ed25519', bits: 256, comment: 'deploy@scopegate', publicKey });
    expect(parsed.fingerprint).toBe(keygenFingerprint(pubFile).fingerprint);
  });

  it('keeps line breaks out of the comment', () => {
    const { publicKey } = generateEd25519('evil\nssh-rsa AAAA');
    expect(publicKey.split('\n')).toHaveLength(1);
  });
});

describe('parsePublicKey', () => {
  const cases: Array<[string, string[], string]> = [
    ['ed25519', [], 'ssh-ed25519'],
    ['rsa', ['-b', '2048'], 'ssh-rsa'],
    ['rsa', ['-b', '4096'], 'ssh-rsa'],
    ['ecdsa', [], 'ecdsa-sha2-nistp256'],
    ['ecdsa', ['-b', '384'], 'ecdsa-sha2-nistp384'],
    ['ecdsa', ['-b', '521'], 'ecdsa-sha2-nistp521'],
  ];
  for (const [type, extra, keyType] of cases) {
    it(`parses and fingerprints ${keyType} ${extra.join(' ')} exactly like ssh-keygen -l`, () => {
      const { privateFile, publicKey } = keygenPair(type, extra);
      const parsed = parsePublicKey(publicKey);
      expect(parsed.keyType).toBe(keyType);
      expect(parsed.publicKey).toBe(publicKey.trim());
      expect(parsed.comment).toBe(`${type}@test`);
      expect(parsed.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      const expected = keygenFingerprint(`${privateFile}.pub`);
      expect(parsed.fingerprint).toBe(expected.fingerprint);
      expect(parsed.bits).toBe(expected.bits);
    });
  }

  it('normalises whitespace and accepts a key without comment', () => {
    const { publicKey } = keygenPair('ed25519');
    const [type, blob] = publicKey.trim().split(' ');
    const parsed = parsePublicKey(`\n  ${type}\t${blob}   \n`);
    expect(parsed.publicKey).toBe(`${type} ${blob}`);
    expect(parsed.comment).toBeUndefined();
  });

  it('rejects RSA keys under 2048 bits', () => {
    const { publicKey } = keygenPair('rsa', ['-b', '1024']);
    expect(invalidKeyMessage(publicKey)).toMatch(/1024 bits; at least 2048 are required/);
  });

  it('rejects a private key pasted by mistake, saying so', () => {
    const { privateFile } = keygenPair('ed25519');
    const message = invalidKeyMessage(readFileSync(privateFile, 'utf8'));
    expect(message).toMatch(/This is a private key, not a public key/);
    expect(invalidKeyMessage(generateEd25519('x').privateKey)).toMatch(/private key/);
  });

  it('rejects DSA keys', () => {
    // Modern OpenSSH builds may not generate DSA any more; a fixed key does.
    const dsa =
      'ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACAUb7HKOjE6TJSvX9+Qw4Ltdm7L7zLqjfg4ftbHzM3jvSoDaIk5TJ7tGbb92D2bVPXoX65qjtTtU8zeWjaOoWl0nkWC+ydhtTyg96dzNezLY2RyD/VeUq7OOBjU6xu14DkMQ3qeyRCRUvgrSTlGdWu8vuIVLB1QoagSf2SghEaAlw= dsa@test';
    expect(invalidKeyMessage(dsa)).toMatch(/DSA keys are not accepted/);
  });

  it('rejects empty input, garbage and several keys', () => {
    const one = keygenPair('ed25519').publicKey.trim();
    const two = keygenPair('ecdsa').publicKey.trim();
    expect(invalidKeyMessage('   \n')).toMatch(/empty/);
    expect(invalidKeyMessage('hello world')).toMatch(/Not a valid OpenSSH public key.*Ed25519, RSA of at least 2048 bits/);
    expect(invalidKeyMessage('ssh-ed25519 AAAA')).toMatch(/Not a valid OpenSSH public key/);
    expect(invalidKeyMessage(`${one}\n${two}\n`)).toMatch(/exactly one key/);
    expect(invalidKeyMessage(`${one} ${two}`)).toMatch(/more than one key/);
    const [type, blob] = one.split(' ');
    expect(invalidKeyMessage(`ssh-rsa ${blob}`)).toMatch(/Not a valid OpenSSH public key/);
    expect(type).toBe('ssh-ed25519');
  });
});
