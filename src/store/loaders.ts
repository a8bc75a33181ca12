import DataLoader from 'dataloader';
import type { CredentialsTable, NamespacesTable, RegistriesTable, RoleName, TokensTable, UsersTable } from '../../db/types.js';
import { effectiveRole, type Principal, type Role, visibleNamespaces } from '../policy.js';
import type { DB } from './db.js';
import { inVisibleNamespaces } from './visibility.js';

export type UserRow = UsersTable;
export type NamespaceRow = NamespacesTable;
export type TokenRow = TokensTable;

function byKey<K, V>(rows: V[], key: (row: V) => K, keys: readonly K[]): (V | null)[] {
  const map = new Map(rows.map((r) => [key(r), r]));
  return keys.map((k) => map.get(k) ?? null);
}

/**
 * Per-request batching: every by-id lookup goes through one of these, so a list of N
 * items costs a constant number of statements. Never use them inside a transaction
 * (SQLite has one connection: a query on the outer handle would wait for the transaction).
 */
export function createLoaders(db: DB, principal: Principal | null) {
  const userById = new DataLoader<string, UserRow | null>(async (ids) =>
    byKey(await db.selectFrom('users').selectAll().where('id', 'in', ids).execute(), (r) => r.id, ids),
  );
  const namespaceById = new DataLoader<string, NamespaceRow | null>(async (ids) =>
    byKey(await db.selectFrom('namespaces').selectAll().where('id', 'in', ids).execute(), (r) => r.id, ids),
  );
  const namespaceByName = new DataLoader<string, NamespaceRow | null>(async (names) =>
    byKey(await db.selectFrom('namespaces').selectAll().where('name', 'in', names).execute(), (r) => r.name, names),
  );
  const tokenById = new DataLoader<string, TokenRow | null>(async (ids) =>
    byKey(await db.selectFrom('tokens').selectAll().where('id', 'in', ids).execute(), (r) => r.id, ids),
  );
  const credentialById = new DataLoader<string, CredentialsTable | null>(async (ids) =>
    byKey(await db.selectFrom('credentials').selectAll().where('id', 'in', ids).execute(), (r) => r.id, ids),
  );
  const registryById = new DataLoader<string, RegistriesTable | null>(async (ids) =>
    byKey(await db.selectFrom('registries').selectAll().where('id', 'in', ids).execute(), (r) => r.id, ids),
  );
  /** Every registry that authenticates with each credential, by name: one statement for a whole list. */
  const registriesByCredential = new DataLoader<string, RegistriesTable[]>(async (ids) => {
    const rows = await db.selectFrom('registries').selectAll().where('credential_id', 'in', ids).orderBy('name').execute();
    return ids.map((id) => rows.filter((r) => r.credential_id === id));
  });
  /**
   * Users the caller may see, by id (null for the others): administrators see everyone; others
   * themselves and the members of namespaces they have a role in. node(id) and fields that name
   * a user from elsewhere (createdBy) read users through it.
   */
  const visibleUserById = new DataLoader<string, UserRow | null>(async (ids) => {
    if (!principal) return ids.map(() => null);
    const visible = visibleNamespaces(principal);
    const rows = await userById.loadMany(ids);
    const members = db.selectFrom('memberships as m').select('m.user_id').where('m.user_id', 'in', ids);
    const shown = 'all' in visible ? null : new Set((await inVisibleNamespaces(members, 'm.namespace_id', visible).execute()).map((m) => m.user_id));
    if (shown && 'memberOf' in visible) shown.add(visible.memberOf);
    return rows.map((row) => (row && !(row instanceof Error) && (!shown || shown.has(row.id)) ? row : null));
  });
  /** The calling user's membership role per namespace id. */
  const membershipRole = new DataLoader<string, Role | null>(async (namespaceIds) => {
    if (!principal || principal.kind === 'API_TOKEN') return namespaceIds.map(() => null);
    const rows = await db
      .selectFrom('memberships')
      .select(['namespace_id', 'role'])
      .where('user_id', '=', principal.userId)
      .where('namespace_id', 'in', namespaceIds)
      .execute();
    return byKey(rows, (r) => r.namespace_id, namespaceIds).map((r) => (r?.role as RoleName | undefined) ?? null);
  });

  /** The caller's effective role in a namespace (by id), null when it has none. */
  const roleIn = async (namespaceId: string): Promise<Role | null> => {
    if (!principal) return null;
    const membership = principal.kind === 'API_TOKEN' ? null : await membershipRole.load(namespaceId);
    return effectiveRole(principal, namespaceId, membership);
  };

  return { userById, visibleUserById, namespaceById, namespaceByName, tokenById, credentialById, registryById, registriesByCredential, membershipRole, roleIn };
}

export type Loaders = ReturnType<typeof createLoaders>;
