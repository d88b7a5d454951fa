import { sql } from 'kysely';
import type { Db } from './database.js';

/** A stored bar as the live stream sends it (numbers, epoch ms). */
export interface LiveBar {
  symbol: string;
  timestamp: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  tradeCount: number;
  isLegacy: boolean;
  dataSource: string;
  vwap: number | null;
}

/**
 * Current (non-legacy, not soft-deleted) bars of `symbols` opening after `afterMs` and at or before
 * `throughMs`, in time then symbol order, at most `limit`: the closed bars a live client missed.
 */
export async function barsBetween(
  db: Db,
  symbols: readonly string[],
  afterMs: number,
  throughMs: number,
  limit = 100_000,
): Promise<LiveBar[]> {
  if (symbols.length === 0 || throughMs <= afterMs) return [];
  // vwap read through to_jsonb: null where the column (migration 0005) does not exist.
  const res = await sql<{
    symbol: string;
    ms: string;
    open: number;
    high: number;
    low: number;
    close: number;
    volume: string;
    trade_count: number;
    is_legacy: boolean | null;
    data_source: string | null;
    vwap: number | null;
  }>`
    SELECT b.symbol, (extract(epoch FROM b.timestamp) * 1000)::float8::text AS ms,
      b.open::float8 AS open, b.high::float8 AS high, b.low::float8 AS low,
      b.close::float8 AS close, b.volume::text AS volume, b.trade_count, b.is_legacy,
      b.data_source, (to_jsonb(b) ->> 'vwap')::float8 AS vwap
    FROM price_bars b
    WHERE b.symbol = ANY(${[...symbols]}::text[])
      AND b.timestamp > to_timestamp(${afterMs}::float8 / 1000)
      AND b.timestamp <= to_timestamp(${throughMs}::float8 / 1000)
      AND b.is_legacy IS NOT TRUE AND b.deleted_at IS NULL
    ORDER BY b.timestamp, b.symbol
    LIMIT ${limit}`.execute(db);
  return res.rows.map((r) => ({
    symbol: r.symbol,
    timestamp: Number(r.ms),
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    volume: Number(r.volume),
    tradeCount: r.trade_count,
    isLegacy: r.is_legacy === true,
    dataSource: r.data_source ?? 'trades',
    vwap: r.vwap,
  }));
}
