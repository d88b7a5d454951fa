import { type Logger, pino } from 'pino';

/** Creates the JSON logger: stdout for the daemon, stderr for one-shot commands. */
export function createLogger(options: {
  level: string;
  command: string;
  destination?: 1 | 2;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'timed-screener', command: options.command, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: ['apiKey', 'DATABENTO_API_KEY', 'password'],
    },
    pino.destination({ fd: options.destination ?? 1, sync: true }),
  );
}
