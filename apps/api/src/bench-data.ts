import { type Db, pingDb, sql } from '@timed/db';

/** Bars per symbol the generator writes: 256 days of 390-minute sessions. */
export const BARS_PER_SYMBOL = 256 * 390;
/** The symbol and day the benchmark queries (one full session of 390 bars). */
export const BENCH_SYMBOL = 'AAPL';
export const BENCH_DAY = '2024-04-10';

/**
 * Fills price_bars up to `total` rows in SQL (INSERT ... SELECT generate_series): row i belongs to
 * symbol i / BARS_PER_SYMBOL (the first is AAPL, the rest F0001...), on day 2024-01-01 + d at
 * 13:30 UTC + m minutes. Rows already there (index < `from`) are kept, so 1M grows into 20M.
 */
export async function fillBars(
  db: Db,
  from: number,
  total: number,
  onProgress: (rows: number) => void,
): Promise<void> {
  const chunk = 1_000_000;
  for (let a = from; a < total; a += chunk) {
    const b = Math.min(total, a + chunk) - 1;
    await sql`
      INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count,
        is_legacy, data_source)
      SELECT
        CASE WHEN i / ${BARS_PER_SYMBOL} = 0 THEN ${BENCH_SYMBOL}
             ELSE 'F' || lpad((i / ${BARS_PER_SYMBOL})::text, 4, '0') END,
        TIMESTAMPTZ '2024-01-01 13:30:00+00'
          + ((i % ${BARS_PER_SYMBOL}) / 390) * interval '1 day'
          + ((i % ${BARS_PER_SYMBOL}) % 390) * interval '1 minute',
        -- trim_scale: decimal text as the screener writes it (no trailing zeros).
        trim_scale(100 + (i % 1000) / 100.0),
        trim_scale(100.5 + (i % 1000) / 100.0),
        trim_scale(99.5 + (i % 1000) / 100.0),
        trim_scale(100.1 + (i % 1000) / 100.0),
        100 + i % 5000,
        1 + i % 50,
        false,
        'trades'
      FROM generate_series(${a}::bigint, ${b}::bigint) AS i`.execute(db);
    onProgress(b + 1);
  }
  await sql`VACUUM ANALYZE price_bars`.execute(db);
  await pingDb(db);
}

/** Rows in price_bars. */
export async function countBars(db: Db): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM price_bars`.execute(db);
  return Number(rows[0]!.n);
}

/** The symbol of the bulk export bench: a year of extended-hours minutes. */
export const EXPORT_SYMBOL = 'YEAR';
/** Minutes per day the export symbol trades (16 hours: 04:00-20:00 New York in summer). */
const EXPORT_MINUTES_PER_DAY = 960;

/**
 * Writes `rows` bars of `symbol`: 960 consecutive minutes a day from 08:00 UTC, day after day from
 * 2023-01-02 (252 days make a trading year of extended-hours minutes, ~242k bars), with a VWAP.
 */
export async function fillExportYear(db: Db, symbol: string, rows: number): Promise<void> {
  const chunk = 500_000;
  for (let a = 0; a < rows; a += chunk) {
    const b = Math.min(rows, a + chunk) - 1;
    await sql`
      INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count,
        is_legacy, data_source, vwap)
      SELECT ${symbol},
        TIMESTAMPTZ '2023-01-02 08:00:00+00'
          + (i / ${EXPORT_MINUTES_PER_DAY}) * interval '1 day'
          + (i % ${EXPORT_MINUTES_PER_DAY}) * interval '1 minute',
        trim_scale(100 + (i % 1000) / 100.0), trim_scale(100.5 + (i % 1000) / 100.0),
        trim_scale(99.5 + (i % 1000) / 100.0), trim_scale(100.1 + (i % 1000) / 100.0),
        100 + i % 5000, 1 + i % 50, false, 'trades', trim_scale(100.2 + (i % 1000) / 100.0)
      FROM generate_series(${a}::bigint, ${b}::bigint) AS i`.execute(db);
  }
  await sql`VACUUM ANALYZE price_bars`.execute(db);
}
