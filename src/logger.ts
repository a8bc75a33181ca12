import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

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
    destination ?? pino.destination(1),
  );
}
