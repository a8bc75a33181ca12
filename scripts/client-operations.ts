/**
 * The typed client's operations, generated from schema/schema.graphql (`npm run codegen` runs
 * this first, then GraphQL Code Generator types what it wrote):
 *
 * - src/client/operations.graphql: one operation per root field, named after it,
 *   selecting a sensible default (see `selection`);
 * - src/client/generated/methods.ts: the method table, field name → its typed document.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  getNamedType,
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  isAbstractType,
  isLeafType,
  isObjectType,
  isInterfaceType,
  parse,
  validate,
} from 'graphql';

export const SCHEMA_FILE = fileURLToPath(new URL('../schema/schema.graphql', import.meta.url));
export const OPERATIONS_FILE = fileURLToPath(new URL('../src/client/operations.graphql', import.meta.url));
export const METHODS_FILE = fileURLToPath(new URL('../src/client/generated/methods.ts', import.meta.url));

const pascal = (name: string) => name[0]!.toUpperCase() + name.slice(1);
const indent = (lines: string[], depth: number) => lines.map((l) => `${'  '.repeat(depth)}${l}`);

/** relay: a type with `edges { node }` and `pageInfo`; returns the node type. */
function connectionNode(type: GraphQLNamedType): GraphQLNamedType | undefined {
  if (!isObjectType(type)) return undefined;
  const { edges, pageInfo } = type.getFields();
  if (!edges || !pageInfo) return undefined;
  const edge = getNamedType(edges.type);
  const node = isObjectType(edge) ? edge.getFields().node : undefined;
  return node && getNamedType(node.type);
}

/** A field asked for by default: leaves, and at depth 0 objects (not connections) with their leaves. */
function fieldLines(field: GraphQLField<unknown, unknown>, depth: number, schema: GraphQLSchema): string[] | undefined {
  const named = getNamedType(field.type);
  if (isLeafType(named)) return [field.name];
  if (depth === 0 && !connectionNode(named)) return [`${field.name} {`, ...indent(selection(named, 1, schema), 1), '}'];
  return undefined;
}

/**
 * The selection of a type: its fields without arguments (connections and lookups stay explicit),
 * scalars only below depth 0, so a payload reads `{ secret apiToken { …scalars } }` and a
 * connection `edges { cursor node { … } } pageInfo { … }`. Interfaces and unions select
 * `__typename`, the shared fields, and each member's own fields in an inline fragment; a member's
 * field whose type conflicts with another's of the same name is left out (GraphQL would refuse the
 * document): ask for it with `request()`.
 */
function selection(type: GraphQLNamedType, depth: number, schema: GraphQLSchema): string[] {
  const node = connectionNode(type);
  if (node) {
    const pageInfo = getNamedType((type as GraphQLObjectType).getFields().pageInfo!.type);
    return ['edges {', '  cursor', '  node {', ...indent(selection(node, 0, schema), 2), '  }', '}', 'pageInfo {', ...indent(selection(pageInfo, 1, schema), 1), '}'];
  }
  const chosen = new Map<string, string>(); // field name → its type, as printed
  const pick = (owner: GraphQLObjectType | GraphQLInterfaceType, except: Set<string>): string[] => {
    const out: string[] = [];
    for (const field of Object.values(owner.getFields())) {
      const type = String(field.type);
      if (field.args.length > 0 || except.has(field.name) || (chosen.get(field.name) ?? type) !== type) continue;
      const lines = fieldLines(field, depth, schema);
      if (!lines) continue;
      chosen.set(field.name, type);
      out.push(...lines);
    }
    return out;
  };
  if (isObjectType(type)) return pick(type, new Set());
  if (!isAbstractType(type)) return [];
  const lines = ['__typename', ...(isInterfaceType(type) ? pick(type, new Set()) : [])];
  const shared = new Set(chosen.keys());
  for (const member of schema.getPossibleTypes(type)) {
    const own = pick(member, shared);
    if (own.length) lines.push(`... on ${member.name} {`, ...indent(own, 1), '}');
  }
  return lines;
}

/** What a client has besides its generated methods (src/client/index.ts). */
const RESERVED = new Set(['request', 'endpoint']);

interface Method {
  field: string;
  operation: string;
  /** A mutation whose only argument is `input`: the method takes that object directly. */
  takesInput: boolean;
}

export function clientOperations(schema: GraphQLSchema): { operations: string; methods: string } {
  const methods: Method[] = [];
  const blocks: string[] = [];
  for (const [kind, root] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      if (methods.some((m) => m.field === field.name)) throw new Error(`${field.name} is both a query and a mutation: one method name each`);
      if (RESERVED.has(field.name)) throw new Error(`the root field ${field.name} would hide the client's own ${field.name}`);
      const operation = pascal(field.name);
      const variables = field.args.map((a) => `$${a.name}: ${a.type}`).join(', ');
      const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const inner = selection(getNamedType(field.type), 0, schema);
      const call = `${field.name}${args ? `(${args})` : ''}`;
      blocks.push(
        [
          `${kind} ${operation}${variables ? `(${variables})` : ''} {`,
          ...(inner.length ? [`  ${call} {`, ...indent(inner, 2), '  }'] : [`  ${call}`]),
          '}',
        ].join('\n'),
      );
      methods.push({ field: field.name, operation, takesInput: kind === 'mutation' && field.args.length === 1 && field.args[0]!.name === 'input' });
    }
  }
  const operations = `# Generated by scripts/client-operations.ts from schema/schema.graphql (npm run codegen). Do not edit.\n\n${blocks.join('\n\n')}\n`;
  const errors = validate(schema, parse(operations));
  if (errors.length) throw new Error(`generated operations are invalid:\n${errors.map((e) => e.message).join('\n')}`);

  const table = methods
    .sort((a, b) => (a.field < b.field ? -1 : 1))
    .map((m) => `  ${m.field}: { document: documents.${m.operation}Document, takesInput: ${m.takesInput} },`);
  const methodsSource = [
    '// Generated by scripts/client-operations.ts from schema/schema.graphql (npm run codegen). Do not edit.',
    "import * as documents from './graphql.js';",
    '',
    '/** One typed operation per root field; `takesInput`: the method takes the mutation\'s `input` directly. */',
    'export const methods = {',
    ...table,
    '} as const;',
    '',
  ].join('\n');
  return { operations, methods: methodsSource };
}

export const generatedClientOperations = () => clientOperations(buildSchema(fs.readFileSync(SCHEMA_FILE, 'utf8')));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { operations, methods } = generatedClientOperations();
  fs.mkdirSync(new URL('../src/client/generated/', import.meta.url), { recursive: true });
  fs.writeFileSync(OPERATIONS_FILE, operations);
  fs.writeFileSync(METHODS_FILE, methods);
  console.log(`wrote ${OPERATIONS_FILE} and ${METHODS_FILE}`);
}
