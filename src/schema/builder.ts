import SchemaBuilder, { PothosError } from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { Context } from '../context.js';
import { forbidden } from '../domain/errors.js';
import type { Role } from '../policy.js';
import { authScopes, type NamespaceScope } from './auth.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: {
    /** Any verified token. */
    principal: boolean;
    /** A user in person: session or personal access token. */
    user: boolean;
    /** The user in full: a session or an uncapped administrator. */
    person: boolean;
    /** Administrator rights with at least this role (a personal token's cap applies). */
    admin: Role;
    /** At least this role in that namespace; throws NOT_FOUND / FORBIDDEN itself. */
    namespace: NamespaceScope;
    /** This user themselves, or an administrator. */
    selfOrAdmin: string;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    ID: { Input: string; Output: string };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes,
    // Object-valued scope parameters must be keyed by value, or they are never cached.
    cacheKey: (value) => JSON.stringify(value),
    // Our scope loaders throw their own NOT_FOUND / FORBIDDEN; this covers a plain `false`.
    unauthorizedError: (_parent, _context, _info, result) => forbidden(result.message),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesQueryOptions: false,
    nodeQueryOptions: {
      description: 'Refetch any object the caller may see by its global id; null otherwise.',
      // An id that names no Node type (garbage, an interface, a plain object type) is simply
      // not found: Pothos reports those as schema errors, which would read as a 500.
      resolve: async (_root, { id }, _context, _info, resolveNode) => {
        try {
          return await resolveNode(id);
        } catch (err) {
          if (err instanceof PothosError) return null;
          throw err;
        }
      },
    },
    decodeGlobalID: (globalID) => {
      const [typename, ...rest] = Buffer.from(globalID, 'base64').toString('utf8').split(':');
      return { typename: rest.length ? typename : '', id: rest.join(':') };
    },
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
  },
});

export type { Role };
