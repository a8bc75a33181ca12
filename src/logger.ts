import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** LOG_FORMAT when set; otherwise lines for a person at a terminal, JSON lines for a pipe, a file or CI. */
export function chooseLogFormat(setting: LogFormat | undefined, stdoutIsTTY: boolean): LogFormat {
  return setting ?? (stdoutIsTTY ? 'pretty' : 'json');
}

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

/**
 * pino-pretty's formatter applied to each finished line: pino has already redacted it, and it
 * goes to Node's stdout as above (pino-pretty's own stream writes through sonic-boom).
 */
function prettyStdout(): DestinationStream {
  const format = prettyFactory({ singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' });
  const out = stdout();
  return { write: (line: string) => void out.write(format(line)) };
}

/** Keeps every line until release(), then writes those and all later ones through. */
function heldUntilRelease(destination: DestinationStream) {
  let held: string[] | null = [];
  return {
    write(line: string) {
      if (held) held.push(line);
      else destination.write(line);
    },
    release() {
      const lines = held ?? [];
      held = null;
      for (const line of lines) destination.write(line);
    },
  };
}

export interface ConsoleLogger {
  log: Logger;
  /** Writes what was logged while the server started: call it once the banner is out. */
  release(): void;
}

/**
 * The entry point's logger. In pretty format a person reads the banner (where the server
 * listens, the first-start token) first: what is logged while the server starts (the
 * development-key warning, say) waits for release(). JSON lines go out at once, as always.
 */
export function createConsoleLogger(level: string, format: LogFormat): ConsoleLogger {
  if (format === 'json') return { log: createLogger(level), release() {} };
  const destination = heldUntilRelease(prettyStdout());
  return { log: createLogger(level, destination), release: destination.release };
}
