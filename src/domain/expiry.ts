import { badInput } from './errors.js';

export const DAY_MS = 86_400_000;
const MAX_DAYS = 3650;

export interface ExpiryInput {
  expiresAt?: Date | null;
  expiresInDays?: number | null;
}

/**
 * The instance's maximum lifetime counts from when a token's current secret was issued (its
 * creation or last regeneration): the latest expiry it allows, or null without a maximum.
 */
export const latestExpiry = (issuedAt: Date, maxLifetimeDays: number | undefined): Date | null =>
  maxLifetimeDays === undefined ? null : new Date(issuedAt.getTime() + maxLifetimeDays * DAY_MS);

export const secretIssuedAt = (token: { secret_rotated_at: string | null; created_at: string }): Date =>
  new Date(token.secret_rotated_at ?? token.created_at);

/**
 * The one rule for token lifetimes. Give at most one of expiresAt and expiresInDays.
 * Neither means "no expiry", refused when the instance sets a maximum lifetime; then
 * `fallback` — the expiry a regenerated token already had — is used if given, brought within
 * the maximum. `issuedAt`: when the token's secret was issued, if not now (an update).
 */
export function resolveExpiry(
  input: ExpiryInput,
  now: Date,
  maxLifetimeDays: number | undefined,
  { fallback, issuedAt = now }: { fallback?: string | null; issuedAt?: Date } = {},
): string | null {
  const { expiresAt, expiresInDays } = input;
  if (expiresAt != null && expiresInDays != null) {
    throw badInput('input.expiresInDays', 'give at most one of expiresAt and expiresInDays');
  }
  const latest = latestExpiry(issuedAt, maxLifetimeDays);
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
    // Nothing asked for: keep what the token had, as far as the maximum allows.
    return latest && (fallback === null || Date.parse(fallback) > latest.getTime()) ? latest.toISOString() : fallback;
  }
  if (latest) {
    if (at === null) {
      throw badInput(field, `this instance requires an expiry within ${maxLifetimeDays} days: give expiresAt or expiresInDays`);
    }
    if (at.getTime() > latest.getTime()) {
      throw badInput(
        field,
        issuedAt === now
          ? `must be within ${maxLifetimeDays} days from now (the instance's maximum token lifetime)`
          : `must be no later than ${latest.toISOString()}, ${maxLifetimeDays} days after its secret was issued (the instance's maximum token lifetime); regenerate the token for a later expiry`,
      );
    }
  }
  return at ? at.toISOString() : null;
}

export const isExpired = (expiresAt: string | null, now: Date) => expiresAt !== null && Date.parse(expiresAt) <= now.getTime();
