import { randomUUID } from 'node:crypto';
import type { TokenKind } from '../../db/types.js';
import { generateSecret, hashSecret, secretHint } from '../auth/secrets.js';
import type { TokenRow } from '../store/loaders.js';

/** A new token row of any kind with a fresh secret: only its hash and hint go into the row. */
export function newToken(kind: TokenKind, now: Date, fields: Partial<TokenRow>): { row: TokenRow; secret: string } {
  const secret = generateSecret(kind);
  const row: TokenRow = {
    id: randomUUID(),
    kind,
    name: null,
    description: null,
    namespace_id: null,
    user_id: null,
    created_by: null,
    role: null,
    admin: 0,
    enabled: 1,
    secret_hash: hashSecret(secret),
    secret_hint: secretHint(secret),
    previous_secret_hash: null,
    previous_secret_expires_at: null,
    secret_rotated_at: null,
    expires_at: null,
    last_used_at: null,
    revoked_at: null,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    ...fields,
  };
  return { row, secret };
}
