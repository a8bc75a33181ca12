import { actions, PASSWORD, type Role } from './fixtures.js';
import type { TestServer } from './server.js';

export { PASSWORD, type Role };
export const ROLE_ORDER: readonly Role[] = ['VIEWER', 'EDITOR', 'OWNER'];

/** The namespace the matrix is about, and one the "team" principals have no role in. */
export const TEAM = 'team';
export const OTHER = 'other';

/**
 * A caller as the matrix sees it. Everything but `token` is written down by hand from
 * DESIGN.md ("Principals", "Authorization") and is known before any server starts, so
 * that test names can be built from it; `token` is filled in by `provisionPrincipals`.
 */
export interface Principal {
  label: string;
  kind: 'ANONYMOUS' | 'USER_SESSION' | 'PERSONAL_ACCESS_TOKEN' | 'API_TOKEN';
  /** The role this caller should effectively have in "team" — by hand, never computed by src/policy.ts. */
  teamRole: Role | null;
  /** For user principals: the membership behind teamRole (differs from it for a capped personal token). */
  membership: Role | null;
  admin: boolean;
  /** The cap of a personal access token (min(membership, maxRole) is its role anywhere). */
  maxRole: Role | null;
  /** The user behind a session or personal access token. */
  username: string | null;
  /** Set for secrets that must be refused with 401 invalid_token: the error description expected. */
  refused: RegExp | null;
  token: string | null;
}

const principal = (p: Partial<Principal> & Pick<Principal, 'label' | 'kind'>): Principal => ({
  teamRole: null,
  membership: null,
  admin: false,
  maxRole: null,
  username: null,
  refused: null,
  token: null,
  ...p,
});

const refusedToken = (label: string, kind: Principal['kind'], description: RegExp) => principal({ label, kind, refused: description });

/** The callers of the authorization matrix, in a fixed order. */
export function matrixPrincipals(): Principal[] {
  return [
    principal({ label: 'anonymous', kind: 'ANONYMOUS' }),
    principal({ label: 'user VIEWER', kind: 'USER_SESSION', username: 'vera', teamRole: 'VIEWER', membership: 'VIEWER' }),
    principal({ label: 'user EDITOR', kind: 'USER_SESSION', username: 'ed', teamRole: 'EDITOR', membership: 'EDITOR' }),
    principal({ label: 'user OWNER', kind: 'USER_SESSION', username: 'olga', teamRole: 'OWNER', membership: 'OWNER' }),
    principal({ label: 'owner of another namespace', kind: 'USER_SESSION', username: 'otto' }),
    // The bootstrap token: a personal access token with admin rights; admins act as OWNER everywhere.
    principal({ label: 'administrator', kind: 'PERSONAL_ACCESS_TOKEN', username: 'admin', admin: true, maxRole: 'OWNER', teamRole: 'OWNER' }),
    principal({ label: 'api token VIEWER', kind: 'API_TOKEN', teamRole: 'VIEWER' }),
    principal({ label: 'api token EDITOR', kind: 'API_TOKEN', teamRole: 'EDITOR' }),
    principal({ label: 'api token OWNER', kind: 'API_TOKEN', teamRole: 'OWNER' }),
    // Personal tokens at every cap: min(membership OWNER, maxRole).
    principal({ label: 'personal token maxRole VIEWER of an OWNER', kind: 'PERSONAL_ACCESS_TOKEN', username: 'cappy', maxRole: 'VIEWER', teamRole: 'VIEWER', membership: 'OWNER' }),
    principal({ label: 'personal token maxRole EDITOR of an OWNER', kind: 'PERSONAL_ACCESS_TOKEN', username: 'cappy', maxRole: 'EDITOR', teamRole: 'EDITOR', membership: 'OWNER' }),
    principal({ label: 'personal token maxRole OWNER of an OWNER', kind: 'PERSONAL_ACCESS_TOKEN', username: 'cappy', maxRole: 'OWNER', teamRole: 'OWNER', membership: 'OWNER' }),
    // ada is an administrator and an EDITOR of "team". With admin rights she acts as OWNER
    // everywhere, capped by a token's maxRole; a token without admin: true has her membership only.
    principal({ label: 'administrator session', kind: 'USER_SESSION', username: 'ada', admin: true, teamRole: 'OWNER', membership: 'EDITOR' }),
    principal({ label: 'admin token maxRole VIEWER', kind: 'PERSONAL_ACCESS_TOKEN', username: 'ada', admin: true, maxRole: 'VIEWER', teamRole: 'VIEWER', membership: 'EDITOR' }),
    principal({ label: 'admin token maxRole EDITOR', kind: 'PERSONAL_ACCESS_TOKEN', username: 'ada', admin: true, maxRole: 'EDITOR', teamRole: 'EDITOR', membership: 'EDITOR' }),
    principal({ label: 'non-admin token of an administrator', kind: 'PERSONAL_ACCESS_TOKEN', username: 'ada', maxRole: 'OWNER', teamRole: 'EDITOR', membership: 'EDITOR' }),
    refusedToken('disabled token', 'API_TOKEN', /^token is disabled$/),
    refusedToken('expired token', 'PERSONAL_ACCESS_TOKEN', /^token expired at \d{4}-/),
    refusedToken('revoked token', 'API_TOKEN', /^token is not valid \(unknown or revoked\)$/),
    refusedToken('regenerated-away token', 'PERSONAL_ACCESS_TOKEN', /^token has been regenerated; use the new secret$/),
    refusedToken('malformed token', 'API_TOKEN', /malformed/),
    refusedToken('bad-checksum token', 'API_TOKEN', /malformed/),
  ];
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type CredentialType = 'REGISTRY' | 'GIT' | 'HETZNER' | 'OVH';
/** How to make a credential of each type without asking a provider (skipValidation where there is one). */
export const CREDENTIALS: Record<CredentialType, { typeName: string; input: string; fields: Record<string, unknown> }> = {
  REGISTRY: { typeName: 'RegistryCredential', input: 'RegistryCredentialInput', fields: { username: 'robot', password: 'registry-password' } },
  GIT: { typeName: 'GitCredential', input: 'GitCredentialInput', fields: { provider: 'GENERIC', token: 'git-token', skipValidation: true } },
  HETZNER: { typeName: 'HetznerCredential', input: 'HetznerCredentialInput', fields: { apiToken: 'hetzner-token', skipValidation: true } },
  OVH: {
    typeName: 'OvhCredential',
    input: 'OvhCredentialInput',
    fields: { projectId: 'project-1', applicationKey: 'appkey1', applicationSecret: 'app-secret', consumerKey: 'consumer-key', skipValidation: true },
  },
};

/** Creates a credential of that type (no provider is asked); returns its global id. */
export async function createCredential(server: TestServer, token: string, type: CredentialType, namespace: string, name: string): Promise<string> {
  const { typeName, input, fields } = CREDENTIALS[type];
  const data = await server.ok(`mutation($i: Create${input}!) { create${typeName}(input: $i) { id } }`, { i: { namespace, name, ...fields } }, token);
  return data[`create${typeName}`].id;
}

/** Changes the last character of a well-formed secret so that its checksum no longer matches. */
export function breakChecksum(secret: string): string {
  const last = secret.at(-1)!;
  return secret.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

/**
 * Creates, over HTTP, everything the matrix principals stand for: users vera/ed/olga with
 * VIEWER/EDITOR/OWNER in "team", otto who owns "other", cappy (OWNER of "team") with a
 * personal token capped at VIEWER, three API tokens of "team", and secrets that must be
 * refused (disabled, expired, revoked, regenerated away, malformed, bad checksum).
 * Fills in each principal's token and returns them by label.
 */
export async function provisionPrincipals(server: TestServer, principals: Principal[]): Promise<Record<string, Principal>> {
  const s = actions(server);
  const admin = server.adminToken;
  const byLabel = Object.fromEntries(principals.map((p) => [p.label, p]));
  const set = (label: string, token: string) => {
    if (!byLabel[label]) throw new Error(`no principal "${label}"`);
    byLabel[label].token = token;
  };

  for (const user of ['vera', 'ed', 'olga', 'otto', 'cappy']) await s.createUser(user);
  await server.ok('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username: 'ada', password: PASSWORD, isAdmin: true } }, admin);
  const sessions = Object.fromEntries(await Promise.all(['vera', 'ed', 'olga', 'otto', 'cappy', 'ada'].map(async (u) => [u, await s.login(u)] as const)));

  // The expired secret needs time to run out: start its clock first.
  const expiresAt = new Date(Date.now() + 1200).toISOString();
  const expiring = await s.personalToken(sessions.ed, { name: 'soon-expired', maxRole: 'VIEWER', expiresAt });

  await s.createNamespace(sessions.olga, TEAM);
  await s.createNamespace(sessions.otto, OTHER);
  await s.setRole(sessions.olga, TEAM, 'vera', 'VIEWER');
  await s.setRole(sessions.olga, TEAM, 'ed', 'EDITOR');
  await s.setRole(sessions.olga, TEAM, 'cappy', 'OWNER');
  await s.setRole(sessions.olga, TEAM, 'ada', 'EDITOR');

  set('user VIEWER', sessions.vera);
  set('user EDITOR', sessions.ed);
  set('user OWNER', sessions.olga);
  set('owner of another namespace', sessions.otto);
  set('administrator', admin);
  for (const role of ROLE_ORDER) {
    set(`api token ${role}`, (await s.apiToken(sessions.olga, { namespace: TEAM, name: `as-${role.toLowerCase()}`, role })).secret);
  }
  for (const cap of ROLE_ORDER) {
    set(`personal token maxRole ${cap} of an OWNER`, (await s.personalToken(sessions.cappy, { name: `capped-${cap.toLowerCase()}`, maxRole: cap })).secret);
  }
  set('administrator session', sessions.ada);
  for (const cap of ['VIEWER', 'EDITOR'] as const) {
    set(`admin token maxRole ${cap}`, (await s.personalToken(sessions.ada, { name: `admin-${cap.toLowerCase()}`, maxRole: cap, admin: true })).secret);
  }
  set('non-admin token of an administrator', (await s.personalToken(sessions.ada, { name: 'plain', maxRole: 'OWNER' })).secret);

  const disabled = await s.apiToken(sessions.olga, { namespace: TEAM, name: 'r-disabled', role: 'OWNER' });
  await server.ok('mutation { updateApiToken(input: { namespace: "team", name: "r-disabled", enabled: false }) { enabled } }', {}, sessions.olga);
  set('disabled token', disabled.secret);

  const revoked = await s.apiToken(sessions.olga, { namespace: TEAM, name: 'r-revoked', role: 'OWNER' });
  await server.ok('mutation { revokeApiToken(input: { namespace: "team", name: "r-revoked" }) { deleted } }', {}, sessions.olga);
  set('revoked token', revoked.secret);

  const regenerated = await s.personalToken(sessions.olga, { name: 'r-regenerated' });
  await server.ok('mutation { regeneratePersonalAccessToken(input: { name: "r-regenerated", gracePeriodSeconds: 0 }) { secret } }', {}, sessions.olga);
  set('regenerated-away token', regenerated.secret);

  set('malformed token', 'sgt_this-is-not-a-token');
  set('bad-checksum token', breakChecksum(byLabel['api token OWNER'].token!));

  const wait = Date.parse(expiresAt) - Date.now() + 50;
  if (wait > 0) await sleep(wait);
  set('expired token', expiring.secret);

  for (const p of principals) {
    if (p.kind !== 'ANONYMOUS' && !p.token) throw new Error(`principal "${p.label}" was not provisioned`);
  }
  return byLabel;
}
