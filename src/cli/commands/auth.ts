/** login, logout, whoami. */
import { type Command, Option } from 'commander';
import { ScopegateError } from '../../client/index.js';
import { act, verb } from '../define.js';
import { NotAuthenticatedError, UsageError } from '../errors.js';
import { promptHidden, promptLine, readSecret } from '../secrets.js';
import { checkStoreDirectory, credentialsPath, getLogin, removeLogin, saveLogin } from '../store.js';

const WHOAMI = `query {
  viewer {
    kind isAdmin
    user { username displayName isAdmin }
    apiToken { name role expiresAt namespace { name } }
    personalAccessToken { name maxRole admin expiresAt }
  }
}`;

export function registerAuth(program: Command): void {
  act(
    verb(program, {
      name: 'login',
      description: `Sign in and store the session in ${'$XDG_CONFIG_HOME/scopegate/credentials.json'} (mode 0600), keyed by URL`,
      example: [
        'scopegate login --url https://scopegate.example.com --username alice',
        'printf %s "$PASSWORD" | scopegate login --username alice --password-stdin',
        'printf %s "$SCOPEGATE_PAT" | scopegate login --with-token',
      ],
    })
      .option('--username <name>', 'the user to sign in as (prompted on a terminal)')
      .option('--password-stdin', 'read the password from standard input')
      .option('--with-token', 'store a token (sgp_…, sgt_…) read from standard input instead of signing in')
      .addOption(new Option('--password <value>').hideHelp()),
    async (_args, options, ctx) => {
      if (options.password !== undefined) {
        throw new UsageError(
          '--password does not take a value on the command line (it would be kept in shell history and shown in the process list)',
          'use --password-stdin, or leave it out on a terminal to be prompted',
        );
      }
      // Before anything is sent: a login that could not be stored safely is not made.
      checkStoreDirectory();
      if (options.withToken) {
        if (options.passwordStdin || options.username) throw new UsageError('--with-token takes neither --username nor --password-stdin');
        const token = (await readSecret({ tokenStdin: true }, 'token', { required: true, label: 'token' }))!;
        const viewer = await ctx
          .clientWith(token, 'standard input')
          .request(WHOAMI)
          .catch((error: unknown) => {
            throw error instanceof ScopegateError && error.code === 'UNAUTHENTICATED'
              ? new NotAuthenticatedError(`the server refused the token: ${error.message}`, 'check the token you piped in')
              : error;
          });
        const expiresAt = viewer.viewer.apiToken?.expiresAt ?? viewer.viewer.personalAccessToken?.expiresAt ?? null;
        saveLogin(ctx.endpoint, { token, kind: 'token', username: viewer.viewer.user?.username ?? null, expiresAt });
        ctx.output.note(`stored the token for ${ctx.endpoint} (${describeViewer(viewer.viewer)}) in ${credentialsPath()}`);
        if (ctx.output.format === 'json')
          ctx.output.json({ url: ctx.endpoint, kind: viewer.viewer.kind, username: viewer.viewer.user?.username ?? null, expiresAt });
        return;
      }
      let username: string | undefined = options.username;
      if (!username) {
        if (!process.stdin.isTTY)
          throw new UsageError('--username is required', 'pass --username NAME (standard input is not a terminal, so there is no prompt)');
        username = await promptLine('Username:');
      }
      let password: string | undefined;
      if (options.passwordStdin) password = await readSecret({ passwordStdin: true }, 'password', { required: true, label: 'password' });
      else {
        if (!process.stdin.isTTY)
          throw new UsageError(
            'a password is required',
            'pipe it with --password-stdin (standard input is not a terminal, so there is no prompt)',
          );
        password = await promptHidden('Password:');
      }
      const result = await ctx
        .anonymous()
        .login({ username: username!, password: password! })
        .catch((error: unknown) => {
          throw error instanceof ScopegateError &&
            (error.code === 'UNAUTHENTICATED' || error.code === 'BAD_USER_INPUT') &&
            /password|credential|username/i.test(error.message)
            ? new NotAuthenticatedError(`login refused: ${error.message}`, 'check the username and password')
            : error;
        });
      saveLogin(ctx.endpoint, { token: result.token, kind: 'session', username: result.user.username, expiresAt: result.expiresAt });
      ctx.output.note(
        `logged in to ${ctx.endpoint} as ${result.user.username} (session until ${result.expiresAt}); stored in ${credentialsPath()}`,
      );
      if (ctx.output.format === 'json') ctx.output.json({ url: ctx.endpoint, username: result.user.username, expiresAt: result.expiresAt });
    },
  );

  act(
    verb(program, {
      name: 'logout',
      description: 'End the stored session on the server and remove it from this machine',
      example: 'scopegate logout --url https://scopegate.example.com',
    }),
    async (_args, _options, ctx) => {
      const stored = getLogin(ctx.endpoint);
      if (!stored) throw new NotAuthenticatedError(`not logged in to ${ctx.endpoint}`, `nothing stored in ${credentialsPath()}`);
      let ended = false;
      if (stored.kind === 'session') {
        try {
          ended = await ctx.clientWith(stored.token, 'stored login').logout();
        } catch (error) {
          // An expired or already ended session: nothing to end, the local copy still goes.
          if (!(error instanceof ScopegateError && error.code === 'UNAUTHENTICATED')) throw error;
        }
      }
      removeLogin(ctx.endpoint);
      ctx.output.note(
        `logged out of ${ctx.endpoint}${stored.kind === 'session' ? (ended ? ' (session ended on the server)' : ' (the session had already ended)') : ' (stored token removed; it still works until revoked)'}`,
      );
      if (ctx.output.format === 'json') ctx.output.json({ url: ctx.endpoint, sessionEnded: ended });
    },
  );

  act(
    verb(program, {
      name: 'whoami',
      description: 'Show who the current token acts as',
      example: ['scopegate whoami', 'SCOPEGATE_TOKEN=sgt_… scopegate whoami --output json'],
    }),
    async (_args, _options, ctx) => {
      const { viewer } = await ctx.client().request(WHOAMI);
      const token = viewer.apiToken ?? viewer.personalAccessToken;
      ctx.output.result(
        viewer,
        [viewer],
        [
          { header: 'kind', value: (v: any) => v.kind },
          { header: 'user', value: (v: any) => v.user?.username },
          { header: 'token', value: () => token?.name },
          { header: 'namespace', value: (v: any) => v.apiToken?.namespace?.name },
          { header: 'role', value: (v: any) => v.apiToken?.role ?? v.personalAccessToken?.maxRole },
          { header: 'admin', value: (v: any) => v.isAdmin },
          { header: 'expires', value: () => token?.expiresAt },
        ],
      );
    },
  );
}

function describeViewer(viewer: any): string {
  if (viewer.apiToken) return `API token ${viewer.apiToken.name} in ${viewer.apiToken.namespace?.name}`;
  if (viewer.personalAccessToken) return `personal access token ${viewer.personalAccessToken.name} of ${viewer.user?.username}`;
  return `${viewer.kind.toLowerCase()} of ${viewer.user?.username}`;
}
