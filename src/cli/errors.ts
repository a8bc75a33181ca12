import { ScopegateError } from '../client/index.js';

/** Exit statuses, the same for every command. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unauthenticated: 3, unreachable: 4 } as const;

/** The command line was wrong: a missing or conflicting flag, a secret on the command line, a missing --yes. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** No token to send: neither SCOPEGATE_TOKEN, --token-file nor a stored login. */
export class NotAuthenticatedError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Something the server answered that the command treats as a refusal (e.g. a namespace it cannot see). */
export class RefusedError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** What to do about the server's other refusals. */
const HINTS: Record<string, string> = {
  VALIDATION_FAILED: 'the provider refused the secret: check it, or store it unchecked with --skip-validation',
  PROVIDER_UNREACHABLE: 'the provider could not be reached from the server: retry later, or store it unchecked with --skip-validation',
  CREDENTIAL_IN_USE: 'registries use it: point them elsewhere (scopegate registry update … --no-credential) or pass --force',
  RATE_LIMITED: 'too many requests: wait a little and retry',
  QUOTA_EXCEEDED: 'a quota of the instance is reached: delete something unused or ask an administrator',
  CONFLICT: 'it already exists: pick another name, or change the existing one with `update`',
  BAD_RESPONSE: 'the URL answered, but not as a scopegate server: check SCOPEGATE_URL or --url',
  HTTP_ERROR: 'the URL answered, but not as a scopegate server: check SCOPEGATE_URL or --url',
};

export interface Failure {
  status: number;
  message: string;
  hint?: string;
}

/** What to tell the user, and which exit status, for anything a command threw. */
export function describeFailure(error: unknown, context: { url: string; tokenSource?: string }): Failure {
  if (error instanceof UsageError) return { status: EXIT.usage, message: error.message, hint: error.hint };
  if (error instanceof NotAuthenticatedError) return { status: EXIT.unauthenticated, message: error.message, hint: error.hint };
  if (error instanceof RefusedError) return { status: EXIT.refused, message: error.message, hint: error.hint };
  if (error instanceof ScopegateError) {
    const request = error.requestId ? ` (request ${error.requestId})` : '';
    switch (error.code) {
      case 'NETWORK_ERROR':
        return {
          status: EXIT.unreachable,
          message: error.message,
          hint: `check SCOPEGATE_URL or --url (now ${context.url}) and that the server is running`,
        };
      case 'UNAUTHENTICATED': {
        const message = `not authenticated: ${error.message}`;
        let hint = context.tokenSource === 'stored login' ? 'sign in again with `scopegate login`' : 'check the token you passed';
        if (/expired/i.test(error.message))
          hint = 'the token has expired: create a new one (scopegate token create) or regenerate it (scopegate token regenerate)';
        else if (/regenerated/i.test(error.message)) hint = 'the token was regenerated: use its new secret';
        else if (/disabled/i.test(error.message)) hint = 'the token is disabled: an owner can enable it (scopegate token enable)';
        return {
          status: EXIT.unauthenticated,
          message,
          hint: `${hint}${context.tokenSource ? ` (token from ${context.tokenSource})` : ''}`,
        };
      }
      case 'FORBIDDEN': {
        const needed = error.errors[0]?.extensions?.neededRole;
        const hint =
          typeof needed === 'string'
            ? `this needs the role ${needed}; ask an owner of the namespace (or an administrator)`
            : 'ask an owner of the namespace or an administrator';
        return { status: EXIT.refused, message: `forbidden: ${error.message}${request}`, hint };
      }
      case 'NOT_FOUND':
        return {
          status: EXIT.refused,
          message: `${error.message}${request}`,
          hint: 'check the name and the namespace (-n); you see only namespaces you have a role in',
        };
      case 'BAD_TOKEN':
        return {
          status: EXIT.usage,
          message: `${error.message}${context.tokenSource ? ` (token from ${context.tokenSource})` : ''}`,
          hint: 'pass the token alone: one line, no spaces',
        };
      case 'BAD_USER_INPUT':
        return { status: EXIT.refused, message: `invalid input: ${error.message}${request}` };
      default:
        return {
          status: EXIT.refused,
          message: `${error.code.toLowerCase().replace(/_/g, ' ')}: ${error.message}${request}`,
          hint: HINTS[error.code],
        };
    }
  }
  return { status: EXIT.refused, message: error instanceof Error ? error.message : String(error) };
}
