import {
  type ArgumentNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type ASTNode,
  TypeInfo,
  visit,
  type ValidationContext,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface CostLimitOptions {
  maxCost: number;
  /** What `first`/`last` may be at most. */
  maxPage: number;
}

const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_FACTOR = 1.5;

/**
 * graphql-armor's cost estimate (objects 2, scalars 1, ×1.5 per level, an inline fragment or
 * spread no level, each selection times its `first`/`last`), but with a page given in a
 * variable counted as large as it may be. graphql-armor counts only an integer literal:
 * `first: $n` counted as 1, so passing the page size as a variable took any query past the
 * limit (10,000 objects refused as `first: 100`, answered as `first: $n`).
 */
export function worstCasePages(document: DocumentNode, typeInfo: TypeInfo, { maxPage }: CostLimitOptions): DocumentNode {
  const page = (size: number): ArgumentNode => ({ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'first' }, value: { kind: Kind.INT, value: String(size) } });
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (!typeInfo.getFieldDef()?.args.some((arg) => arg.name === 'first')) return undefined;
        const args = node.arguments ?? [];
        const sizes = args.filter((arg) => arg.name.value === 'first' || arg.name.value === 'last');
        if (sizes.every((arg) => arg.value.kind === Kind.INT)) return undefined;
        return { ...node, arguments: [page(maxPage), ...args.filter((arg) => !sizes.includes(arg))] };
      },
    }),
  );
}

/** graphql-armor's estimate (flattenFragments), over a document whose pages are literals. */
function estimate(document: DocumentNode): Map<string, number> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const visited = new Map<string, number>();
  const cost = (node: ASTNode): number => {
    if (node.kind === Kind.FIELD && node.name.value === '__schema') return 0;
    if (node.kind === Kind.OPERATION_DEFINITION) return node.selectionSet.selections.reduce((sum, child) => sum + cost(child), 0);
    if ('selectionSet' in node && node.selectionSet) {
      let total = OBJECT_COST;
      for (const child of node.selectionSet.selections) {
        total += child.kind === Kind.FIELD ? DEPTH_FACTOR * cost(child) : cost(child);
      }
      const size = 'arguments' in node ? node.arguments?.find((arg) => arg.name.value === 'first' || arg.name.value === 'last') : undefined;
      return total * Math.max(size?.value.kind === Kind.INT ? parseInt(size.value.value, 10) || 1 : 1, 1);
    }
    if (node.kind === Kind.FRAGMENT_SPREAD) {
      const name = node.name.value;
      if (visited.has(name)) return SCALAR_COST + DEPTH_FACTOR * Math.max(visited.get(name)!, 0);
      visited.set(name, -1);
      const fragment = fragments.get(name);
      const fragmentCost = fragment ? cost(fragment) : 0;
      if (visited.get(name) === -1) visited.set(name, fragmentCost);
      return SCALAR_COST + fragmentCost;
    }
    return SCALAR_COST;
  };
  const costs = new Map<string, number>();
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) costs.set(d.name?.value ?? '', cost(d));
  return costs;
}

export function useCostLimit(options: CostLimitOptions): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule((context: ValidationContext) => ({
        Document(document: DocumentNode) {
          const worst = worstCasePages(document, new TypeInfo(context.getSchema()), options);
          for (const found of estimate(worst).values()) {
            if (found > options.maxCost) {
              context.reportError(new GraphQLError(`Syntax Error: Query Cost limit of ${options.maxCost} exceeded, found ${found}.`));
              return;
            }
          }
        },
      }));
    },
  };
}
