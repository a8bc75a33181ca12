import v8 from 'node:v8';
import { ConfigError, loadConfig } from './config.js';
import { chooseLogFormat, createConsoleLogger, flushStdout } from './logger.js';
import { startScopegate } from './server.js';

/**
 * Under concurrent load, what requests in flight hold outlives V8's young generation, and V8
 * lets the heap grow to about four times what is live before it collects it: 280 MB and more
 * at 50 connections. Growing it by half instead keeps the process under 200 MB there, for
 * about 10 % more CPU per request (`npm run bench`; doubling cost nothing measurable but ended
 * near 220 MB on the seeded database). The same flag given to node wins.
 */
if (!process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent'))) v8.setFlagsFromString('--heap-growing-percent=50');

/** Entry point: validated configuration, the server, the first-start token, clean shutdown. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const { log, release } = createConsoleLogger(config.LOG_LEVEL, chooseLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true));
  let gate;
  try {
    gate = await startScopegate(config, { log });
  } catch (err) {
    // What was logged on the way may explain the failure.
    release();
    throw err;
  }

  const lines = [
    '',
    `  scopegate is listening on ${gate.url}`,
    `  GraphiQL: ${gate.graphqlUrl}  (add the header Authorization: Bearer <token>)`,
  ];
  if (gate.bootstrap) {
    lines.push(
      '',
      `  First start: created the administrator "${gate.bootstrap.username}". Its personal access token,`,
      '  shown this once (store it now; it cannot be shown again):',
      '',
      `    ${gate.bootstrap.secret}`,
      '',
      config.SCOPEGATE_ADMIN_PASSWORD
        ? '  SCOPEGATE_ADMIN_PASSWORD is admin\'s password: `login` works too.'
        : '  Set a password with setPassword, or start with SCOPEGATE_ADMIN_PASSWORD on a fresh database.',
    );
  }
  // The banner goes to stderr so the JSON log on stdout never carries the secret.
  console.error(lines.join('\n') + '\n');
  release();
  log.info({ url: gate.url, database: gate.app.dialect }, 'scopegate listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    // close() ends within 9 s, whatever is still open or gone away; the log gets 1 s more.
    await gate.close();
    log.info('stopped');
    await flushStdout(1000);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error('scopegate failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
