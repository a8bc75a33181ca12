import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * graphql-js ends a message about an unknown field, argument, type, enum value or input field
 * with its guesses at what was meant (jsutils/didYouMean). From the first one to the end: a
 * message cut short by its length bound keeps no part of them.
 */
const SUGGESTIONS = / Did you mean .*$/s;

/**
 * "Did you mean …" reveals the schema piece by piece, so only an authenticated caller sees it;
 * an anonymous one gets the message without it. Validation runs before the context (and the
 * principal) exists, so a response with errors authenticates its request itself (once per
 * request, shared with the context): a token that does not verify gets its 401 and is recorded
 * as an authentication failure, whatever the document, so no misspelling tells a live token
 * from a dead one, or a near miss from a field that is not there, without the trail seeing it.
 */
export function useSuggestionsForPrincipals<S extends Record<string, any>>(
  authenticate: (request: Request, serverContext: S) => Promise<{ principal: unknown }>,
): Plugin<{}, S> {
  return {
    async onResultProcess({ request, serverContext, result, setResult }) {
      if (Symbol.asyncIterator in result) return;
      const results = [result].flat();
      if (!results.some((r) => r.errors?.length)) return;
      let principal: unknown;
      try {
        ({ principal } = await authenticate(request, serverContext));
      } catch (refusal) {
        if (!(refusal instanceof GraphQLError)) throw refusal;
        return setResult({ errors: [refusal] });
      }
      if (principal || !results.some((r) => r.errors?.some((e) => SUGGESTIONS.test(e.message)))) return;
      // New errors: Yoga caches validation errors and hands the same objects to the next caller.
      const hidden = results.map((r) =>
        r.errors ? { ...r, errors: r.errors.map((e) => (SUGGESTIONS.test(e.message) ? new GraphQLError(e.message.replace(SUGGESTIONS, ''), e) : e)) } : r,
      );
      setResult(Array.isArray(result) ? hidden : hidden[0]!);
    },
  };
}
