import { TimedError } from '@timed/schema/errors';

/** Machine codes of screener errors. */
export type ScreenerErrorCode =
  | 'USAGE'
  | 'LOCK_HELD'
  | 'LOCK_LOST'
  | 'BAD_FILE'
  | 'SOURCE_FAILED'
  | 'UNFLUSHED'
  | 'DATABASE'
  | 'NO_WEBASSEMBLY';

/**
 * An error of the screener: the shared base (code, message, context, cause) with its codes. A bad
 * environment is @timed/schema's EnvError (the CLI exits 2).
 */
export class ScreenerError extends TimedError<ScreenerErrorCode> {
  override readonly name: string = 'ScreenerError';
}

/** Another screener (of any schema) holds the single-writer lock for this dataset. */
export class LockHeldError extends ScreenerError {
  override readonly name = 'LockHeldError';
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super('LOCK_HELD', message, { holder });
  }
}

/** Who holds the single-writer lock, as far as Postgres can tell. */
export interface LockHolder {
  instanceId?: string;
  host?: string;
  pid?: number;
  /** The schema it builds bars from (trades or mbp-1), from its heartbeat row. */
  schema?: string;
  since?: Date;
  lastSeen?: Date;
  /** Postgres backend pid of the lock's connection. */
  backendPid?: number;
}
