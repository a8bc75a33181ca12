import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'CREDENTIAL_IN_USE'
  | 'VALIDATION_FAILED'
  | 'PROVIDER_UNREACHABLE'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'INTERNAL_SERVER_ERROR';

/** The longest message an error carries: a caller's input (up to the 2 MB body) is never echoed whole. */
const MAX_MESSAGE = 1000;

/** A caller's value inside a message: quoted (control characters escaped), and cut when long. */
export function shown(value: string, max = 100): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}… (${value.length} characters)` : value);
}

/** An error meant for the caller: its message and code reach the client unmasked. */
export class DomainError extends GraphQLError {
  /** The namespace the refused operation named, for the audit trail only (never sent to the client). */
  namespace?: string;

  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message, { extensions: { code, ...extra } });
  }

  inNamespace(name: string): this {
    this.namespace = name;
    return this;
  }
  get code(): ErrorCode {
    return this.extensions.code as ErrorCode;
  }
}

export const badInput = (field: string, message: string) =>
  new DomainError('BAD_USER_INPUT', `${field}: ${message}`, { field });
export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new DomainError('CONFLICT', message);
export const forbidden = (message: string, extra: Record<string, unknown> = {}) =>
  new DomainError('FORBIDDEN', message, extra);
