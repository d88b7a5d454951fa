import type pg from 'pg';
import { DbError } from '../errors.js';
import { columnNames, columnsOf, count, inTransaction, list, quoteIdent } from './sql.js';

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
    // A price_bars_legacy made before a later migration (or by the seed's SQL) lacks its columns.
    const columns = await columnsOf(c, 'price_bars');
    const have = new Set(await columnNames(c, 'price_bars_legacy'));
    const missing = columns.filter((col) => !have.has(col.name));
    if (missing.length > 0) {
      await c.query(
        `ALTER TABLE price_bars_legacy ${missing.map((col) => `ADD COLUMN ${quoteIdent(col.name)} ${col.type}`).join(', ')}`,
      );
    }
    const names = columns.map((col) => col.name);
    const updates = names
      .filter((n) => n !== 'symbol' && n !== 'timestamp')
      .map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`)
      .join(', ');
    const expected = await count(c, 'is_legacy = true');
    const copied = await c.query(
      `INSERT INTO price_bars_legacy (${list(names)}) SELECT ${list(names)} FROM price_bars WHERE is_legacy = true
       ON CONFLICT (symbol, timestamp) DO UPDATE SET ${updates}`,
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
    const target = new Set(await columnNames(c, 'price_bars'));
    const names = (await columnNames(c, 'price_bars_legacy')).filter((n) => target.has(n));
    const moved = await c.query(
      `WITH moved AS (
         INSERT INTO price_bars (${list(names)}) SELECT ${list(names)} FROM price_bars_legacy
         ON CONFLICT (symbol, timestamp) DO NOTHING RETURNING symbol, timestamp)
       DELETE FROM price_bars_legacy l USING moved m WHERE l.symbol = m.symbol AND l.timestamp = m.timestamp`,
    );
    const kept = await count(c, 'true', 'price_bars_legacy');
    return { restored: moved.rowCount ?? 0, kept };
  });
}
