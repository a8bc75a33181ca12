import type { Context } from '../context.js';
import { forbidden, notFound, shown } from '../domain/errors.js';
import { actsInFull, adminRole, isUserPrincipal, type Operation, ruleFor, roleAtLeast, type Role } from '../policy.js';

/** A namespace by id (from a parent object) or by name (from arguments). */
export type NamespaceRef = { id: string; name?: undefined } | { name: string; id?: undefined };
export type NamespaceScope = NamespaceRef & { role: Role };

/**
 * Scope loaders. Denials throw their own errors so that the caller learns the right
 * thing: no role in a namespace means it does not exist (NOT_FOUND); a role too low is
 * FORBIDDEN naming the role needed.
 */
export function authScopes(ctx: Context) {
  // Read when a scope is checked, not when the request starts: `login` changes the principal (actAs).
  return {
    principal: () => ctx.principal !== null,
    user: () => {
      const p = ctx.principal;
      if (p && isUserPrincipal(p)) return true;
      throw forbidden('requires a user (session or personal access token); namespace API tokens cannot do this');
    },
    person: () => {
      const p = ctx.principal;
      if (p && actsInFull(p)) return true;
      throw forbidden('requires a session, or an administrator token without a maxRole cap');
    },
    admin: (role: Role) => {
      const p = ctx.principal;
      const rights = p ? adminRole(p) : null;
      if (rights === null) throw forbidden('requires administrator rights');
      if (!roleAtLeast(rights, role)) {
        throw forbidden(`requires administrator rights with role ${role}; this token is capped at ${rights}`, { neededRole: role });
      }
      return true;
    },
    namespace: async (scope: NamespaceScope) => {
      const ns = scope.id ? await ctx.loaders.namespaceById.load(scope.id) : await ctx.loaders.namespaceByName.load(scope.name!);
      const role = ns ? await ctx.loaders.roleIn(ns.id) : null;
      const name = scope.name ?? ns?.name ?? '';
      if (!ns || role === null) throw notFound(`namespace ${shown(name)}`).inNamespace(name);
      if (!roleAtLeast(role, scope.role)) {
        throw forbidden(`requires role ${scope.role} in namespace "${ns.name}" (your role is ${role})`, { neededRole: scope.role }).inNamespace(name);
      }
      return true;
    },
    selfOrAdmin: (userId: string) => {
      const p = ctx.principal;
      if (p && isUserPrincipal(p) && (p.userId === userId || p.isAdmin)) return true;
      throw forbidden('only its owner or an administrator may see this');
    },
  };
}

/**
 * The field's scopes, taken from the policy table. For role rules `namespaceOf` says which
 * namespace the operation touches (from its arguments or its parent object).
 */
type FieldScopes = { principal?: boolean; user?: boolean; person?: boolean; admin?: Role; namespace?: NamespaceScope };

export function scopesFor<Parent = any>(
  operation: Operation,
  namespaceOf?: (args: any, parent: Parent) => NamespaceRef,
): (parent: Parent, args: any) => FieldScopes {
  const rule = ruleFor(operation);
  switch (rule.needs) {
    case 'anyone':
    case 'principal':
      return () => ({ principal: true });
    case 'user':
      return () => ({ user: true });
    case 'person':
      return () => ({ person: true });
    case 'admin':
      return () => ({ admin: rule.role });
    case 'role': {
      if (!namespaceOf) throw new Error(`${operation} needs a namespace to check the role against`);
      return (parent, args) => ({ namespace: { ...namespaceOf(args, parent), role: rule.role } });
    }
  }
}

/** The namespace a mutation names in its input. */
export const inputNamespace = ({ input }: { input: { namespace: string } }): NamespaceRef => ({ name: input.namespace });
