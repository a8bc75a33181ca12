import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { App, Context } from '../context.js';
import { actorOf } from '../domain/audit.js';
import { DomainError } from '../domain/errors.js';
import { unlimited } from '../domain/quotas.js';
import { policy, type Principal, type Rule } from '../policy.js';

/**
 * The limiter's store, built here only: in memory, per process. With several replicas it
 * belongs in Redis (RateLimiterRedis takes the same options).
 */
export function createMutationLimiter(config: Config): RateLimiterAbstract | null {
  if (config.SCOPEGATE_MUTATION_LIMIT === 0) return null;
  return new RateLimiterMemory({
    keyPrefix: 'mutations',
    points: config.SCOPEGATE_MUTATION_LIMIT,
    duration: config.SCOPEGATE_MUTATION_WINDOW_SECONDS,
  });
}

/** Sessions and personal tokens of one user share a budget, so minting tokens does not multiply it; an API token has its own. */
const budgetOf = (p: Principal) => (p.kind === 'API_TOKEN' ? `apitoken:${p.tokenId}` : `user:${p.userId}`);

/** Public fields (login) have throttles of their own. */
const counted = (field: string) => !field.startsWith('__') && (policy.Mutation as Record<string, Rule>)[field]?.needs !== 'anyone';

/**
 * How many mutation fields the operation will execute: its root fields, through fragments,
 * one per response key (the executor runs a repeated key once), without those @skip/@include
 * leave out. Zero for queries. Never fewer than will execute.
 */
function mutationFieldCount(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (operation?.operation !== 'mutation') return 0;
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  // Variables are not coerced yet: a condition that cannot be read here (a default value) counts the field.
  const included = (node: SelectionNode) => {
    try {
      return getDirectiveValues(GraphQLSkipDirective, node, variables)?.if !== true && getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
    } catch {
      return true;
    }
  };
  const keys = new Set<string>();
  const spread = new Set<string>();
  const collect = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        if (counted(selection.name.value)) keys.add((selection.alias ?? selection.name).value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet);
      } else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return keys.size;
}

/**
 * At most SCOPEGATE_MUTATION_LIMIT mutation fields per window for each user and each API
 * token; administrators are not limited. The whole operation takes its points at once, before
 * anything executes, so an aliased batch runs whole or not at all. A refused operation ran
 * nothing and costs nothing; it is refused with 429 and Retry-After, and the refusals of one
 * caller fold into few audit events.
 */
export function useMutationLimit(app: App): Plugin<Context> {
  const limiter = createMutationLimiter(app.config);
  const limit = app.config.SCOPEGATE_MUTATION_LIMIT;
  const window = app.config.SCOPEGATE_MUTATION_WINDOW_SECONDS;
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context;
      const principal = ctx.principal;
      if (!limiter || !principal || unlimited(principal)) return;
      const fields = mutationFieldCount(args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined);
      if (fields === 0) return;
      const key = budgetOf(principal);
      try {
        await limiter.consume(key, fields);
        return;
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        await limiter.reward(key, fields);
        const left = Math.max(0, limit - (refusal.consumedPoints - fields));
        const seconds = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
        const why =
          fields > limit
            ? `this operation has ${fields} mutation fields, more than the ${limit} allowed per ${window} s (SCOPEGATE_MUTATION_LIMIT): send fewer at a time`
            : `this operation has ${fields} mutation field${fields === 1 ? '' : 's'} and ${left} of ${limit} per ${window} s are left (SCOPEGATE_MUTATION_LIMIT): try again in ${seconds} s`;
        const meta = { requestId: ctx.requestId, ipAddress: ctx.ipAddress, userAgent: ctx.userAgent };
        await app.authFailures.record(meta, { action: 'mutation.rate_limited', reason: `over the mutation limit of ${limit} per ${window} s`, actor: actorOf(principal) });
        setResultAndStopExecution({
          errors: [
            new DomainError('RATE_LIMITED', `mutation limit reached: ${why}`, {
              retryAfterSeconds: seconds,
              http: { status: 429, headers: { 'Retry-After': String(seconds) } },
            }),
          ],
        });
      }
    },
  };
}
