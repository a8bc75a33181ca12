/** One entry of a GraphQL response's `errors`, as the server sends it. */
export interface GraphQLErrorJson {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

/**
 * Why a request failed. `code` is the server's `extensions.code` (FORBIDDEN, NOT_FOUND,
 * BAD_USER_INPUT, CONFLICT, RATE_LIMITED, …), UNAUTHENTICATED for any 401, NETWORK_ERROR
 * when no response arrived, BAD_RESPONSE when the response is not GraphQL, BAD_TOKEN (from
 * createClient) for a token with spaces, line breaks or control characters, BAD_REQUEST when
 * fetch could not build the request (an invalid header value; its text is not repeated).
 */
export class ScopegateError extends Error {
  override name = 'ScopegateError';
  readonly code: string;
  /** The HTTP status; undefined when no response arrived. */
  readonly status?: number;
  /** The server's `x-request-id`: quote it when asking an operator to look in the logs. */
  readonly requestId?: string;
  /** The input field the server refused, when it named one (e.g. `expiresInDays`). */
  readonly field?: string;
  /** Every error the server returned; the message and code are those of the first. */
  readonly errors: readonly GraphQLErrorJson[];

  constructor(
    message: string,
    details: { code: string; status?: number; requestId?: string; field?: string; errors?: readonly GraphQLErrorJson[]; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.status = details.status;
    this.requestId = details.requestId;
    this.field = details.field;
    this.errors = details.errors ?? [];
  }
}
