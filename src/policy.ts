/**
 * The authorization policy, in one place. Resolvers take their scopes from this table
 * (see schema/auth.ts), and the authorization matrix test reads it too.
 */
export const ROLES = ['VIEWER', 'EDITOR', 'OWNER'] as const;
export type Role = (typeof ROLES)[number];

export const roleRank = (role: Role): number => ROLES.indexOf(role);
export const roleAtLeast = (role: Role | null, needed: Role): boolean => role !== null && roleRank(role) >= roleRank(needed);
export const minRole = (a: Role, b: Role): Role => (roleRank(a) <= roleRank(b) ? a : b);

export type Rule =
  /** Anyone, even without a token. */
  | { needs: 'anyone' }
  /** Any valid token. */
  | { needs: 'principal' }
  /** A user acting in person: a session or personal access token, not a namespace API token. */
  | { needs: 'user' }
  | { needs: 'admin' }
  /** A role in the namespace the operation names. No role there: NOT_FOUND; too low: FORBIDDEN. */
  | { needs: 'role'; role: Role };

const anyone: Rule = { needs: 'anyone' };
const principal: Rule = { needs: 'principal' };
const user: Rule = { needs: 'user' };
const admin: Rule = { needs: 'admin' };
const viewer: Rule = { needs: 'role', role: 'VIEWER' };
const editor: Rule = { needs: 'role', role: 'EDITOR' };
const owner: Rule = { needs: 'role', role: 'OWNER' };

export const policy = {
  Query: {
    node: principal,
    viewer: principal,
    namespace: principal, // null unless the caller has a role there
    namespaces: principal, // only those the caller has a role in
    users: admin,
    user: admin,
    auditEvents: admin, // the whole instance's trail
  },
  Namespace: {
    read: viewer, // the namespace, its members, tokens, credentials (metadata), registries
    auditEvents: owner,
  },
  /** Each mutation also names the dotted verb its audit events carry. */
  Mutation: {
    login: { ...anyone, action: 'auth.login' },
    logout: { ...principal, action: 'auth.logout' },
    createNamespace: { ...user, action: 'namespace.create' },
    updateNamespace: { ...owner, action: 'namespace.update' },
    deleteNamespace: { ...owner, action: 'namespace.delete' },
    setMemberRole: { ...owner, action: 'member.set_role' },
    removeMember: { ...owner, action: 'member.remove' },
    createApiToken: { ...owner, action: 'apitoken.create' },
    updateApiToken: { ...owner, action: 'apitoken.update' },
    regenerateApiToken: { ...owner, action: 'apitoken.regenerate' },
    revokeApiToken: { ...owner, action: 'apitoken.revoke' },
    createPersonalAccessToken: { ...user, action: 'personaltoken.create' },
    updatePersonalAccessToken: { ...user, action: 'personaltoken.update' },
    regeneratePersonalAccessToken: { ...user, action: 'personaltoken.regenerate' },
    revokePersonalAccessToken: { ...user, action: 'personaltoken.revoke' },
    createUser: { ...admin, action: 'user.create' },
    updateUser: { ...admin, action: 'user.update' },
    // Someone else's password: administrators only (domain/users.ts).
    setPassword: { ...user, action: 'user.set_password' },
    createRegistryCredential: { ...editor, action: 'credential.create' },
    updateRegistryCredential: { ...editor, action: 'credential.update' },
    createGitCredential: { ...editor, action: 'credential.create' },
    updateGitCredential: { ...editor, action: 'credential.update' },
    createHetznerCredential: { ...editor, action: 'credential.create' },
    updateHetznerCredential: { ...editor, action: 'credential.update' },
    createOvhCredential: { ...editor, action: 'credential.create' },
    updateOvhCredential: { ...editor, action: 'credential.update' },
    createSshKeyCredential: { ...editor, action: 'credential.create' },
    deleteCredential: { ...editor, action: 'credential.delete' },
    validateCredential: { ...editor, action: 'credential.validate' },
    // Always audited (domain/credentials.ts).
    revealCredentialSecret: { ...editor, action: 'credential.reveal' },
    createRegistry: { ...editor, action: 'registry.create' },
    updateRegistry: { ...editor, action: 'registry.update' },
    deleteRegistry: { ...editor, action: 'registry.delete' },
  },
} as const satisfies Record<string, Record<string, Rule & { action?: string }>>;

export type Operation = {
  [T in keyof typeof policy]: `${T & string}.${keyof (typeof policy)[T] & string}`;
}[keyof typeof policy];

export type MutationName = keyof typeof policy.Mutation;

export function ruleFor(operation: Operation): Rule {
  const [type, field] = operation.split('.') as [keyof typeof policy, string];
  return (policy[type] as Record<string, Rule>)[field];
}

export const auditActionOf = (mutation: MutationName): string => policy.Mutation[mutation].action;

export type PrincipalKind = 'USER_SESSION' | 'PERSONAL_ACCESS_TOKEN' | 'API_TOKEN';

/** Who is calling, as verified from the bearer token (`expiresAt`: that token's expiry). */
export type Principal =
  | { kind: 'USER_SESSION'; tokenId: string; userId: string; username: string; isAdmin: boolean; expiresAt: string | null }
  | {
      kind: 'PERSONAL_ACCESS_TOKEN';
      tokenId: string;
      tokenName: string;
      userId: string;
      username: string;
      /** The user is an administrator and the token was created with admin: true. */
      isAdmin: boolean;
      maxRole: Role;
      expiresAt: string | null;
    }
  | { kind: 'API_TOKEN'; tokenId: string; tokenName: string; namespaceId: string; namespaceName: string; role: Role; expiresAt: string | null };

export const isUserPrincipal = (p: Principal): p is Exclude<Principal, { kind: 'API_TOKEN' }> => p.kind !== 'API_TOKEN';

/**
 * Effective role in a namespace. API token: its role in its own namespace, nothing
 * elsewhere. Session: the membership (administrators act as OWNER everywhere).
 * Personal token: the same, capped at its maxRole.
 */
export function effectiveRole(p: Principal, namespaceId: string, membershipRole: Role | null): Role | null {
  if (p.kind === 'API_TOKEN') return p.namespaceId === namespaceId ? p.role : null;
  const base = p.isAdmin ? 'OWNER' : membershipRole;
  if (base === null) return null;
  return p.kind === 'PERSONAL_ACCESS_TOKEN' ? minRole(base, p.maxRole) : base;
}

/** How the audit trail and logs name a principal: user:alice, user:alice/tokens/laptop, namespaces/default/apitokens/ci. */
export function principalName(p: Principal): string {
  switch (p.kind) {
    case 'USER_SESSION':
      return `user:${p.username}`;
    case 'PERSONAL_ACCESS_TOKEN':
      return `user:${p.username}/tokens/${p.tokenName}`;
    case 'API_TOKEN':
      return `namespaces/${p.namespaceName}/apitokens/${p.tokenName}`;
  }
}

/**
 * Which namespaces a principal has a role in, as a query needs it: one namespace for an API
 * token, all of them for an administrator, otherwise its user's memberships. (Matches
 * effectiveRole: it is non-null exactly for these.)
 */
export type VisibleNamespaces = { only: string } | { all: true } | { memberOf: string };

export function visibleNamespaces(p: Principal): VisibleNamespaces {
  if (p.kind === 'API_TOKEN') return { only: p.namespaceId };
  return p.isAdmin ? { all: true } : { memberOf: p.userId };
}
