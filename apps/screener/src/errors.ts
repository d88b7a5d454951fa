/** Machine codes of screener errors. */
export type ScreenerErrorCode =
  | 'CONFIG'
  | 'USAGE'
  | 'LOCK_HELD'
  | 'LOCK_LOST'
  | 'BAD_FILE'
  | 'SOURCE_FAILED'
  | 'UNFLUSHED'
  | 'DATABASE'
  | 'NO_WEBASSEMBLY';

/** An error of the screener: a name, a machine code, context and an optional cause. */
export class ScreenerError extends Error {
  override readonly name: string = 'ScreenerError';
  constructor(
    readonly code: ScreenerErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A missing or invalid environment variable (the CLI exits 2). */
export class ConfigError extends ScreenerError {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super('CONFIG', message, { variable });
  }
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
