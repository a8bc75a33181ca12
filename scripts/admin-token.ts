/**
 * `npm run admin:token`: a way back in when the administrator's token is lost. Run on the
 * server's machine with the server's environment, it opens the database directly (as
 * `grafana cli admin reset-admin-password` does), creates a new administrator personal token
 * for an active administrator (`--user`, default admin) that expires in `--expires-in` days
 * (default 1), prints it once, and records `user.token_recovered` (actor `system:cli`).
 *
 * Whoever can run this can already read the database and its key: it grants nothing new.
 * Exit status: 0 with the token on stdout, 2 when it cannot (the reason on stderr).
 */
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { checkKeys } from '../src/credentials/key-checks.js';
import { appendAudit } from '../src/domain/audit.js';
import { newToken } from '../src/domain/new-token.js';
import { type Executor, migrateToLatest, openDatabase, ping } from '../src/store/db.js';
import { scriptKeys } from './script-keys.js';

const days = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError('a whole number of days from 1 to 3650');
  return n;
};

async function activeAdmin(db: Executor, username: string) {
  const user = await db.selectFrom('users').select(['id', 'username', 'is_admin', 'disabled']).where('username', '=', username).executeTakeFirst();
  if (!user) return { error: `there is no user "${username}"` };
  if (!user.is_admin || user.disabled) return { error: `"${username}" is not an active administrator` };
  return { user };
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('admin:token')
    .description('Create a new administrator personal token when the old one is lost; printed once.')
    .option('--user <username>', 'the administrator the token belongs to', 'admin')
    .option('--expires-in <days>', 'days until the token expires', days, 1)
    .exitOverride()
    .showHelpAfterError();
  try {
    program.parse(argv);
  } catch {
    return 2;
  }
  const opts = program.opts<{ user: string; expiresIn: number }>();
  const loaded = scriptKeys('admin:token', 'no key configured: run it with the server\'s SCOPEGATE_MASTER_KEY or SCOPEGATE_KEYRING');
  if (!loaded) return 2;
  const { config, keyring } = loaded;
  const maxDays = config.SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS;
  if (maxDays !== undefined && opts.expiresIn > maxDays) {
    console.error(`admin:token: --expires-in ${opts.expiresIn} is beyond this instance's maximum token lifetime (SCOPEGATE_MAX_TOKEN_LIFETIME_DAYS=${maxDays})`);
    return 2;
  }

  const { db, dialect } = openDatabase(config.DATABASE_URL);
  try {
    try {
      await ping(db);
    } catch (err) {
      console.error(`admin:token: the database at DATABASE_URL cannot be reached (${err instanceof Error ? err.message : String(err)}); nothing was created`);
      return 2;
    }
    await migrateToLatest(db);
    // The token's audit event is sealed with the key: it must be the key the server uses.
    await checkKeys(db, keyring, { record: false });
    const found = await activeAdmin(db, opts.user);
    if ('error' in found) {
      console.error(`admin:token: ${found.error}; name one with --user`);
      return 2;
    }
    const now = new Date();
    const expiresAt = new Date(now.getTime() + opts.expiresIn * 86_400_000).toISOString();
    // The time says when; the random tail keeps two runs in one second apart (names are unique per user).
    const name = `recovered-${now.toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(2).toString('hex')}`;
    const { row, secret } = newToken('PERSONAL', now, {
      name,
      description: 'Created by npm run admin:token',
      user_id: found.user.id,
      created_by: found.user.id,
      role: 'OWNER',
      admin: 1,
      expires_at: expiresAt,
    });
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('tokens').values(row).execute();
      const entry = { action: 'user.token_recovered', outcome: 'SUCCESS' as const, target: `users/${found.user.username}`, details: { token: name, expiresAt, hint: row.secret_hint } };
      await appendAudit(trx, dialect, { requestId: 'cli', ipAddress: null, userAgent: null }, { kind: null, name: 'system:cli' }, entry, now, keyring);
    });
    console.error(`admin:token: a personal access token "${name}" for ${found.user.username}, with administrator rights, expiring at ${expiresAt}. Shown once:`);
    console.log(secret);
    return 0;
  } catch (err) {
    console.error(`admin:token: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  } finally {
    await db.destroy();
  }
}

process.exitCode = await main(process.argv);
