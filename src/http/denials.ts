import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { DomainError } from '../domain/errors.js';
import { auditedErrors, recordFailure } from '../domain/mutation.js';
import { policy, type MutationName } from '../policy.js';

/**
 * Mutations refused before `mutate` runs (by a scope check, or by a check in the resolver)
 * never reach it, so `mutate` cannot audit them: this records each such refusal as a DENIED
 * event. The field comes from the executor's schema coordinate (`Mutation.<info.fieldName>`),
 * not from the response path, so an alias or a fragment cannot hide a refusal.
 */
export function useDenialAudit(): Plugin<Context> {
  return {
    onExecute({ args }) {
      // What Yoga's useErrorCoordinate does: each field error then carries `coordinate`.
      (args as { schemaCoordinateInErrors?: boolean }).schemaCoordinateInErrors = true;
      return {
        async onExecuteDone({ result }) {
          if (!('errors' in result) || !result.errors) return;
          const ctx = args.contextValue as Context;
          // Chosen before writing any: two fields may share one error object (scope results are
          // cached per request), and each of them is a refusal of its own.
          const refusals = result.errors.flatMap((error) => {
            const original = error.originalError;
            const [type, field] = ((error as { coordinate?: string }).coordinate ?? '').split('.');
            if (type !== 'Mutation' || !(field in policy.Mutation) || !(original instanceof DomainError)) return [];
            if (auditedErrors.has(original) || (original.code !== 'FORBIDDEN' && original.code !== 'NOT_FOUND')) return [];
            return [{ field: field as MutationName, original }];
          });
          for (const { field, original } of refusals) {
            const name = original.namespace;
            const namespace = name ? { name, id: (await ctx.loaders.namespaceByName.load(name))?.id ?? null } : null;
            await recordFailure(ctx, { operation: field, namespace }, original);
          }
        },
      };
    },
  };
}
