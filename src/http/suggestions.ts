import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { TokenVerifier } from '../auth/verify.js';
import { bearerToken } from './auth-gate.js';

/**
 * graphql-js ends a message about an unknown field, argument, type, enum value or input field
 * with its guesses at what was meant (jsutils/didYouMean). From the first one to the end: a
 * message cut short by its length bound keeps no part of them.
 */
const SUGGESTIONS = / Did you mean .*$/s;

/**
 * "Did you mean …" reveals the schema piece by piece, so only a caller whose bearer token
 * verifies sees it; anyone else gets the message without it. Decided when the response is
 * made, as validation runs before the context (and the principal) exists, and variable errors
 * come after it. The token is checked (by the verifier the context uses, with its cache) only
 * for a response that has a suggestion to hide.
 */
export function useSuggestionsForPrincipals(verifier: TokenVerifier): Plugin {
  return {
    async onResultProcess({ request, result, setResult }) {
      if (Symbol.asyncIterator in result) return;
      const results = [result].flat();
      if (!results.some((r) => r.errors?.some((e) => SUGGESTIONS.test(e.message)))) return;
      const token = bearerToken(request.headers.get('authorization') ?? '');
      if (token !== null && (await verifier.verify(token).then(() => true, () => false))) return;
      // New errors: Yoga caches validation errors and hands the same objects to the next caller.
      const hidden = results.map((r) =>
        r.errors ? { ...r, errors: r.errors.map((e) => (SUGGESTIONS.test(e.message) ? new GraphQLError(e.message.replace(SUGGESTIONS, ''), e) : e)) } : r,
      );
      setResult(Array.isArray(result) ? hidden : hidden[0]!);
    },
  };
}
