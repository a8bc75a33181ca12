/** Small helpers that keep each noun's commands declarative. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AuditOutcome, Client, GitProvider, OvhEndpoint, Role } from '../client/index.js';
import { type Context, contextOf, type Shadowed, withGlobalOptions } from './context.js';
import { RefusedError } from './errors.js';

export interface Verb {
  /** `create <name>` */
  name: string;
  description: string;
  /** One or more example lines, shown at the end of --help. */
  example: string | string[];
  /** Global flags the command redefines (a registry's --url): the global ones go before the noun. */
  shadows?: Shadowed[];
}

/** A subcommand with the global options and an example in its help. */
export function verb(parent: Command, { name, description, example, shadows = [] }: Verb): Command {
  const command = parent.command(name).description(description);
  withGlobalOptions(command, shadows);
  const examples = (Array.isArray(example) ? example : [example]).map((line) => `  $ ${line}`).join('\n');
  command.addHelpText('after', `\nExample:\n${examples}\n`);
  return command;
}

/** A noun (or a group of verbs): its help lists its verbs and examples; without a verb it shows that help (a usage error). */
export function noun(program: Command, name: string, description: string, example: string | string[]): Command {
  const examples = (Array.isArray(example) ? example : [example]).map((line) => `  $ ${line}`).join('\n');
  return program.command(name).description(description).addHelpText('after', `\nExample:\n${examples}\n`);
}

/** The action, with the command's arguments, its options and its context. */
export function act<O = Record<string, any>>(command: Command, fn: (args: string[], options: O, ctx: Context) => Promise<void>): Command {
  return command.action(async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    await fn(self.args, self.opts() as O, contextOf(self));
  });
}

export const namespaceOption = () => new Option('-n, --namespace <name>', 'the namespace').makeOptionMandatory();

/**
 * Every value of one of the schema's enums, as the client's generated type has them: the
 * compiler refuses a list that misses one or adds one, so the CLI follows the schema.
 */
export const allOf =
  <T extends string>() =>
  <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)): readonly T[] =>
    values;

export const ROLES = allOf<Role>()(['VIEWER', 'EDITOR', 'OWNER']);
export const GIT_PROVIDERS = allOf<GitProvider>()(['GITHUB', 'GITLAB', 'BITBUCKET', 'GENERIC']);
export const OVH_ENDPOINTS = allOf<OvhEndpoint>()(['OVH_EU', 'OVH_CA', 'OVH_US']);
export const AUDIT_OUTCOMES = allOf<AuditOutcome>()(['SUCCESS', 'DENIED', 'ERROR']);

/** A parser for one of `values`, in any case, written with dashes or underscores (ovh-eu, OVH_EU). */
export function choice<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    const upper = value.toUpperCase().replace(/-/g, '_');
    if (!(values as readonly string[]).includes(upper)) {
      const names = values.map((v) => v.toLowerCase().replace(/_/g, '-'));
      throw new InvalidArgumentError(`expected ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`);
    }
    return upper as T;
  };
}

/** viewer|editor|owner in any case. */
export const parseRole = choice(ROLES);

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

export function parseTime(value: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InvalidArgumentError('expected a date and time, e.g. 2026-12-31T00:00:00Z');
  return new Date(time).toISOString();
}

export interface Page<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

/** Every node of a connection, 100 at a time; `fetchPage` returns null when its parent is missing. */
export async function collect<T>(fetchPage: (after: string | null) => Promise<Page<T> | null>, limit = Infinity): Promise<T[] | null> {
  const nodes: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await fetchPage(after);
    if (!page) return null;
    nodes.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage || nodes.length >= limit || !page.pageInfo.endCursor) return nodes.slice(0, limit);
    after = page.pageInfo.endCursor;
  }
}

/** A namespace's connection `field { edges { node { …selection } } }`, all pages. */
export async function listInNamespace<T>(client: Client, namespace: string, field: string, selection: string, args = ''): Promise<T[]> {
  const query = `query($ns: String!, $after: String) { namespace(name: $ns) { ${field}(first: 100, after: $after${args}) { edges { node { ${selection} } } pageInfo { hasNextPage endCursor } } } }`;
  const nodes = await collect<T>(async (after) => {
    const data = await client.request(query, { ns: namespace, after });
    return data.namespace?.[field] ?? null;
  });
  if (!nodes) throw namespaceNotFound(namespace);
  return nodes;
}

/** One object of a namespace: `field(name: …) { …selection }`. */
export async function getInNamespace<T>(
  client: Client,
  namespace: string,
  field: string,
  name: string,
  selection: string,
  what: string,
): Promise<T> {
  const data = await client.request(
    `query($ns: String!, $name: String!) { namespace(name: $ns) { ${field}(name: $name) { ${selection} } } }`,
    { ns: namespace, name },
  );
  if (!data.namespace) throw namespaceNotFound(namespace);
  if (!data.namespace[field])
    throw new RefusedError(
      `${what} "${name}" not found in namespace "${namespace}"`,
      `list them with \`scopegate ${what.split(' ').at(-1)} list -n ${namespace}\``,
    );
  return data.namespace[field];
}

export const namespaceNotFound = (namespace: string) =>
  new RefusedError(
    `namespace "${namespace}" not found`,
    'check the name with `scopegate namespace list`; you see only namespaces you have a role in',
  );
