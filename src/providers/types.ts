import type { SessionOptions } from '../outbound/client.js';
import type { OutboundPolicy } from '../outbound/policy.js';

/**
 * What a provider check decides. INVALID means the provider answered and said no
 * (VALIDATION_FAILED); UNREACHABLE means we could not get an answer (PROVIDER_UNREACHABLE).
 * Messages are our own fixed texts: never a secret, never the provider's words.
 */
export type Verdict =
  | { status: 'VALID'; message: string }
  | { status: 'INVALID'; httpStatus: number; message: string }
  | { status: 'UNREACHABLE'; message: string };

/** A verdict and the hosts the secret went to, as the outbound client saw them (for the audit trail). */
export type ValidationResult = Verdict & { sentTo: string[] };

export interface ProviderOptions {
  /** Upper bound for the whole check, all requests included. */
  timeoutMs: number;
  /** Instead, a deadline shared with other checks, started with timeoutMs (a credential's registries). */
  deadline?: AbortSignal;
  /** Where requests may go (SCOPEGATE_ALLOW_PRIVATE_TARGETS, SCOPEGATE_OUTBOUND_ALLOW). */
  policy: OutboundPolicy;
  userAgent?: string;
  /** Receives the causes of network failures, which callers never see. */
  log?: SessionOptions['log'];
}

/** The input cannot be checked as given (bad host, bad URL, missing username): a BAD_USER_INPUT. */
export class ProviderInputError extends Error {
  override name = 'ProviderInputError';
}
