import { Kind } from 'graphql';
import { builder } from './builder.js';
import { DomainError } from '../domain/errors.js';
import { ROLES } from '../policy.js';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && ISO_INSTANT.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new DomainError('BAD_USER_INPUT', `DateTime must be an ISO-8601 instant with a time zone, e.g. 2026-01-01T00:00:00Z (got ${JSON.stringify(value)?.slice(0, 40)})`);
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant in UTC, ISO-8601, e.g. 2026-01-01T00:00:00.000Z',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
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
