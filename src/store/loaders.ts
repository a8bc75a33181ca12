import DataLoader from 'dataloader';
import type { App } from '../context.js';
import type { CredentialsTable, NamespacesTable, RegistriesTable, RoleName, TokensTable, UsersTable } from '../../db/types.js';
import { effectiveRole, type Principal, type Role, visibleNamespaces } from '../policy.js';
import { type Invalidations, RowCache } from './cache.js';
import { inVisibleNamespaces } from './visibility.js';

export type UserRow = UsersTable;
export type NamespaceRow = NamespacesTable;
export type TokenRow = TokensTable;
/** A user's role in a namespace; null when they are not a member. */
export interface MembershipRole {
  userId: string;
  namespaceId: string;
  role: Role | null;
}

/** The process-wide caches the loaders below read through (src/store/cache.ts). */
export function rowCaches(invalidations: Invalidations, ttlSeconds: number) {
  return {
    // Only updateNamespace and deleteNamespace change a namespace; both invalidate it.
    namespaces: new RowCache<NamespaceRow>(invalidations, {
      ttlSeconds,
      max: 20_000,
      dropsOn: (change, ns) => 'namespaceId' in change && change.namespaceId === ns.id,
    }),
    // setMemberRole and removeMember invalidate the user; a deleted namespace takes its members.
    roles: new RowCache<MembershipRole>(invalidations, {
      ttlSeconds,
      max: 100_000,
      dropsOn: (change, m) => ('userId' in change && change.userId === m.userId) || ('namespaceId' in change && change.namespaceId === m.namespaceId),
    }),
  };
}

function byKey<K, V>(rows: V[], key: (row: V) => K, keys: readonly K[]): (V | null)[] {
  const map = new Map(rows.map((r) => [key(r), r]));
  return keys.map((k) => map.get(k) ?? null);
}

/**
 * Per-request batching: every by-id lookup goes through one of these, so a list of N
 * items costs a constant number of statements. Never use them inside a transaction
 * (SQLite has one connection: a query on the outer handle would wait for the transaction).
 * Namespaces and membership roles are read through the process-wide caches.
 */
export function createLoaders(app: Pick<App, 'db' | 'namespaces' | 'roles'>, principal: Principal | null) {
  const { db } = app;
  const userById = new DataLoader<string, UserRow | null>(async (ids) =>
    byKey(await db.selectFrom('users').selectAll().where('id', 'in', ids).execute(), (r) => r.id, ids),
  );
  const namespacesBy = (column: 'id' | 'name') =>
    new DataLoader<string, NamespaceRow | null>((values) =>
      app.namespaces.getMany(
        values.map((value) => `${column}:${value}`),
        async (keys) => {
          const wanted = keys.map((key) => key.slice(column.length + 1));
          return byKey(await db.selectFrom('namespaces').selectAll().where(column, 'in', wanted).execute(), (r) => r[column], wanted);
        },
      ),
    );
  const namespaceById = namespacesBy('id');
  const namespaceByName = namespacesBy('name');
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
    const { userId } = principal;
    const memberships = await app.roles.getMany(
      namespaceIds.map((id) => `${userId}/${id}`),
      async (keys) => {
        const wanted = keys.map((key) => key.slice(userId.length + 1));
        const rows = await db.selectFrom('memberships').select(['namespace_id', 'role']).where('user_id', '=', userId).where('namespace_id', 'in', wanted).execute();
        return byKey(rows, (r) => r.namespace_id, wanted).map((r, i) => ({ userId, namespaceId: wanted[i], role: (r?.role as RoleName | undefined) ?? null }));
      },
    );
    return memberships.map((m) => m?.role ?? null);
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
