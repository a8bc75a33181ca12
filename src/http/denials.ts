import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { DomainError } from '../domain/errors.js';
import { auditedErrors, recordFailure } from '../domain/mutation.js';
import { policy, type MutationName } from '../policy.js';

/**
 * Mutations refused by a scope check never reach their service, so `mutate` cannot
 * audit them: this records each such refusal as a DENIED event.
 */
export function useDenialAudit(): Plugin<Context> {
  return {
    onExecute({ args }) {
      return {
        async onExecuteDone({ result }) {
          if (!('errors' in result) || !result.errors) return;
          const ctx = args.contextValue as Context;
          for (const error of result.errors) {
            const original = error.originalError;
            const field = error.path?.length === 1 ? String(error.path[0]) : null;
            if (!field || !(field in policy.Mutation) || !(original instanceof DomainError) || auditedErrors.has(original)) continue;
            if (original.code !== 'FORBIDDEN' && original.code !== 'NOT_FOUND') continue;
            const name = original.namespace;
            const namespace = name ? { name, id: (await ctx.loaders.namespaceByName.load(name))?.id ?? null } : null;
            await recordFailure(ctx, { operation: field as MutationName, namespace }, original);
          }
        },
      };
    },
  };
}
