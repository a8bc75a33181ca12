/**
 * `npm run audit:verify`: walks the audit trail's hash chain and reports the first event
 * that was altered, removed or reordered (exit status 1), or that the trail is intact.
 */
import { loadConfig } from '../src/config.js';
import { verifyAuditChain } from '../src/domain/audit.js';
import { openDatabase } from '../src/store/db.js';

const config = loadConfig();
const { db } = openDatabase(config.DATABASE_URL);
try {
  const report = await verifyAuditChain(db);
  if (report.ok) {
    console.log(`audit trail intact: ${report.events} events verified`);
  } else {
    const p = report.problem!;
    const where = p.seq === null ? 'at the end of the trail' : `at event seq ${p.seq}${p.id ? ` (id ${p.id})` : ''}`;
    console.error(`audit trail BROKEN ${where}: ${p.reason}. ${report.events} events before it verified.`);
    process.exitCode = 1;
  }
} finally {
  await db.destroy();
}
