import { type Selectable, type SelectQueryBuilder, sql } from 'kysely';
import type { AuditEventsTable, Database } from '../../db/types.js';
import type { Context } from '../context.js';
import { adminRole } from '../policy.js';
import { scopesFor } from './auth.js';
import { builder } from './builder.js';
import { NamespaceRef } from './namespace.js';
import { paginate } from './pagination.js';
import { PrincipalKindEnum } from './scalars.js';

type AuditRow = Selectable<AuditEventsTable>;

const AuditOutcomeEnum = builder.enumType('AuditOutcome', { values: ['SUCCESS', 'DENIED', 'ERROR'] as const });

const AuditActorRef = builder.objectRef<{ kind: string | null; name: string | null }>('AuditActor').implement({
  fields: (t) => ({
    kind: t.field({ type: PrincipalKindEnum, nullable: true, resolve: (a) => a.kind as 'USER_SESSION' | 'PERSONAL_ACCESS_TOKEN' | 'API_TOKEN' | null }),
    name: t.exposeString('name', {
      nullable: true,
      description: 'e.g. user:alice, namespaces/default/apitokens/ci, or null for anonymous',
    }),
  }),
});

export const AuditEventRef = builder.objectRef<AuditRow>('AuditEvent');
const AuditEventConnection = builder.connectionObject({ type: AuditEventRef, name: 'AuditEventConnection' }, { name: 'AuditEventEdge' });

/** Administrator rights at any cap: reading the instance's trail needs no more. */
const isAdmin = (ctx: Context) => ctx.principal !== null && adminRole(ctx.principal) !== null;

/** Administrators see every event; owners see those of their namespace; nobody else any. */
async function visibleEvents(ids: string[], ctx: Context) {
  const rows = await ctx.app.db.selectFrom('audit_events').selectAll().where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return Promise.all(
    ids.map(async (id) => {
      const row = byId.get(id);
      if (!row) return null;
      if (isAdmin(ctx)) return row;
      return row.namespace_id && (await ctx.loaders.roleIn(row.namespace_id)) === 'OWNER' ? row : null;
    }),
  );
}

builder.node(AuditEventRef, {
  description: 'One recorded action. Never contains a secret.',
  id: { resolve: (row) => row.id },
  loadMany: visibleEvents,
  // (Our scope loaders throw their own errors, so this picks one check rather than $any.)
  authScopes: (row, ctx) => (row.namespace_id && !isAdmin(ctx) ? { namespace: { id: row.namespace_id, role: 'OWNER' } } : { admin: 'VIEWER' }),
  fields: (t) => ({
    occurredAt: t.field({ type: 'DateTime', resolve: (row) => row.occurred_at }),
    action: t.exposeString('action', { description: 'Dotted verb, e.g. apitoken.create, apitoken.regenerate, credential.reveal, auth.failed' }),
    outcome: t.field({ type: AuditOutcomeEnum, resolve: (row) => row.outcome }),
    actor: t.field({ type: AuditActorRef, resolve: (row) => ({ kind: row.actor_kind, name: row.actor_name }) }),
    namespace: t.exposeString('namespace', { nullable: true, description: 'Namespace name at the time of the event, null for instance-wide events.' }),
    target: t.exposeString('target', { nullable: true, description: 'Resource name of the target, e.g. namespaces/default/credentials/ghcr' }),
    requestId: t.exposeString('request_id'),
    ipAddress: t.exposeString('ip_address', { nullable: true }),
    userAgent: t.exposeString('user_agent', { nullable: true }),
    details: t.exposeString('details', {
      nullable: true,
      description: 'JSON object with action-specific, non-secret details (changed fields, reasons).',
    }),
  }),
});

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  fields: (t) => ({
    action: t.string({ description: 'Exact action, or a prefix ending in * (e.g. apitoken.*).' }),
    outcome: t.field({ type: AuditOutcomeEnum }),
    actor: t.string({ description: 'Exact actor name, e.g. user:alice.' }),
    target: t.string({ description: 'Exact resource name, or a prefix ending in *.' }),
    since: t.field({ type: 'DateTime', description: 'Events at or after this instant.' }),
    until: t.field({ type: 'DateTime', description: 'Events before this instant.' }),
  }),
});

type Filter = { action?: string | null; outcome?: string | null; actor?: string | null; target?: string | null; since?: Date | null; until?: Date | null };

type TextColumn = 'action' | 'target';

/**
 * Exact match (an index on the column and seq serves it), or a prefix ending in "*".
 * A prefix is compared through substr() on purpose: an index range on the column would
 * then need a sort of every match by seq, while walking seq newest first stops at a page.
 */
function matching(q: SelectQueryBuilder<Database, 'audit_events', AuditRow>, column: TextColumn, value: string) {
  if (!value.endsWith('*')) return q.where(column, '=', value);
  const prefix = value.slice(0, -1);
  return prefix ? q.where(sql`substr(${sql.ref(column)}, 1, ${prefix.length})`, '=', prefix) : q;
}

function filtered(query: SelectQueryBuilder<Database, 'audit_events', AuditRow>, filter: Filter | null | undefined) {
  if (!filter) return query;
  let q = query;
  if (filter.action) q = matching(q, 'action', filter.action);
  if (filter.target) q = matching(q, 'target', filter.target);
  if (filter.outcome) q = q.where('outcome', '=', filter.outcome as AuditRow['outcome']);
  if (filter.actor) q = q.where('actor_name', '=', filter.actor);
  if (filter.since) q = q.where('occurred_at', '>=', filter.since.toISOString());
  if (filter.until) q = q.where('occurred_at', '<', filter.until.toISOString());
  return q;
}

const NEWEST_FIRST = { direction: 'desc', numeric: true } as const;

builder.objectField(NamespaceRef, 'auditEvents', (t) =>
  t.connection(
    {
      type: AuditEventRef,
      description: 'Owners only.',
      authScopes: scopesFor('Namespace.auditEvents', (_args, ns: { id: string }) => ({ id: ns.id })),
      args: { filter: t.arg({ type: AuditEventFilter }) },
      resolve: (ns, args, ctx) =>
        paginate(args, filtered(ctx.app.db.selectFrom('audit_events').selectAll().where('namespace_id', '=', ns.id), args.filter), 'seq', NEWEST_FIRST),
    },
    AuditEventConnection,
  ),
);

builder.queryField('auditEvents', (t) =>
  t.connection(
    {
      type: AuditEventRef,
      description: 'Administrators only: audit events of the whole instance.',
      authScopes: scopesFor('Query.auditEvents'),
      args: { filter: t.arg({ type: AuditEventFilter }) },
      resolve: (_root, args, ctx) => paginate(args, filtered(ctx.app.db.selectFrom('audit_events').selectAll(), args.filter), 'seq', NEWEST_FIRST),
    },
    AuditEventConnection,
  ),
);
