import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import type { SelectQueryBuilder } from 'kysely';
import { badInput } from '../domain/errors.js';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export const MAX_PAGE = 100;
/** The page a connection gives when asked for neither `first` nor `last`. */
export const DEFAULT_PAGE = 20;

const encodeCursor = (key: string) => Buffer.from(JSON.stringify({ k: key })).toString('base64url');

function decodeCursor(cursor: string | null | undefined, field: string): string | undefined {
  if (cursor == null) return undefined;
  try {
    const { k } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k: unknown };
    if (typeof k === 'string') return k;
  } catch {
    // fall through to the error below
  }
  throw badInput(field, 'is not a cursor from this list (use a pageInfo.endCursor or edge cursor you were given)');
}

/**
 * Keyset pagination over a unique, stable sort key (a name): `first` defaults to 20 and
 * may be at most 100; cursors are opaque. `query` must already select the rows' filters;
 * this adds the key bounds, the order and the limit.
 */
function checkPageArgs(args: PageArgs) {
  for (const field of ['first', 'last'] as const) {
    const n = args[field];
    if (n != null && (n < 0 || n > MAX_PAGE)) throw badInput(field, `must be between 0 and ${MAX_PAGE}`);
  }
}

export function paginate<DB, TB extends keyof DB, Row extends object>(
  args: PageArgs,
  query: SelectQueryBuilder<DB, TB, Row>,
  /** The sort column, qualified when the query joins (e.g. "u.username"); the row has it unqualified. */
  column: string,
  /** Newest first for audit events (by their sequence number), by name otherwise. */
  order: { direction: 'asc' | 'desc'; numeric?: boolean } = { direction: 'asc' },
) {
  const key = column.split('.').pop() as keyof Row & string;
  const asKey = (cursor: string) => (order.numeric ? Number(cursor) : cursor);
  const [forward, backward] = order.direction === 'asc' ? (['>', '<'] as const) : (['<', '>'] as const);
  checkPageArgs(args);
  const after = decodeCursor(args.after, 'after');
  const before = decodeCursor(args.before, 'before');
  return resolveCursorConnection(
    { args: { ...args, after, before }, toCursor: (row: Row) => encodeCursor(String(row[key])), defaultSize: DEFAULT_PAGE, maxSize: MAX_PAGE },
    async ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) => {
      // Kysely cannot type a column named by a variable; the key is a column of Row.
      let q = query as unknown as SelectQueryBuilder<any, any, Row>;
      if (after !== undefined) q = q.where(column, forward, asKey(after));
      if (before !== undefined) q = q.where(column, backward, asKey(before));
      const reverse = order.direction === 'asc' ? 'desc' : 'asc';
      return q.orderBy(column, inverted ? reverse : order.direction).limit(limit).execute();
    },
  );
}

/** The same paging over rows already loaded (sorted by `key`), e.g. a batch from a DataLoader. */
export function paginateLoaded<Row extends object>(args: PageArgs, rows: Row[], key: keyof Row & string) {
  const keyOf = (row: Row) => String(row[key]);
  checkPageArgs(args);
  const after = decodeCursor(args.after, 'after');
  const before = decodeCursor(args.before, 'before');
  return resolveCursorConnection(
    { args: { ...args, after, before }, toCursor: (row: Row) => encodeCursor(keyOf(row)), defaultSize: DEFAULT_PAGE, maxSize: MAX_PAGE },
    ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) => {
      const inRange = rows.filter((r) => (after === undefined || keyOf(r) > after) && (before === undefined || keyOf(r) < before));
      return (inverted ? inRange.reverse() : inRange).slice(0, limit);
    },
  );
}
