import pg from 'pg';
import { DbError } from './errors.js';
import { findMigrationsDir, type MigrationFile, readMigrations } from './migrations-dir.js';

/** Key of the advisory lock that serialises migrators (any constant unique to this project). */
const MIGRATION_LOCK_KEY = 7_320_240_001;

/** Options of migrate and migrationStatus. */
export interface MigrateOptions {
  /** Postgres connection URL. */
  url: string;
  /** Folder of `NNNN_name.sql` files (default: the project's migrations/). */
  dir?: string;
  /** Called with one line per applied file. */
  log?: (line: string) => void;
}

/** State of one migration file against a database. */
export interface MigrationState {
  name: string;
  state: 'applied' | 'pending' | 'changed' | 'missing';
  appliedAt: Date | undefined;
}

const BOOKKEEPING_SQL = `CREATE TABLE IF NOT EXISTS timed_migrations (
  name TEXT PRIMARY KEY,
  checksum TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'timed-migrator' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function appliedRows(
  client: pg.Client,
): Promise<Map<string, { checksum: string; applied_at: Date }>> {
  const exists = await client.query(`SELECT to_regclass('timed_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return new Map();
  const res = await client.query<{ name: string; checksum: string; applied_at: Date }>(
    'SELECT name, checksum, applied_at FROM timed_migrations ORDER BY name',
  );
  return new Map(res.rows.map((r) => [r.name, r]));
}

function verify(files: MigrationFile[], applied: Map<string, { checksum: string }>): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const [name, row] of applied) {
    const file = byName.get(name);
    if (!file) {
      throw new DbError(
        'MIGRATION_MISSING',
        `applied migration ${name} is missing from the migrations folder`,
        { name },
      );
    }
    if (file.checksum !== row.checksum) {
      throw new DbError(
        'MIGRATION_CHANGED',
        `migration ${name} was edited after it was applied (checksum differs); add a new migration instead`,
        { name, path: file.path },
      );
    }
  }
}

/**
 * Applies pending migrations in order, each in its own transaction with its bookkeeping row.
 * Refuses to run when an applied file was edited or removed. Safe when several processes start at
 * once: they queue on an advisory lock and the later ones find nothing left to apply.
 */
export async function migrate(options: MigrateOptions): Promise<{ applied: string[] }> {
  const files = readMigrations(findMigrationsDir(options.dir));
  return withClient(options.url, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(BOOKKEEPING_SQL);
      const applied = await appliedRows(client);
      verify(files, applied);
      const done: string[] = [];
      for (const file of files) {
        if (applied.has(file.name)) continue;
        await client.query('BEGIN');
        try {
          await client.query(file.sql);
          await client.query('INSERT INTO timed_migrations (name, checksum) VALUES ($1, $2)', [
            file.name,
            file.checksum,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw new DbError(
            'MIGRATION_FAILED',
            `migration ${file.name} failed: ${(err as Error).message}`,
            { name: file.name },
            { cause: err },
          );
        }
        options.log?.(`applied ${file.name}`);
        done.push(file.name);
      }
      return { applied: done };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  });
}

/** Lists every migration file and applied row with its state, without changing anything. */
export async function migrationStatus(
  options: Omit<MigrateOptions, 'log'>,
): Promise<MigrationState[]> {
  const files = readMigrations(findMigrationsDir(options.dir));
  return withClient(options.url, async (client) => {
    const applied = await appliedRows(client);
    const states: MigrationState[] = files.map((f) => {
      const row = applied.get(f.name);
      return {
        name: f.name,
        state: !row ? 'pending' : row.checksum === f.checksum ? 'applied' : 'changed',
        appliedAt: row?.applied_at,
      };
    });
    for (const [name, row] of applied) {
      if (!files.some((f) => f.name === name))
        states.push({ name, state: 'missing', appliedAt: row.applied_at });
    }
    return states.sort((a, b) => a.name.localeCompare(b.name));
  });
}
