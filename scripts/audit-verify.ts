/**
 * `npm run audit:verify [-- --log FILE]`: walks the audit trail's keyed hash chain and reports
 * the first event that was altered, removed, reordered or rewritten without the key, or that
 * the trail is intact. It needs the key that sealed the chain: it reads the same environment
 * as the server (DATABASE_URL, SCOPEGATE_MASTER_KEY or SCOPEGATE_KEYRING, ...).
 *
 * The database alone cannot show that its newest events were removed and the head moved back.
 * `--log FILE` reads the server's JSON-lines log as shipped elsewhere and reports every audit
 * event the log holds that the database lacks, or holds with another hash.
 *
 * Before walking it checks each configured key against its id's check value, as the server
 * does at start: a wrong key is named as such, not reported as an altered trail.
 *
 * Exit status: 0 intact, 1 broken (or differing from the log), 2 could not start (a wrong key included).
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { Command, CommanderError } from 'commander';
import { scriptKeys } from './script-keys.js';
import { checkKeys, KeyCheckError } from '../src/credentials/key-checks.js';
import { verifyAuditChain } from '../src/domain/audit.js';
import { type DB, openDatabase } from '../src/store/db.js';

interface LogReport {
  checked: number;
  missing: string[];
  differing: string[];
}

/** Compares the audit lines of a JSON-lines log with the database, by event id and hash. */
async function compareWithLog(db: DB, file: string): Promise<LogReport> {
  const report: LogReport = { checked: 0, missing: [], differing: [] };
  let batch = new Map<string, string>();
  const flush = async () => {
    const rows = await db.selectFrom('audit_events').select(['id', 'hash']).where('id', 'in', [...batch.keys()]).execute();
    const stored = new Map(rows.map((r) => [r.id, r.hash]));
    for (const [id, hash] of batch) {
      if (!stored.has(id)) report.missing.push(id);
      else if (stored.get(id) !== hash) report.differing.push(id);
    }
    report.checked += batch.size;
    batch = new Map();
  };
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    let entry: { msg?: unknown; audit?: { id?: unknown; hash?: unknown } };
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // not a log line of ours (or one cut short)
    }
    const { id, hash } = entry?.audit ?? {};
    if (entry?.msg !== 'audit' || typeof id !== 'string' || typeof hash !== 'string') continue;
    batch.set(id, hash);
    if (batch.size >= 500) await flush();
  }
  if (batch.size) await flush();
  return report;
}

const listed = (ids: string[]) => ids.slice(0, 20).join(', ') + (ids.length > 20 ? `, … (${ids.length - 20} more)` : '');

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('audit:verify')
    .description('Verify the keyed hash chain of the audit trail, with the key the server uses.')
    .option('--log <file>', "the server's JSON-lines log: report audit events it holds that the database lacks or holds differently")
    .showHelpAfterError()
    .exitOverride();
  try {
    program.parse(argv);
  } catch (err) {
    // Exit status 1 means a broken trail: a bad argument is "could not start".
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const opts = program.opts<{ log?: string }>();
  if (opts.log && !fs.existsSync(opts.log)) {
    console.error(`audit:verify: the log file ${opts.log} does not exist`);
    return 2;
  }

  const loaded = scriptKeys('audit:verify', 'the key is missing: set SCOPEGATE_MASTER_KEY or SCOPEGATE_KEYRING as the server has them');
  if (!loaded) return 2;
  const { config, keyring } = loaded;

  const { db } = openDatabase(config.DATABASE_URL);
  try {
    try {
      // Read-only (a verifier may hold a read-only role): compare, record nothing.
      await checkKeys(db, keyring, { record: false });
    } catch (err) {
      if (!(err instanceof KeyCheckError)) throw err;
      console.error(`audit:verify: ${err.message}`);
      return 2;
    }
    let code = 0;
    const report = await verifyAuditChain(db, keyring);
    if (report.ok) {
      console.log(`audit trail intact: ${report.events} events verified`);
    } else {
      const p = report.problem!;
      const where = p.seq === null ? 'at the end of the trail' : `at event seq ${p.seq}${p.id ? ` (id ${p.id})` : ''}`;
      console.error(`audit trail BROKEN ${where}: ${p.reason}. ${report.events} events before it verified.`);
      code = 1;
    }
    if (opts.log) {
      const log = await compareWithLog(db, opts.log);
      if (log.missing.length) {
        console.error(`audit trail BROKEN: ${log.missing.length} event(s) in the log are missing from the database (removed): ${listed(log.missing)}`);
      }
      if (log.differing.length) {
        console.error(`audit trail BROKEN: ${log.differing.length} event(s) have another hash in the database than in the log (altered): ${listed(log.differing)}`);
      }
      if (log.missing.length || log.differing.length) code = 1;
      else console.log(`log ${opts.log}: all ${log.checked} audit events in it are in the database, unchanged`);
    }
    return code;
  } finally {
    await db.destroy();
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`audit:verify failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
