import { badInput } from './errors.js';

const DAY_MS = 86_400_000;
const MAX_DAYS = 3650;

export interface ExpiryInput {
  expiresAt?: Date | null;
  expiresInDays?: number | null;
}

/**
 * The one rule for token lifetimes. Give at most one of expiresAt and expiresInDays.
 * Neither means "no expiry", refused when the instance sets a maximum lifetime (then
 * `fallback` — e.g. the expiry a regenerated token already had — is used if given).
 */
export function resolveExpiry(
  input: ExpiryInput,
  now: Date,
  maxLifetimeDays: number | undefined,
  fallback?: string | null,
): string | null {
  const { expiresAt, expiresInDays } = input;
  if (expiresAt != null && expiresInDays != null) {
    throw badInput('input.expiresInDays', 'give at most one of expiresAt and expiresInDays');
  }
  let at: Date | null = null;
  let field = 'input.expiresAt';
  if (expiresInDays != null) {
    field = 'input.expiresInDays';
    if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > MAX_DAYS) {
      throw badInput(field, `must be a whole number of days from 1 to ${MAX_DAYS}`);
    }
    at = new Date(now.getTime() + expiresInDays * DAY_MS);
  } else if (expiresAt != null) {
    if (expiresAt.getTime() <= now.getTime()) throw badInput(field, `must be in the future (it is ${expiresAt.toISOString()})`);
    at = expiresAt;
  } else if (fallback !== undefined) {
    return fallback;
  }
  if (maxLifetimeDays !== undefined) {
    if (at === null) {
      throw badInput(field, `this instance requires an expiry within ${maxLifetimeDays} days: give expiresAt or expiresInDays`);
    }
    if (at.getTime() > now.getTime() + maxLifetimeDays * DAY_MS) {
      throw badInput(field, `must be within ${maxLifetimeDays} days from now (the instance's maximum token lifetime)`);
    }
  }
  return at ? at.toISOString() : null;
}

export const isExpired = (expiresAt: string | null, now: Date) => expiresAt !== null && Date.parse(expiresAt) <= now.getTime();
