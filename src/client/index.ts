/**
 * scopegate/client: a typed client for a scopegate server. It runs wherever `fetch` exists
 * (Node 20+, browsers, edge runtimes) and imports nothing of the server.
 */
import type { DocumentTypeDecoration, ResultOf, TypedDocumentNode, VariablesOf } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import { type GraphQLErrorJson, ScopegateError } from './errors.js';
import { methods } from './generated/methods.js';

export { ScopegateError, type GraphQLErrorJson } from './errors.js';
/** The schema's input, enum and result types, e.g. `Role`, `CreateApiTokenInput`, `CreateApiTokenMutation`. */
export type * from './generated/graphql.js';

export interface ClientOptions {
  /** The server's base URL (https://scopegate.example.com) or its endpoint (…/graphql). */
  url: string | URL;
  /** An API token (sgt_…), personal access token (sgp_…) or session token (sgs_…); none for `login`. */
  token?: string;
  /** Another fetch (a test double, a proxy agent); the global one by default. */
  fetch?: typeof fetch;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** How long a request may take, the response's body included; 30 seconds by default. */
  timeoutMs?: number;
  /** Aborts every request of this client when it aborts (combined with the timeout). */
  signal?: AbortSignal;
  /** The largest response body read, in bytes (16 MiB by default); a longer one is BAD_RESPONSE. */
  maxResponseBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

class TooLarge extends Error {}

/** The body as text, reading no more than `limit` bytes (TooLarge past it). */
async function readCapped(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new TooLarge();
    }
    text += decoder.decode(value, { stream: true });
  }
}

/** Variables are optional when nothing in them is required. */
type Args<V> = {} extends V ? [variables?: V] : [variables: V];

type Table = typeof methods;
type Method<K extends keyof Table> = Table[K] extends { document: infer D; takesInput: infer Input }
  ? (...args: Args<Input extends true ? VariablesOf<D>['input' & keyof VariablesOf<D>] : VariablesOf<D>>) => Promise<ResultOf<D>[K & keyof ResultOf<D>]>
  : never;

/**
 * One method per root field of the schema, named after it: a mutation's takes its `input`
 * (`createApiToken({ namespace, name, role })`), a query's its arguments (`namespace({ name })`).
 * Each resolves to the field's value, with every scalar of the payload and of its main object.
 */
export type Methods = { [K in keyof Table]: Method<K> };

export interface Client extends Methods {
  /** The GraphQL endpoint requests go to. */
  readonly endpoint: string;
  /**
   * Any operation: a typed document from GraphQL Code Generator (resolves to its typed data),
   * or a query string. Throws a ScopegateError when the server returns errors.
   */
  request<R = any, V = Record<string, unknown>>(document: TypedDocumentNode<R, V> | DocumentTypeDecoration<R, V> | string, ...variables: Args<V>): Promise<R>;
}

/** What a token can be: printable ASCII without spaces (a second line of a token file is not). */
export const TOKEN_TEXT = /^[\x21-\x7e]+$/;

/** `https://host` and `https://host/prefix/` mean their `/graphql`; a URL ending in /graphql stays. */
export function endpointOf(url: string | URL): string {
  const endpoint = new URL(url);
  if (!/\/graphql\/?$/.test(endpoint.pathname)) endpoint.pathname = `${endpoint.pathname.replace(/\/$/, '')}/graphql`;
  return endpoint.href;
}

/**
 * fetch throws a TypeError without a cause for a request it cannot build (a header value with a
 * newline, …); its message quotes the offending value, which may be a secret, so it is not repeated.
 */
function unsendable(error: unknown): boolean {
  return error instanceof TypeError && error.cause === undefined;
}

/** Node's fetch says only "fetch failed"; the system's reason (ECONNREFUSED, ENOTFOUND, …) is its cause. */
function reason(error: unknown): string {
  const { message, cause } = (error ?? {}) as { message?: string; cause?: { code?: string; message?: string } };
  return [message, cause?.code ?? cause?.message].filter(Boolean).join(': ') || String(error);
}

const printed = new WeakMap<DocumentNode, string>();
function source(document: unknown): string {
  if (typeof document !== 'object' || document === null || !('kind' in document)) return String(document);
  const node = document as DocumentNode;
  if (!printed.has(node)) printed.set(node, print(node));
  return printed.get(node)!;
}

export function createClient({
  url,
  token,
  fetch: fetchImpl = globalThis.fetch,
  headers = {},
  timeoutMs = DEFAULT_TIMEOUT_MS,
  signal: callerSignal,
  maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
}: ClientOptions): Client {
  const endpoint = endpointOf(url);
  // Refused here, before fetch would quote it in an error message.
  if (token && !TOKEN_TEXT.test(token)) {
    throw new ScopegateError('the token contains spaces, line breaks or other characters a token never has', { code: 'BAD_TOKEN' });
  }

  async function request(document: unknown, variables?: Record<string, unknown>): Promise<any> {
    let response: Response | undefined;
    let text: string;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    try {
      response = await fetchImpl(endpoint, {
        method: 'POST',
        signal,
        // The API never redirects: a 3xx is refused below rather than followed (perhaps to another host).
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...headers,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query: source(document), variables }),
      });
      if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
        await response.body?.cancel().catch(() => {});
        const location = response.headers.get('location');
        throw new ScopegateError(
          `${endpoint} answered with a redirect (${response.status || 'opaque'}${location ? ` to ${location}` : ''}); the API never redirects, so it is not followed: check the URL`,
          { code: 'BAD_RESPONSE', status: response.status || undefined },
        );
      }
      text = await readCapped(response, maxResponseBytes);
    } catch (cause) {
      if (cause instanceof ScopegateError) throw cause;
      if (cause instanceof TooLarge) {
        throw new ScopegateError(`${endpoint} sent a response larger than ${maxResponseBytes} bytes; stopped reading it`, {
          code: 'BAD_RESPONSE',
          status: response?.status,
        });
      }
      if (timeout.aborted) {
        throw new ScopegateError(`${endpoint} timed out: no complete response within ${timeoutMs} ms`, { code: 'NETWORK_ERROR', cause });
      }
      if (callerSignal?.aborted) throw new ScopegateError(`request to ${endpoint} aborted`, { code: 'NETWORK_ERROR', cause });
      if (unsendable(cause)) {
        throw new ScopegateError(`cannot send the request to ${endpoint}: an invalid header value or argument`, { code: 'BAD_REQUEST' });
      }
      throw new ScopegateError(`cannot reach ${endpoint}: ${reason(cause)}`, { code: 'NETWORK_ERROR', cause });
    }
    const status = response!.status;
    const requestId = response.headers.get('x-request-id') ?? undefined;
    let body: { data?: unknown; errors?: GraphQLErrorJson[] } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    const first = errors[0];
    if (first || status === 401 || !response.ok || body?.data == null) {
      // Only what has the expected type is taken from the body: a server may send anything.
      const extensions = typeof first?.extensions === 'object' && first.extensions !== null ? first.extensions : undefined;
      const serverCode = typeof extensions?.code === 'string' && extensions.code ? extensions.code : undefined;
      const code =
        status === 401
          ? 'UNAUTHENTICATED'
          : (serverCode ?? (body ? (response.ok ? 'INTERNAL_SERVER_ERROR' : 'HTTP_ERROR') : 'BAD_RESPONSE'));
      const message = first
        ? `${typeof first === 'object' && first !== null ? String(first.message) : String(first)}${errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : ''}`
        : `${status} ${response.statusText}: ${body ? 'no data' : 'not a GraphQL response'}`;
      const field = typeof extensions?.field === 'string' ? extensions.field : undefined;
      throw new ScopegateError(message, { code, status, requestId, field, errors });
    }
    return body!.data;
  }

  const client: Record<string, unknown> = { endpoint, request };
  for (const [field, { document, takesInput }] of Object.entries(methods)) {
    client[field] = async (args?: Record<string, unknown>) => {
      const data = await request(document, takesInput ? { input: args } : args);
      return data[field];
    };
  }
  return client as unknown as Client;
}
