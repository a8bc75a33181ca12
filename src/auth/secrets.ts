import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Token secrets, GitHub style: a prefix naming the kind, 30 random base62 characters
 * (≈178 bits) and 6 base62 characters of CRC32 over the random part. The checksum lets
 * us reject a mistyped or truncated token without a database lookup and lets secret
 * scanners recognise our tokens with few false positives.
 */
export const SECRET_PREFIX = { API: 'sgt_', PERSONAL: 'sgp_', SESSION: 'sgs_' } as const;
export type SecretKind = keyof typeof SECRET_PREFIX;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;
export const SECRET_PATTERN = /^(sgt|sgp|sgs)_([0-9A-Za-z]{30})([0-9A-Za-z]{6})$/;

function base62(value: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // Rejection sampling keeps every character uniform (248 = 4 × 62).
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

const checksum = (body: string) => base62(crc32(body), CHECKSUM_LENGTH);

export function generateSecret(kind: SecretKind): string {
  const body = randomBase62(RANDOM_LENGTH);
  return `${SECRET_PREFIX[kind]}${body}${checksum(body)}`;
}

/** The kind of a well-formed secret with a valid checksum, or null. */
export function parseSecret(secret: string): SecretKind | null {
  const match = SECRET_PATTERN.exec(secret);
  if (!match || checksum(match[2]) !== match[3]) return null;
  const prefix = `${match[1]}_`;
  return (Object.keys(SECRET_PREFIX) as SecretKind[]).find((k) => SECRET_PREFIX[k] === prefix) ?? null;
}

/** Tokens are high-entropy, so a fast hash is enough (slow hashes are for passwords). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** What a person sees to recognise a token: its prefix and last four characters. */
export function secretHint(secret: string): string {
  return `${secret.slice(0, 4)}…${secret.slice(-4)}`;
}

