import type { TestServer } from './server.js';

/** Every test user's password unless a test names another (long enough for the password rule). */
export const PASSWORD = 'a-long-password-1';

export type Role = 'VIEWER' | 'EDITOR' | 'OWNER';

/** A signed-in user: the session token is what a test acts with. */
export interface Member {
  username: string;
  password: string;
  token: string;
}

/**
 * Small, readable steps a test takes as a user would, over real HTTP; each fails the test on
 * any GraphQL error.
 */
export function actions(server: TestServer) {
  const admin = server.adminToken;
  const createUser = async (username: string, password = PASSWORD, isAdmin = false) => {
    await server.ok('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username, password, isAdmin } }, admin);
    return username;
  };
  const login = async (username: string, password = PASSWORD): Promise<string> =>
    (await server.ok('mutation($i: LoginInput!) { login(input: $i) { token } }', { i: { username, password } })).login.token;
  const apiToken = async (token: string, input: Record<string, unknown>): Promise<{ secret: string; id: string }> => {
    const data = await server.ok('mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret apiToken { id } } }', { i: input }, token);
    return { secret: data.createApiToken.secret, id: data.createApiToken.apiToken.id };
  };
  const personalToken = async (token: string, input: Record<string, unknown>): Promise<{ secret: string; id: string }> => {
    const data = await server.ok(
      'mutation($i: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $i) { secret personalAccessToken { id } } }',
      { i: input },
      token,
    );
    return { secret: data.createPersonalAccessToken.secret, id: data.createPersonalAccessToken.personalAccessToken.id };
  };
  return {
    createUser,
    login,
    /** A new user, signed in. */
    async signUp(username: string, password = PASSWORD): Promise<Member> {
      await createUser(username, password);
      return { username, password, token: await login(username, password) };
    },
    async createNamespace(token: string, name: string) {
      await server.ok('mutation($i: CreateNamespaceInput!) { createNamespace(input: $i) { id } }', { i: { name } }, token);
    },
    async setRole(token: string, namespace: string, username: string, role: Role) {
      await server.ok('mutation($i: SetMemberRoleInput!) { setMemberRole(input: $i) { role } }', { i: { namespace, username, role } }, token);
    },
    apiToken,
    personalToken,
    /** Like apiToken, the secret only. */
    createApiToken: async (token: string, input: Record<string, unknown>) => (await apiToken(token, input)).secret,
    /** Like personalToken, the secret only. */
    createPersonalToken: async (token: string, input: Record<string, unknown>) => (await personalToken(token, input)).secret,
    async whoami(token: string) {
      return server.gql('{ viewer { kind isAdmin user { username } apiToken { name } personalAccessToken { name } } }', {}, token);
    },
  };
}

export interface Team {
  namespace: string;
  owner: Member;
  editor: Member;
  viewer: Member;
}

/**
 * A namespace created by its owner, who makes the editor EDITOR and the viewer VIEWER there;
 * all three signed in. Usernames default to olivia, eddie and vera; `password` gives each
 * user a password of their own (PASSWORD otherwise).
 */
export async function seedTeam(
  server: TestServer,
  namespace: string,
  {
    owner = 'olivia',
    editor = 'eddie',
    viewer = 'vera',
    password = () => PASSWORD,
  }: { owner?: string; editor?: string; viewer?: string; password?: (username: string) => string } = {},
): Promise<Team> {
  const act = actions(server);
  // One after the other, so that the trail and the user list read the same on every run.
  const o = await act.signUp(owner, password(owner));
  const e = await act.signUp(editor, password(editor));
  const v = await act.signUp(viewer, password(viewer));
  await act.createNamespace(o.token, namespace);
  await act.setRole(o.token, namespace, e.username, 'EDITOR');
  await act.setRole(o.token, namespace, v.username, 'VIEWER');
  return { namespace, owner: o, editor: e, viewer: v };
}
