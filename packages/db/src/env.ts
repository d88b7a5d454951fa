import { PostgresUrl, parseEnv } from '@timed/schema/env';
import { z } from 'zod';

/** Every variable the timed-db CLI reads; nothing else in @timed/db reads the environment. */
export const CliEnv = z.object({
  DATABASE_URL: PostgresUrl.optional(),
  /** Folder of NNNN_name.sql files (default: the project's migrations/). */
  TIMED_MIGRATIONS_DIR: z.string().optional(),
  /** Where legacy delete / rollback trades write backups (default ./backups). */
  TIMED_BACKUP_DIR: z.string().optional(),
  /** Days of trades bars the cleanup gates want; `resolveMinDays` checks it (--min-days wins). */
  TIMED_CLEANUP_MIN_DAYS: z.string().optional(),
});
export type CliEnv = z.infer<typeof CliEnv>;

/** The CLI's environment with DATABASE_URL set; throws one EnvError naming every bad variable. */
export function readCliEnv(
  source: Record<string, string | undefined> = process.env,
): CliEnv & { DATABASE_URL: string } {
  const env = parseEnv(CliEnv, source, {
    required: { DATABASE_URL: 'e.g. postgres://user:pass@127.0.0.1:5432/timed' },
  });
  return env as CliEnv & { DATABASE_URL: string };
}
