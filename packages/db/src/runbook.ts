import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { DbError } from './errors.js';

/** Every column of price_bars, in table order (explicit lists survive later migrations). */
const COLUMNS =
  'symbol, timestamp, open, high, low, close, volume, trade_count, is_legacy, data_source, migrated_at, deleted_at';

/** Runs `fn` on one client inside a transaction; any error (or a kill) leaves the table as it was. */
export async function inTransaction<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'timed-db' });
  await client.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'timed-db' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function count(
  c: pg.Client | pg.PoolClient,
  where: string,
  table = 'price_bars',
): Promise<number> {
  const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`);
  return r.rows[0]?.n ?? 0;
}

/** What a destructive command will touch, counted before it runs. */
export interface RunbookPlan {
  action: string;
  rows: number;
  description: string;
}

/** Plans of each destructive command (row counts now). */
export async function planFor(
  url: string,
  action: RunbookAction,
  olderThanDays = 7,
): Promise<RunbookPlan> {
  return withClient(url, async (c) => {
    const legacyTable = await c.query(`SELECT to_regclass('price_bars_legacy') IS NOT NULL AS ok`);
    switch (action) {
      case 'soft-delete':
        return {
          action,
          rows: await count(c, 'is_legacy = true AND deleted_at IS NULL'),
          description: 'mark legacy bars deleted (hidden, restorable)',
        };
      case 'restore':
        return {
          action,
          rows: await count(c, 'is_legacy = true AND deleted_at IS NOT NULL'),
          description: 'clear the soft-delete mark of legacy bars',
        };
      case 'purge':
        return {
          action,
          rows: await count(
            c,
            `deleted_at < NOW() - make_interval(secs => ${Number(olderThanDays) * 86_400})`,
          ),
          description: `delete bars soft-deleted more than ${olderThanDays} day(s) ago`,
        };
      case 'archive':
        return {
          action,
          rows: await count(c, 'is_legacy = true'),
          description: 'move legacy bars into price_bars_legacy',
        };
      case 'unarchive':
        return {
          action,
          rows: legacyTable.rows[0]?.ok ? await count(c, 'true', 'price_bars_legacy') : 0,
          description: 'move bars from price_bars_legacy back into price_bars',
        };
      case 'delete':
        return {
          action,
          rows: await count(c, 'is_legacy = true'),
          description: 'back up, then delete legacy bars',
        };
      case 'rollback':
        return {
          action,
          rows: await count(c, "is_legacy = false AND data_source = 'trades'"),
          description: 'back up, then delete trades bars (the seed rollback)',
        };
    }
  });
}

export type RunbookAction =
  | 'soft-delete'
  | 'restore'
  | 'purge'
  | 'archive'
  | 'unarchive'
  | 'delete'
  | 'rollback';

/** Option A: marks legacy bars deleted. Returns rows marked. */
export async function softDeleteLegacy(url: string): Promise<number> {
  return inTransaction(url, async (c) => {
    const r = await c.query(
      'UPDATE price_bars SET deleted_at = NOW() WHERE is_legacy = true AND deleted_at IS NULL',
    );
    return r.rowCount ?? 0;
  });
}

/** Undoes Option A. Returns rows restored. */
export async function restoreSoftDeleted(url: string): Promise<number> {
  return inTransaction(url, async (c) => {
    const r = await c.query(
      'UPDATE price_bars SET deleted_at = NULL WHERE is_legacy = true AND deleted_at IS NOT NULL',
    );
    return r.rowCount ?? 0;
  });
}

/** Removes bars soft-deleted more than `days` ago. Returns rows deleted. */
export async function purgeSoftDeleted(url: string, days: number): Promise<number> {
  if (!Number.isFinite(days) || days < 0)
    throw new DbError(
      'INVALID_ARGUMENT',
      `--older-than must be a number of days >= 0, got ${days}`,
    );
  return inTransaction(url, async (c) => {
    const r = await c.query(
      'DELETE FROM price_bars WHERE deleted_at < NOW() - make_interval(secs => $1)',
      [days * 86_400],
    );
    return r.rowCount ?? 0;
  });
}

/** The archive's index: the seed's Option B creates it with this name, but not unique. */
const ARCHIVE_INDEX = 'idx_price_bars_legacy_symbol_timestamp';

/**
 * Makes ARCHIVE_INDEX a unique index on price_bars_legacy (symbol, timestamp), which the archive's
 * upsert needs. An index of that name that is not (the seed's Option B creates a plain one) is
 * replaced when the table holds one row per minute, and the operator told so; with duplicate
 * minutes the archive refuses, as dropping either copy would lose a row.
 */
async function ensureArchiveIndex(c: pg.Client, notice: (line: string) => void): Promise<void> {
  const found = await c.query<{
    is_unique: boolean;
    on_table: string;
    definition: string;
    right_columns: boolean;
  }>(
    `SELECT i.indisunique AS is_unique, t.relname AS on_table,
       pg_get_indexdef(i.indexrelid) AS definition,
       (i.indexprs IS NULL AND i.indpred IS NULL AND i.indnkeyatts = 2 AND (
         SELECT array_agg(a.attname::text ORDER BY k.n)
         FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       ) = ARRAY['symbol', 'timestamp']) AS right_columns
     FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
     WHERE i.indexrelid = to_regclass($1)`,
    [ARCHIVE_INDEX],
  );
  const index = found.rows[0];
  if (!index) {
    await c.query(`CREATE UNIQUE INDEX ${ARCHIVE_INDEX} ON price_bars_legacy (symbol, timestamp)`);
    return;
  }
  if (index.on_table !== 'price_bars_legacy') {
    throw new DbError(
      'RUNBOOK_FAILED',
      `index ${ARCHIVE_INDEX} exists on table ${index.on_table}, not price_bars_legacy (${index.definition}); rename or drop it, then archive again; nothing changed`,
    );
  }
  if (index.is_unique && index.right_columns) return;
  const dup = await c.query<{ minutes: number; extra: number }>(
    `SELECT count(*)::int AS minutes, coalesce(sum(n - 1), 0)::int AS extra
     FROM (SELECT count(*) AS n FROM price_bars_legacy GROUP BY symbol, timestamp HAVING count(*) > 1) d`,
  );
  const { minutes = 0, extra = 0 } = dup.rows[0] ?? {};
  if (minutes > 0) {
    throw new DbError(
      'RUNBOOK_FAILED',
      `price_bars_legacy holds ${minutes} (symbol, timestamp) minute(s) more than once (${extra} extra row(s)), which its index ${ARCHIVE_INDEX} (${index.definition}) allowed; the archive needs one row per minute and will not choose which copy to drop; nothing changed. List them with: SELECT symbol, timestamp, count(*) FROM price_bars_legacy GROUP BY 1, 2 HAVING count(*) > 1`,
    );
  }
  await c.query(`DROP INDEX ${ARCHIVE_INDEX}`);
  await c.query(`CREATE UNIQUE INDEX ${ARCHIVE_INDEX} ON price_bars_legacy (symbol, timestamp)`);
  notice(
    `replaced index ${ARCHIVE_INDEX} (${index.definition}; the seed's Option B creates it ${index.is_unique ? 'on other columns' : 'non-unique'}) with a unique index on price_bars_legacy (symbol, timestamp) of the same name: the archive's upsert needs it; the table's rows are unchanged`,
  );
}

/**
 * Option B: copies legacy bars into price_bars_legacy, verifies the counts, then deletes them from
 * price_bars — one transaction, so an interruption leaves both tables as they were. A
 * price_bars_legacy made by the seed's own Option B SQL is adopted (see ensureArchiveIndex);
 * `notice` hears what was changed to do so.
 */
export async function archiveLegacy(
  url: string,
  notice: (line: string) => void = () => {},
): Promise<number> {
  return inTransaction(url, async (c) => {
    await c.query(
      'CREATE TABLE IF NOT EXISTS price_bars_legacy (LIKE price_bars INCLUDING DEFAULTS)',
    );
    await ensureArchiveIndex(c, notice);
    const expected = await count(c, 'is_legacy = true');
    const copied = await c.query(
      `INSERT INTO price_bars_legacy (${COLUMNS}) SELECT ${COLUMNS} FROM price_bars WHERE is_legacy = true
       ON CONFLICT (symbol, timestamp) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
         close = EXCLUDED.close, volume = EXCLUDED.volume, trade_count = EXCLUDED.trade_count, is_legacy = EXCLUDED.is_legacy,
         data_source = EXCLUDED.data_source, migrated_at = EXCLUDED.migrated_at, deleted_at = EXCLUDED.deleted_at`,
    );
    if ((copied.rowCount ?? 0) !== expected) {
      throw new DbError(
        'RUNBOOK_FAILED',
        `archive copied ${copied.rowCount} of ${expected} legacy bars; nothing changed`,
      );
    }
    const deleted = await c.query('DELETE FROM price_bars WHERE is_legacy = true');
    if ((deleted.rowCount ?? 0) !== expected) {
      throw new DbError(
        'RUNBOOK_FAILED',
        `archive would delete ${deleted.rowCount} bars but copied ${expected}; nothing changed`,
      );
    }
    return expected;
  });
}

/**
 * Undoes Option B: moves bars back from price_bars_legacy. A minute now held by a current bar keeps
 * the current bar; its legacy copy stays in price_bars_legacy. Returns { restored, kept }.
 */
export async function unarchiveLegacy(url: string): Promise<{ restored: number; kept: number }> {
  return inTransaction(url, async (c) => {
    const exists = await c.query(`SELECT to_regclass('price_bars_legacy') IS NOT NULL AS ok`);
    if (!exists.rows[0]?.ok) return { restored: 0, kept: 0 };
    const moved = await c.query(
      `WITH moved AS (
         INSERT INTO price_bars (${COLUMNS}) SELECT ${COLUMNS} FROM price_bars_legacy
         ON CONFLICT (symbol, timestamp) DO NOTHING RETURNING symbol, timestamp)
       DELETE FROM price_bars_legacy l USING moved m WHERE l.symbol = m.symbol AND l.timestamp = m.timestamp`,
    );
    const kept = await count(c, 'true', 'price_bars_legacy');
    return { restored: moved.rowCount ?? 0, kept };
  });
}

/** Writes the rows matching `where` to a CSV backup (COPY format with header); returns the row count. */
export async function backupRows(c: pg.Client, where: string, file: string): Promise<number> {
  mkdirSync(dirname(file), { recursive: true });
  const stream = c.query(
    copyTo(
      `COPY (SELECT ${COLUMNS} FROM price_bars WHERE ${where} ORDER BY symbol, timestamp) TO STDOUT WITH (FORMAT csv, HEADER true)`,
    ),
  );
  await pipeline(stream, createWriteStream(file, { flags: 'wx' }));
  return stream.rowCount ?? 0;
}

/**
 * Deletes the rows matching `where` after writing them to `backupFile`, in one transaction (the
 * backup is read inside it, so it holds exactly what is deleted). Returns rows deleted.
 */
async function backupThenDelete(url: string, where: string, backupFile: string): Promise<number> {
  return inTransaction(url, async (c) => {
    await c.query('LOCK TABLE price_bars IN SHARE ROW EXCLUSIVE MODE');
    const backedUp = await backupRows(c, where, backupFile);
    const deleted = await c.query(`DELETE FROM price_bars WHERE ${where}`);
    if ((deleted.rowCount ?? 0) !== backedUp) {
      throw new DbError(
        'RUNBOOK_FAILED',
        `backup holds ${backedUp} rows but ${deleted.rowCount} would be deleted; nothing changed`,
      );
    }
    return backedUp;
  });
}

/** Option C: backs up legacy bars to `backupFile`, then deletes them. */
export function deleteLegacy(url: string, backupFile: string): Promise<number> {
  return backupThenDelete(url, 'is_legacy = true', backupFile);
}

/** The seed's rollback: backs up trades bars to `backupFile`, then deletes them. */
export function rollbackTrades(url: string, backupFile: string): Promise<number> {
  return backupThenDelete(url, "is_legacy = false AND data_source = 'trades'", backupFile);
}

/** Loads a backup written by deleteLegacy/rollbackTrades; minutes held by a current bar are kept. */
export async function restoreBackup(
  url: string,
  file: string,
): Promise<{ restored: number; skipped: number }> {
  if (!existsSync(file)) throw new DbError('RUNBOOK_FAILED', `backup file ${file} does not exist`);
  return inTransaction(url, async (c) => {
    await c.query('CREATE TEMP TABLE restore_rows (LIKE price_bars) ON COMMIT DROP');
    const stream = c.query(
      copyFrom(`COPY restore_rows (${COLUMNS}) FROM STDIN WITH (FORMAT csv, HEADER true)`),
    );
    await pipeline(createReadStream(file), stream);
    const total = await count(c, 'true', 'restore_rows');
    const r = await c.query(
      `INSERT INTO price_bars (${COLUMNS}) SELECT ${COLUMNS} FROM restore_rows ON CONFLICT (symbol, timestamp) DO NOTHING`,
    );
    return { restored: r.rowCount ?? 0, skipped: total - (r.rowCount ?? 0) };
  });
}

/** The seed's Phase 6 monitor: new bars and volume in the last hour, latest bar. */
export async function monitorSnapshot(
  url: string,
): Promise<{ new_bars: number; total_volume: string; latest_bar: Date | null }> {
  return withClient(url, async (c) => {
    const r = await c.query(`
      SELECT COUNT(*)::int AS new_bars, COALESCE(SUM(volume), 0)::text AS total_volume, MAX(timestamp) AS latest_bar
      FROM price_bars WHERE is_legacy = false AND deleted_at IS NULL AND timestamp > NOW() - INTERVAL '1 hour'`);
    return r.rows[0];
  });
}
