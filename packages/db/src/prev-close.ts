import { sql } from 'kysely';
import type { Db } from './database.js';

/** A symbol's previous close and the bar it came from. */
export interface PreviousClose {
  close: number;
  /** Open time of the bar whose close it is. */
  barTimestamp: Date;
  /** The New York date of that trading day (`YYYY-MM-DD`). */
  day: string;
  isLegacy: boolean;
}

/**
 * Previous closes for `sessionDay` (`YYYY-MM-DD`, America/New_York): per symbol, the close of the
 * last regular-session bar (opening 09:30–15:59 New York time, so a half day's 12:59 bar counts)
 * of the latest earlier trading day, a day being one with such a bar in price_bars. Within that
 * day a trades (non-legacy) bar is preferred, else the legacy one; soft-deleted bars do not count.
 * Weekends, holidays and days without bars are skipped by construction. Symbols without any earlier
 * regular-session bar are absent from the map.
 */
export async function previousCloses(
  db: Db,
  symbols: readonly string[],
  sessionDay: string,
): Promise<Map<string, PreviousClose>> {
  const out = new Map<string, PreviousClose>();
  if (symbols.length === 0) return out;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(sessionDay)) {
    throw new RangeError(`session day must be YYYY-MM-DD, got ${JSON.stringify(sessionDay)}`);
  }
  // Two index walks per symbol on (symbol, timestamp): back from the day's start to the newest
  // regular-session bar (its day is the trading day), then that day's regular session.
  const res = await sql<{
    symbol: string;
    close: string;
    timestamp: Date;
    day: string;
    is_legacy: boolean | null;
  }>`
    SELECT s.symbol, pc.close::text AS close, pc.timestamp, d.day::text AS day, pc.is_legacy
    FROM unnest(${[...new Set(symbols)]}::text[]) AS s(symbol)
    CROSS JOIN LATERAL (
      SELECT (b.timestamp AT TIME ZONE 'America/New_York')::date AS day
      FROM price_bars b
      WHERE b.symbol = s.symbol
        AND b.timestamp < (${sessionDay}::date)::timestamp AT TIME ZONE 'America/New_York'
        AND b.deleted_at IS NULL
        AND (b.timestamp AT TIME ZONE 'America/New_York')::time BETWEEN '09:30' AND '15:59'
      ORDER BY b.timestamp DESC
      LIMIT 1
    ) d
    CROSS JOIN LATERAL (
      SELECT b.close, b.timestamp, b.is_legacy
      FROM price_bars b
      WHERE b.symbol = s.symbol
        AND b.timestamp >= (d.day + time '09:30') AT TIME ZONE 'America/New_York'
        AND b.timestamp <= (d.day + time '15:59') AT TIME ZONE 'America/New_York'
        AND b.deleted_at IS NULL
      ORDER BY (b.is_legacy IS TRUE), b.timestamp DESC
      LIMIT 1
    ) pc`.execute(db);
  for (const r of res.rows) {
    out.set(r.symbol, {
      close: Number(r.close),
      barTimestamp: r.timestamp,
      day: r.day,
      isLegacy: r.is_legacy === true,
    });
  }
  return out;
}
