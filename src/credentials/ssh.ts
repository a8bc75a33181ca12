/**
 * SSH public keys: parse and fingerprint with sshpk (same output as
 * `ssh-keygen -l`), generate Ed25519 keypairs with ssh2 (Node itself cannot
 * write the OpenSSH private key format).
 */
import type Sshpk from 'sshpk';
import { lazyRequire } from '../lazy.js';

const ssh2 = lazyRequire<typeof import('ssh2')>('ssh2');
const sshpk = lazyRequire<typeof Sshpk>('sshpk');

export interface ParsedPublicKey {
  /** "type base64 [comment]", as in authorized_keys */
  publicKey: string;
  /** ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ... */
  keyType: string;
  /** SHA256:base64-without-padding, as `ssh-keygen -l` prints it */
  fingerprint: string;
  bits: number;
  comment?: string;
}

export class InvalidSshKeyError extends Error {
  override name = 'InvalidSshKeyError';
}

const MIN_RSA_BITS = 2048;
const ALLOWED =
  'Paste one OpenSSH public key, e.g. "ssh-ed25519 AAAAC3Nz... you@host" ' +
  '(Ed25519, RSA of at least 2048 bits, or ECDSA nistp256/384/521).';
const KEY_START = /(?:^|\s)(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+@openssh\.com)\s+AAAA/;

/** Far above any real public key (a 16384-bit RSA key is ~2.8 KiB), so a comment cannot carry megabytes. */
const MAX_PUBLIC_KEY = 16_384;

export function parsePublicKey(text: string): ParsedPublicKey {
  if (text.length > MAX_PUBLIC_KEY) throw new InvalidSshKeyError(`The SSH public key is longer than ${MAX_PUBLIC_KEY} characters. ${ALLOWED}`);
  const trimmed = text.trim();
  if (trimmed === '') throw new InvalidSshKeyError(`The SSH public key is empty. ${ALLOWED}`);
  if (/PRIVATE KEY-----|^PuTTY-User-Key-File/m.test(trimmed)) {
    throw new InvalidSshKeyError(
      'This is a private key, not a public key: never paste a private key here. ' +
        `Paste the matching .pub file instead (\`ssh-keygen -y -f <keyfile>\` prints it). ${ALLOWED}`,
    );
  }
  if (trimmed.startsWith('---- BEGIN SSH2 PUBLIC KEY')) {
    throw new InvalidSshKeyError(`This is an RFC 4716 (SSH2) key; convert it with \`ssh-keygen -i -f <file>\`. ${ALLOWED}`);
  }
  const lines = trimmed.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length > 1) {
    throw new InvalidSshKeyError(`Found ${lines.length} lines; exactly one key is accepted. ${ALLOWED}`);
  }

  const [typeToken = '', blob = '', ...commentWords] = trimmed.split(/\s+/);
  const comment = commentWords.join(' ') || undefined;
  // sshpk would take a second key on the same line as the first one's comment.
  if (comment && KEY_START.test(` ${comment}`)) {
    throw new InvalidSshKeyError(`Found more than one key; exactly one key is accepted. ${ALLOWED}`);
  }

  let key: Sshpk.Key;
  try {
    key = sshpk().parseKey(`${typeToken} ${blob}`, 'ssh');
  } catch {
    throw new InvalidSshKeyError(`Not a valid OpenSSH public key. ${ALLOWED}`);
  }
  checkAlgorithm(key);

  const keyType = key.toString('ssh').split(' ')[0];
  const base64 = key.toBuffer('rfc4253').toString('base64');
  return {
    publicKey: comment ? `${keyType} ${base64} ${comment}` : `${keyType} ${base64}`,
    keyType,
    fingerprint: key.fingerprint('sha256').toString(),
    bits: key.size,
    ...(comment ? { comment } : {}),
  };
}

function checkAlgorithm(key: Sshpk.Key): void {
  switch (key.type) {
    case 'ed25519':
    case 'ecdsa': // sshpk only knows nistp256/384/521
      return;
    case 'rsa':
      if (key.size < MIN_RSA_BITS) {
        throw new InvalidSshKeyError(`This RSA key has ${key.size} bits; at least ${MIN_RSA_BITS} are required. ${ALLOWED}`);
      }
      return;
    case 'dsa':
      throw new InvalidSshKeyError(`DSA keys are not accepted (OpenSSH has disabled them as insecure). ${ALLOWED}`);
    default:
      throw new InvalidSshKeyError(`Keys of type ${key.type} are not accepted. ${ALLOWED}`);
  }
}

/** A new Ed25519 keypair, both halves in OpenSSH form. The private key is unencrypted: hand it out once, never store it. */
export function generateEd25519(comment: string): { publicKey: string; privateKey: string } {
  // A line break in the comment would corrupt the authorized_keys line.
  const safeComment = comment.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  const pair = ssh2().utils.generateKeyPairSync('ed25519', { comment: safeComment });
  return { publicKey: pair.public, privateKey: pair.private };
}
