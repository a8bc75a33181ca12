import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { type ArgumentNode, type DocumentNode, type GraphQLSchema, Kind, TypeInfo, type ValidationContext, validate, visit, visitWithTypeInfo } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface CostLimitOptions {
  maxCost: number;
  /** The largest page a connection gives (`first`/`last` at most). */
  maxPage: number;
  /** The page a connection gives when asked for neither. */
  defaultPage: number;
}

/**
 * The query with every page as large as it can be: a `first`/`last` given in a variable is
 * counted as `maxPage`, and a connection asked for neither as `defaultPage`. graphql-armor's
 * estimate multiplies by a page size only when it is an integer literal and counts anything
 * else as 1: `first: $n` let any query past the limit (10,000 objects refused as `first: 100`,
 * answered as `first: $n`).
 */
export function worstCasePages(schema: GraphQLSchema, document: DocumentNode, { maxPage, defaultPage }: CostLimitOptions): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  const first = (size: number): ArgumentNode => ({ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'first' }, value: { kind: Kind.INT, value: String(size) } });
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (!typeInfo.getFieldDef()?.args.some((arg) => arg.name === 'first')) return undefined;
        const args = node.arguments ?? [];
        const sizes = args.filter((arg) => arg.name.value === 'first' || arg.name.value === 'last');
        if (sizes.length && sizes.every((arg) => arg.value.kind === Kind.INT)) return undefined;
        const size = sizes.length ? maxPage : defaultPage;
        return { ...node, arguments: [first(size), ...args.filter((arg) => !sizes.includes(arg))] };
      },
    }),
  );
}

/**
 * graphql-armor's cost limit (objects 2, scalars 1, ×1.5 per level, an inline fragment or
 * spread no level, each selection times its page), over the query's worst-case pages. Yoga
 * validates a query text once, so this runs once per distinct query.
 */
export function useCostLimit(options: CostLimitOptions): Plugin {
  const rule = costLimitRule({ maxCost: options.maxCost, flattenFragments: true });
  return {
    onValidate({ addValidationRule }) {
      addValidationRule((context: ValidationContext) => ({
        Document(document: DocumentNode) {
          const schema = context.getSchema();
          for (const error of validate(schema, worstCasePages(schema, document, options), [rule])) context.reportError(error);
          return false;
        },
      }));
    },
  };
}
