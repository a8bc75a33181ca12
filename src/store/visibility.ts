import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { Database } from '../../db/types.js';
import type { VisibleNamespaces } from '../policy.js';

/** Keeps the rows whose namespace (in `column`) the principal can see (policy.visibleNamespaces). */
export function inVisibleNamespaces<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  column: string,
  visible: VisibleNamespaces,
): SelectQueryBuilder<DB, TB, O> {
  if ('all' in visible) return query;
  // Kysely cannot type a column named by a variable, nor the memberships subquery on a generic DB.
  const q = query as unknown as SelectQueryBuilder<any, any, O>;
  const kept =
    'only' in visible
      ? q.where(column, '=', visible.only)
      : q.where(column, 'in', (eb: ExpressionBuilder<Database, never>) => eb.selectFrom('memberships').select('namespace_id').where('user_id', '=', visible.memberOf));
  return kept as unknown as SelectQueryBuilder<DB, TB, O>;
}
