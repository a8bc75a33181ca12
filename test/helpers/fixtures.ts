import type { TestServer } from './server.js';

/** Small, readable steps a test takes as a user would. */
export function actions(server: TestServer) {
  const admin = server.adminToken;
  return {
    async createUser(username: string, password = 'a-long-password-1', isAdmin = false) {
      await server.ok(
        'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }',
        { input: { username, password, isAdmin } },
        admin,
      );
      return username;
    },
    async login(username: string, password = 'a-long-password-1'): Promise<string> {
      const data = await server.ok(
        'mutation($input: LoginInput!) { login(input: $input) { token } }',
        { input: { username, password } },
      );
      return data.login.token;
    },
    async createNamespace(token: string, name: string) {
      await server.ok('mutation($input: CreateNamespaceInput!) { createNamespace(input: $input) { id } }', { input: { name } }, token);
    },
    async setRole(token: string, namespace: string, username: string, role: string) {
      await server.ok(
        'mutation($input: SetMemberRoleInput!) { setMemberRole(input: $input) { role } }',
        { input: { namespace, username, role } },
        token,
      );
    },
    async createApiToken(token: string, input: Record<string, unknown>): Promise<string> {
      const data = await server.ok(
        'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }',
        { input },
        token,
      );
      return data.createApiToken.secret;
    },
    async createPersonalToken(token: string, input: Record<string, unknown>): Promise<string> {
      const data = await server.ok(
        'mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { secret } }',
        { input },
        token,
      );
      return data.createPersonalAccessToken.secret;
    },
    async whoami(token: string) {
      return server.gql('{ viewer { kind isAdmin user { username } apiToken { name } personalAccessToken { name } } }', {}, token);
    },
  };
}
