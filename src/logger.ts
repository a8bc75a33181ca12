import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Node's own stdout, not pino.destination(): that one flushes synchronously when the process
 * exits and retries a failed write forever (EPIPE once the reader of the pipe is gone, EAGAIN
 * while it stops reading), so process.exit() never returned. Node writes to a pipe without
 * blocking, and does not wait for it at exit.
 */
function stdout(): DestinationStream {
  if (!process.stdout.listeners('error').includes(readerGone)) process.stdout.on('error', readerGone);
  return process.stdout;
}

/** The reader of stdout went away: the lines are lost, the server goes on (as with pino.destination()). */
function readerGone() {}

/** Waits until stdout has passed on what it holds, but no longer than `ms`: its reader may have stopped. */
export async function flushStdout(ms: number): Promise<void> {
  if (process.stdout.writableLength === 0 || process.stdout.destroyed) return;
  const timer = new AbortController();
  const drained = once(process.stdout, 'drain', { signal: timer.signal });
  await Promise.race([drained, sleep(ms, undefined, { signal: timer.signal })]).catch(() => {});
  timer.abort();
}

/**
 * JSON-lines logger. Authorization headers and anything that looks like a secret
 * field are redacted as a second line of defence: the code never logs secrets.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'scopegate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.password',
          '*.secret',
          '*.token',
          '*.newPassword',
          '*.currentPassword',
          'variables',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? stdout(),
  );
}
