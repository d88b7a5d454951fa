import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DbError } from './errors.js';

/** One SQL migration file. */
export interface MigrationFile {
  name: string;
  path: string;
  sql: string;
  checksum: string;
}

const FILE_RE = /^\d{4}_[a-z0-9_]+\.sql$/;

/**
 * Finds the `migrations/` folder: `TIMED_MIGRATIONS_DIR`-style override from the caller, else the
 * nearest `migrations/` above this module (the repo root in a checkout, beside the bundle in a deploy).
 */
export function findMigrationsDir(override?: string): string {
  if (override) return resolve(override);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, '0001_create_price_bars.sql'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new DbError(
    'MIGRATIONS_NOT_FOUND',
    'cannot find the migrations/ folder; set TIMED_MIGRATIONS_DIR',
  );
}

/** Reads every `NNNN_name.sql` in `dir`, in name order, with its sha256 checksum. */
export function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) {
    throw new DbError('MIGRATIONS_NOT_FOUND', `migrations folder ${dir} does not exist`, { dir });
  }
  return readdirSync(dir)
    .filter((name) => FILE_RE.test(name))
    .sort()
    .map((name) => {
      const path = join(dir, name);
      const sql = readFileSync(path, 'utf8');
      return { name, path, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}
