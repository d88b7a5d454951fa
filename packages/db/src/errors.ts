import { TimedError } from '@timed/schema/errors';

/** Machine codes of @timed/db errors. */
export type DbErrorCode =
  | 'INVALID_BAR'
  | 'INVALID_CURSOR'
  | 'MIGRATION_CHANGED'
  | 'MIGRATION_MISSING'
  | 'MIGRATION_FAILED'
  | 'MIGRATIONS_NOT_FOUND'
  | 'EMBEDDED_POSTGRES'
  | 'INVALID_ARGUMENT'
  | 'RUNBOOK_FAILED';

/** An error from @timed/db: the shared base (code, message, context, cause) with db's codes. */
export class DbError extends TimedError<DbErrorCode> {
  override readonly name: string = 'DbError';
}

/** A bar that must not be stored; nothing of its batch was written. */
export class InvalidBarError extends DbError {
  override readonly name = 'InvalidBarError';
  constructor(index: number, symbol: unknown, timestamp: unknown, problem: string) {
    const when =
      timestamp instanceof Date && Number.isFinite(timestamp.getTime())
        ? timestamp.toISOString()
        : String(timestamp);
    super(
      'INVALID_BAR',
      `bar #${index} (${String(symbol)} @ ${when}): ${problem}; nothing of this batch was written`,
      {
        index,
        symbol,
        timestamp: when,
        problem,
      },
    );
  }
}
