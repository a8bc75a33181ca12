import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Bounds on what one request makes the server do before any resolver runs. graphql-js quotes
 * a whole invalid input object in each of up to 50 coercion errors: 170 000 variables made
 * a 96 MB answer and 17 s of blocked event loop. And the parser recurses per nesting level,
 * so a query nested a few thousand deep overflows the stack.
 */
const MAX_VARIABLE_VALUES = 2000;
/** The longest error message sent: graphql-js quotes values it refuses. */
export const MAX_ERROR_MESSAGE = 1000;

export const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });

/** Whether `value` holds more than `budget` values (object keys and array items, at any depth). */
function exceeds(value: unknown, budget: number): boolean {
  const pending: unknown[] = [value];
  let seen = 0;
  while (pending.length) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object') continue;
    const children = Array.isArray(next) ? next : Object.values(next);
    seen += children.length;
    if (seen > budget) return true;
    pending.push(...children);
  }
  return false;
}

export function useRequestBounds(): Plugin {
  return {
    onParams({ params, setResult }) {
      if (exceeds(params.variables, MAX_VARIABLE_VALUES)) {
        setResult({ errors: [badRequest(`variables: more than ${MAX_VARIABLE_VALUES} values in all; send fewer`)] });
      }
    },
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, options);
        } catch (err) {
          if (err instanceof RangeError) throw badRequest('query: nested too deeply to parse');
          throw err;
        }
      });
    },
  };
}
