import { BAR_INTERVALS, type BarInterval, type DataSource } from '@timed/schema';
import { sql } from 'kysely';
import {
  decodeBarsCursor,
  encodeBarsCursor,
  type QueryBarsOptions,
  queryBars,
  type StoredBar,
} from './bars-repository.js';
import type { Db } from './database.js';

/** Options of queryBarsAtInterval: queryBars' options plus the bar size. */
export interface QueryBarsAtIntervalOptions extends QueryBarsOptions {
  /** Bar size; `1m` reads the stored bars as they are. */
  interval: BarInterval;
}

/**
 * Reads one page of bars of `interval` for a symbol, aggregated in SQL from the 1-minute bars that
 * pass the filters (symbol, inclusive `start`/`end`, legacy, not soft-deleted): first open, max high, min low, last
 * close, summed volume and trade_count, `timestamp` = bucket start (UTC, aligned on the Unix epoch,
 * so `1d` buckets are UTC days). A bucket is legacy when any of its bars is, and its data_source is
 * `trades` only when all of its bars are. The cursor is the last bucket served: the next page starts
 * at the following bucket, so bars arriving meanwhile never repeat or shift a page.
 */
export async function queryBarsAtInterval(
  db: Db,
  options: QueryBarsAtIntervalOptions,
): Promise<{ bars: StoredBar[]; nextCursor: string | null }> {
  if (options.interval === '1m') return queryBars(db, options);
  const stepMs = BAR_INTERVALS[options.interval] * 1000;
  const step = `${BAR_INTERVALS[options.interval]} seconds`;
  const after = options.cursor ? decodeBarsCursor(options.cursor) : undefined;
  // First minute of the bucket after the cursor's bucket.
  const from = after ? new Date(Math.floor(after.getTime() / stepMs) * stepMs + stepMs) : undefined;
  const legacyFilter = options.includeLegacy
    ? sql``
    : sql`AND (is_legacy = false OR is_legacy IS NULL)`;
  const startFilter = options.start ? sql`AND timestamp >= ${options.start}` : sql``;
  const endFilter = options.end ? sql`AND timestamp <= ${options.end}` : sql``;
  const fromFilter = from ? sql`AND timestamp >= ${from}` : sql``;
  const result = await sql<StoredBar>`
    SELECT
      ${options.symbol}::varchar AS symbol,
      date_bin(${step}::interval, timestamp, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS timestamp,
      (array_agg(open ORDER BY timestamp ASC))[1] AS open,
      max(high) AS high,
      min(low) AS low,
      (array_agg(close ORDER BY timestamp DESC))[1] AS close,
      sum(volume)::bigint AS volume,
      sum(trade_count)::integer AS trade_count,
      bool_or(coalesce(is_legacy, false)) AS is_legacy,
      CASE WHEN bool_and(coalesce(data_source, 'mbp-1') = 'trades') THEN 'trades' ELSE 'mbp-1' END
        AS data_source
    FROM price_bars
    WHERE symbol = ${options.symbol} AND deleted_at IS NULL ${startFilter} ${endFilter} ${fromFilter} ${legacyFilter}
    GROUP BY 2
    ORDER BY 2 ASC
    LIMIT ${options.limit + 1}`.execute(db);
  const rows = result.rows;
  const more = rows.length > options.limit;
  const bars = (more ? rows.slice(0, options.limit) : rows).map((r) => ({
    ...r,
    volume: String(r.volume),
    data_source: r.data_source as DataSource,
  }));
  const last = bars[bars.length - 1];
  return { bars, nextCursor: more && last ? encodeBarsCursor(last.timestamp) : null };
}
