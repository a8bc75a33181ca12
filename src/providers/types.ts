/**
 * What every provider check returns. INVALID means the provider answered and
 * said no (VALIDATION_FAILED); UNREACHABLE means we could not get an answer
 * (PROVIDER_UNREACHABLE). Messages never contain a secret.
 */
export type ValidationResult =
  | { status: 'VALID'; message: string }
  | { status: 'INVALID'; httpStatus: number; message: string }
  | { status: 'UNREACHABLE'; message: string };

export interface ProviderOptions {
  /** Upper bound for the whole check, all requests included. */
  timeoutMs: number;
  fetch?: typeof fetch;
  userAgent?: string;
}

/** The input cannot be checked as given (bad host, bad URL, missing username): a BAD_USER_INPUT. */
export class ProviderInputError extends Error {
  override name = 'ProviderInputError';
}
