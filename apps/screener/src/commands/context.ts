import type { Logger } from 'pino';
import type { Env } from '../env.js';

/** What every command gets from the CLI. */
export interface CommandContext {
  env: Env;
  logger: Logger;
  /** Where the human-readable summary goes. */
  stdout: NodeJS.WriteStream;
  /** Where the TTY progress bar goes. */
  stderr: NodeJS.WriteStream;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
}
