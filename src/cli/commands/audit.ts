/** scopegate audit list: a namespace's trail with -n, the instance's (administrators) without. */
import { type Command, Option } from 'commander';
import { act, AUDIT_OUTCOMES, choice, collect, namespaceNotFound, noun, parsePositiveInt, parseTime, verb } from '../define.js';
import type { Column } from '../output.js';

const FIELDS = 'id action outcome occurredAt namespace target requestId ipAddress userAgent details actor { kind name }';

const columns: Column<any>[] = [
  { header: 'time', value: (e) => e.occurredAt },
  { header: 'action', value: (e) => e.action },
  { header: 'outcome', value: (e) => e.outcome },
  { header: 'actor', value: (e) => e.actor?.name ?? e.actor?.kind },
  { header: 'target', value: (e) => e.target },
];

export function registerAudit(program: Command): void {
  const audit = noun(program, 'audit', 'The audit trail', 'scopegate audit list -n shop --action "apitoken.*"');

  act(
    verb(audit, {
      name: 'list',
      description: "List audit events, newest first: a namespace's with -n, the whole instance's (administrators) without",
      example: [
        'scopegate audit list -n shop --action "apitoken.*" --limit 20',
        'scopegate audit list --outcome denied --since 2026-01-01',
      ],
    })
      .option('-n, --namespace <name>', "the namespace's trail")
      .option('--action <pattern>', 'an action, or a prefix with .* (apitoken.*)')
      .addOption(new Option('--outcome <outcome>', 'success, denied or error').argParser(choice(AUDIT_OUTCOMES)))
      .option('--actor <name>', 'who acted')
      .option('--target <name>', 'what it acted on')
      .addOption(new Option('--since <time>', 'events at or after this time (ISO 8601)').argParser(parseTime))
      .addOption(new Option('--until <time>', 'events before this time (ISO 8601)').argParser(parseTime))
      .addOption(new Option('--limit <n>', 'at most this many events').argParser(parsePositiveInt).default(50)),
    async (_a, o, ctx) => {
      const client = ctx.client();
      const filter = { action: o.action, outcome: o.outcome, actor: o.actor, target: o.target, since: o.since, until: o.until };
      const connection = `auditEvents(first: $first, after: $after, filter: $filter) { edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor } }`;
      const query = o.namespace
        ? `query($ns: String!, $first: Int, $after: String, $filter: AuditEventFilter) { namespace(name: $ns) { ${connection} } }`
        : `query($first: Int, $after: String, $filter: AuditEventFilter) { ${connection} }`;
      const events = await collect<any>(async (after) => {
        const data = await client.request(query, { ns: o.namespace, first: Math.min(100, o.limit), after, filter });
        return o.namespace ? (data.namespace?.auditEvents ?? null) : data.auditEvents;
      }, o.limit);
      if (!events) throw namespaceNotFound(o.namespace);
      ctx.output.result(events, events, columns);
    },
  );
}
