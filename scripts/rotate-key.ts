/**
 * Re-encrypts every credential secret under the keyring's active key (`npm run rotate-key`).
 *
 *   1. Add the new key to SCOPEGATE_KEYRING and make it SCOPEGATE_ACTIVE_KEY_ID (keep the old
 *      key in the ring), restart the server(s): new writes use the new key.
 *   2. Run this script with the same environment. It may run while the server is up.
 *   3. When it reports nothing left to rotate, the old key can leave the keyring.
 *
 * Online: each row is rewritten in its own short transaction with a compare-and-swap on the
 * key id and ciphertext it read, so a secret changed meanwhile through the API is never
 * overwritten. Idempotent: rows already under the active key are left alone. Safe to
 * interrupt: every row is complete on its own; run it again to continue.
 *
 * Before it reads a row it checks every configured key against its id's check value, as the
 * server does at start (src/credentials/key-checks.ts), and refuses a key that is not its id's.
 *
 * Exit status: 0 when every row it looked at is under the active key (or was left for a
 * re-run by --limit or a concurrent change), 1 when a secret could not be decrypted (the
 * credential is named; no secret is ever printed), 2 when it could not start (a key failed
 * its check included) or the database failed mid-run (what was written stays written; run it again).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { decryptSecret, encryptSecret, type Keyring, SecretDecryptionError } from '../src/credentials/crypto.js';
import { scriptKeys } from './script-keys.js';
import { checkKeys, KeyCheckError } from '../src/credentials/key-checks.js';
import { type DB, migrateToLatest, openDatabase } from '../src/store/db.js';

export interface RotateOptions {
  batchSize: number;
  /** Stop after this many rows needing rotation have been handled (rotated, failed or skipped). */
  limit?: number;
  dryRun: boolean;
  /** Pause before each row, to go easy on a busy database. */
  throttleMs: number;
  verbose: boolean;
}

export interface RotateReport {
  activeKeyId: string;
  /** Re-encrypted by this run (or, with --dry-run, that would be). */
  rotated: number;
  /** Already under the active key when the run started. */
  alreadyCurrent: number;
  /** Changed through the API while this run held them; left as the API wrote them. */
  changedConcurrently: number;
  /** Resource names of credentials whose secret could not be decrypted. */
  failed: string[];
  /** Rows still under another key that this run did not reach (--limit). */
  remaining: number;
  stoppedAtLimit: boolean;
}

interface Candidate {
  id: string;
  namespace_id: string;
  name: string;
  namespace_name: string;
  secret_ciphertext: string;
  secret_key_id: string | null;
}

const resourceName = (row: Candidate) => `namespaces/${row.namespace_name}/credentials/${row.name}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rows with a secret that is not under the active key, in id order, after `afterId`. */
function candidates(db: DB, activeKeyId: string, afterId: string, limit: number): Promise<Candidate[]> {
  return db
    .selectFrom('credentials')
    .innerJoin('namespaces', 'namespaces.id', 'credentials.namespace_id')
    .select([
      'credentials.id',
      'credentials.namespace_id',
      'credentials.name',
      'namespaces.name as namespace_name',
      'credentials.secret_ciphertext',
      'credentials.secret_key_id',
    ])
    .where('credentials.secret_ciphertext', 'is not', null)
    .where((eb) => eb.or([eb('credentials.secret_key_id', 'is', null), eb('credentials.secret_key_id', '!=', activeKeyId)]))
    .where('credentials.id', '>', afterId)
    .orderBy('credentials.id')
    .limit(limit)
    .execute() as Promise<Candidate[]>;
}

async function countSecrets(db: DB, activeKeyId: string) {
  const row = await db
    .selectFrom('credentials')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when('secret_key_id', '=', activeKeyId).then(1).else(0).end()).as('current'),
    ])
    .where('secret_ciphertext', 'is not', null)
    .executeTakeFirstOrThrow();
  const total = Number(row.total);
  const current = Number(row.current ?? 0);
  return { total, current, stale: total - current };
}

/** Why a row cannot be decrypted, in words that never contain the secret. */
function reasonOf(err: unknown): string {
  // SecretDecryptionError messages are written to be safe; anything else might quote plaintext.
  return err instanceof SecretDecryptionError ? err.message : `unexpected ${err instanceof Error ? err.name : 'error'}`;
}

export async function rotateKeys(
  db: DB,
  keyring: Keyring,
  opts: RotateOptions,
  /** Where per-row lines go (stderr); the summary is the caller's to print. */
  note: (line: string) => void,
): Promise<RotateReport> {
  const activeKeyId = keyring.activeKeyId;
  const before = await countSecrets(db, activeKeyId);
  const report: RotateReport = {
    activeKeyId,
    rotated: 0,
    alreadyCurrent: before.current,
    changedConcurrently: 0,
    failed: [],
    remaining: 0,
    stoppedAtLimit: false,
  };
  let handled = 0;
  let afterId = '';
  scan: for (;;) {
    const batch = await candidates(db, activeKeyId, afterId, opts.batchSize);
    if (batch.length === 0) break;
    if (opts.verbose) note(`read a batch of ${batch.length} credential secret(s) not under key "${activeKeyId}"`);
    for (const row of batch) {
      if (opts.limit !== undefined && handled >= opts.limit) {
        report.stoppedAtLimit = true;
        break scan;
      }
      afterId = row.id;
      handled++;
      if (opts.throttleMs > 0) await sleep(opts.throttleMs);
      const name = resourceName(row);
      const binding = { credentialId: row.id, namespaceId: row.namespace_id };
      let fields: Record<string, string>;
      try {
        if (!row.secret_key_id) throw new SecretDecryptionError('credential secret cannot be decrypted: it has no key id');
        fields = decryptSecret(keyring, { ciphertext: row.secret_ciphertext, keyId: row.secret_key_id }, binding);
      } catch (err) {
        report.failed.push(name);
        note(`cannot rotate ${name}: ${reasonOf(err)}`);
        continue;
      }
      if (opts.dryRun) {
        report.rotated++;
        continue;
      }
      // A database error here ends the run (exit 2); every row written so far is complete.
      const sealed = encryptSecret(keyring, fields, binding);
      const result = await db.transaction().execute((trx) =>
        trx
          .updateTable('credentials')
          .set({ secret_ciphertext: sealed.ciphertext, secret_key_id: sealed.keyId })
          .where('id', '=', row.id)
          .where('secret_key_id', '=', row.secret_key_id!)
          .where('secret_ciphertext', '=', row.secret_ciphertext)
          .executeTakeFirst(),
      );
      if (Number(result.numUpdatedRows) === 1) {
        report.rotated++;
        if (opts.verbose) note(`rotated ${name}`);
      } else {
        // Updated (or deleted) through the API since we read it: what the API wrote stands.
        report.changedConcurrently++;
        if (opts.verbose) note(`left ${name}: it changed while being rotated`);
      }
    }
  }
  // Failed rows are reported by name; "remaining" is what a plain re-run would still rotate.
  const stale = opts.dryRun ? before.stale - report.rotated : (await countSecrets(db, activeKeyId)).stale;
  report.remaining = Math.max(0, stale - report.failed.length);
  return report;
}

export function summaryOf(report: RotateReport, dryRun: boolean): string {
  const verb = dryRun ? 'would rotate' : 'rotated';
  const parts = [
    `${verb} ${report.rotated}`,
    `already current ${report.alreadyCurrent}`,
    `failed ${report.failed.length}`,
  ];
  if (report.changedConcurrently) parts.push(`changed concurrently ${report.changedConcurrently}`);
  let tail = '';
  if (report.failed.length) {
    tail = ` — could not decrypt ${report.failed.join(', ')}: add the key it was sealed with to SCOPEGATE_KEYRING (if that key is lost, the secret must be entered anew)`;
  } else if (report.stoppedAtLimit) {
    tail = ` — stopped at --limit; ${report.remaining} left, run again to continue`;
  } else if (report.rotated === 0 && report.changedConcurrently === 0) {
    tail = ` — nothing to do: every credential secret is already under key "${report.activeKeyId}"`;
  } else if (report.remaining > 0) {
    tail = ` — ${report.remaining} left (changed meanwhile), run again to continue`;
  }
  return `rotate-key${dryRun ? ' (dry run)' : ''}: active key "${report.activeKeyId}": ${parts.join(', ')}${tail}`;
}

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number of at least 1.`);
  return n;
};
const nonNegativeInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be a whole number.`);
  return n;
};

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('rotate-key')
    .description(
      'Re-encrypt every credential secret under the active key of SCOPEGATE_KEYRING (SCOPEGATE_ACTIVE_KEY_ID). ' +
        'Reads the same environment as the server (DATABASE_URL, SCOPEGATE_KEYRING, ...); safe to run while it is up.',
    )
    .option('--batch-size <n>', 'rows read per query', positiveInt('--batch-size'), 100)
    .option('--limit <n>', 'stop after this many rows (run again to continue)', positiveInt('--limit'))
    .option('--throttle-ms <ms>', 'pause before each row, to spare a busy database', nonNegativeInt('--throttle-ms'), 0)
    .option('--dry-run', 'check that every stale secret decrypts; change nothing', false)
    .option('--verbose', 'print each row to stderr', false)
    .showHelpAfterError();
  program.parse(argv);
  const opts = program.opts<{ batchSize: number; limit?: number; throttleMs: number; dryRun: boolean; verbose: boolean }>();

  const loaded = scriptKeys('rotate-key', 'no key configured: set SCOPEGATE_KEYRING and SCOPEGATE_ACTIVE_KEY_ID');
  if (!loaded) return 2;
  const { config, keyring } = loaded;

  const { db } = openDatabase(config.DATABASE_URL);
  try {
    await migrateToLatest(db);
    try {
      // As the server does: never re-seal under a key that is not its id's key (a dry run records nothing).
      await checkKeys(db, keyring, { record: !opts.dryRun });
    } catch (err) {
      if (!(err instanceof KeyCheckError)) throw err;
      console.error(`rotate-key: ${err.message}`);
      return 2;
    }
    const report = await rotateKeys(db, keyring, opts, (line) => console.error(line));
    console.log(summaryOf(report, opts.dryRun));
    return report.failed.length ? 1 : 0;
  } finally {
    await db.destroy();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`rotate-key failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 2;
    },
  );
}
