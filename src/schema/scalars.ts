import { Kind } from 'graphql';
import { builder } from './builder.js';
import { DomainError } from '../domain/errors.js';
import { ROLES } from '../policy.js';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const RULE = 'DateTime must be an ISO-8601 instant with a time zone between 1970 and 9999, e.g. 2026-01-01T00:00:00Z';

// In UTC, within four-digit years: stored instants then compare correctly as text too
// ("+010000-…" from 9999-12-31T23:59-23:59 would sort before "2026-…").
const EARLIEST = Date.parse('1970-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

function toDate(value: unknown): Date | null {
  const date = typeof value === 'string' && ISO_INSTANT.test(value) ? new Date(value) : null;
  const time = date?.getTime() ?? NaN;
  return time >= EARLIEST && time <= LATEST ? date : null;
}

/** In variables: graphql-js prefixes the path (at "input.expiresAt") and keeps our code. */
function parseDateTime(value: unknown): Date {
  const date = toDate(value);
  if (!date) throw new DomainError('BAD_USER_INPUT', RULE);
  return date;
}

/** In the query text: a plain error, so graphql-js names the value found and points at it. */
function parseDateTimeLiteral(value: unknown): Date {
  const date = toDate(value);
  if (!date) throw new TypeError(RULE);
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant in UTC, ISO-8601, e.g. 2026-01-01T00:00:00.000Z',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTimeLiteral(ast.kind === Kind.STRING ? ast.value : null),
});

export const RoleEnum = builder.enumType('Role', {
  description: 'Namespace roles, ordered: VIEWER < EDITOR < OWNER.',
  values: ROLES,
});

export const PrincipalKindEnum = builder.enumType('PrincipalKind', {
  values: ['USER_SESSION', 'PERSONAL_ACCESS_TOKEN', 'API_TOKEN'] as const,
});

export const DeletePayload = builder.objectRef<{ deleted: string }>('DeletePayload').implement({
  fields: (t) => ({
    deleted: t.exposeString('deleted', { description: 'The resource name or id of what was deleted.' }),
  }),
});
