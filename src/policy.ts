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
  /**
   * The user in full: a session, or an uncapped administrator (see `isUncappedAdmin`). Passwords
   * need it: a password is a way to every right its user has, so no narrower token may set one.
   */
  | { needs: 'person' }
  /** Administrator rights, at least this role: a personal token's maxRole caps them like any other role. */
  | { needs: 'admin'; role: Role }
  /** A role in the namespace the operation names. No role there: NOT_FOUND; too low: FORBIDDEN. */
  | { needs: 'role'; role: Role };

const anyone: Rule = { needs: 'anyone' };
const principal: Rule = { needs: 'principal' };
const user: Rule = { needs: 'user' };
const person: Rule = { needs: 'person' };
/** Reading what only administrators see (users, the instance's trail): a capped admin token may. */
const adminRead: Rule = { needs: 'admin', role: 'VIEWER' };
/** Changing users and granting admin: only an uncapped administrator. */
const adminWrite: Rule = { needs: 'admin', role: 'OWNER' };
const viewer: Rule = { needs: 'role', role: 'VIEWER' };
const editor: Rule = { needs: 'role', role: 'EDITOR' };
const owner: Rule = { needs: 'role', role: 'OWNER' };

export const policy = {
  Query: {
    node: principal,
    viewer: principal,
    namespace: principal, // null unless the caller has a role there
    namespaces: principal, // only those the caller has a role in
    users: adminRead,
    user: adminRead,
    auditEvents: adminRead, // the whole instance's trail
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
    createUser: { ...adminWrite, action: 'user.create' },
    updateUser: { ...adminWrite, action: 'user.update' },
    // Someone else's password: uncapped administrators only; one's own with the current one (mayChangePassword).
    setPassword: { ...person, action: 'user.set_password' },
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

/**
 * Administrator rights as this principal carries them: OWNER for an administrator's session,
 * the cap of an admin personal token, null without administrator rights.
 */
export function adminRole(p: Principal): Role | null {
  if (p.kind === 'API_TOKEN' || !p.isAdmin) return null;
  return p.kind === 'PERSONAL_ACCESS_TOKEN' ? p.maxRole : 'OWNER';
}

/** An administrator with nothing capped: a session, or a personal token with admin: true and maxRole OWNER. */
export const isUncappedAdmin = (p: Principal): boolean => adminRole(p) === 'OWNER';

/** The user in full: a session, or an uncapped administrator acting through a token. */
export const actsInFull = (p: Principal): boolean => p.kind === 'USER_SESSION' || isUncappedAdmin(p);

// ---------------------------------------------------------------- no principal wider than itself

/**
 * The one rule behind every operation that makes or touches a principal: no principal can
 * produce or reach one wider than itself. Wider means a higher role cap, administrator
 * rights the caller lacks, or, when a token mints or extends a token, a longer lifetime.
 */
export interface Width {
  role: Role | null;
  admin: boolean;
  /** The caller's own expiry when it is a token (a session is the person: not lifetime-capped). */
  expiresAt: string | null;
}

/** Why `subject` is wider than `caller` (named `who` in the reason), or null when it is within. */
export function widerThan(subject: Width, caller: Width, who: string, { lifetime }: { lifetime: boolean }): { reason: string; neededRole?: Role } | null {
  if (subject.role !== null && !roleAtLeast(caller.role, subject.role)) {
    return { reason: `role ${subject.role} is above the role ${caller.role ?? 'none'} of ${who}`, neededRole: subject.role };
  }
  if (subject.admin && !caller.admin) {
    return { reason: 'only administrators (acting with administrator rights) may create or manage admin personal access tokens' };
  }
  if (lifetime && caller.expiresAt && (subject.expiresAt === null || Date.parse(subject.expiresAt) > Date.parse(caller.expiresAt))) {
    return { reason: `${who} expires at ${caller.expiresAt}: the tokens it creates or manages must expire no later` };
  }
  return null;
}

/**
 * Users and memberships do not expire, so a token that does may not create or widen one
 * (a new user, admin rights, a member's role, someone else's password): what it made would
 * outlive it. The reason, or null for a session or a token without an expiry.
 */
export function outlivedBy(p: Principal): string | null {
  if (p.kind === 'USER_SESSION' || p.expiresAt === null) return null;
  return `the token making this request expires at ${p.expiresAt}: it cannot create or widen a user or a membership, which would outlive it`;
}

/**
 * Passwords: a password leads to a session, the user in full, so no narrower principal sets
 * one. One's own: a session, or an uncapped administrator's token, proving the current
 * password once there is one. Someone else's: an uncapped administrator only.
 */
export function passwordRule(p: Principal, username: string): { allowed: true; own: boolean } | { allowed: false; reason: string } {
  if (!isUserPrincipal(p) || !actsInFull(p)) {
    return { allowed: false, reason: 'passwords are set in a session, or with an administrator token without a maxRole cap' };
  }
  if (p.username === username) return { allowed: true, own: true };
  if (!isUncappedAdmin(p)) return { allowed: false, reason: "only administrators may set another user's password" };
  const outlived = outlivedBy(p);
  return outlived ? { allowed: false, reason: outlived } : { allowed: true, own: false };
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
