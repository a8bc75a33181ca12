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

/** An error meant for the caller: its message and code reach the client unmasked. */
export class DomainError extends GraphQLError {
  /** The namespace the refused operation named, for the audit trail only (never sent to the client). */
  namespace?: string;

  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
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
