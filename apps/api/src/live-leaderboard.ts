import { type LiveStateRow, pctFromYesterday } from '@timed/db';
import type { WorkerScore } from './worker-scores.js';

/** What a leaderboard ranks by, and which end comes first. */
export interface LeaderboardQuery {
  /** up: largest first (gainers, most active); down: smallest first (losers). */
  direction: 'up' | 'down';
  sort: 'pct' | 'volume' | 'trade_count';
  limit: number;
  min_price?: number | undefined;
  min_volume?: number | undefined;
}

/** One ranked row; state/htf_score/ltf_score only when the Worker is configured. */
export interface LeaderboardRow {
  rank: number;
  symbol: string;
  price: number;
  pct_from_yesterday: number | null;
  volume: number;
  trade_count: number;
  vwap: number | null;
  prev_close: number | null;
  state?: string | null;
  htf_score?: number | null;
  ltf_score?: number | null;
}

/** Body of `GET /leaderboard` and `event: leaderboard`. */
export interface LeaderboardBody {
  direction: 'up' | 'down';
  sort: 'pct' | 'volume' | 'trade_count';
  as_of: string;
  rows: LeaderboardRow[];
}

/**
 * Ranks the symbols of the newest session day present (older days' rows are stale: those symbols
 * have not traded today). sort=pct ranks only symbols with a previous close. Ties go by symbol.
 * `scores` (the Worker's, when configured) adds state and scores to every row.
 */
export function rankLeaderboard(
  rows: Iterable<LiveStateRow>,
  q: LeaderboardQuery,
  scores: Map<string, WorkerScore> | undefined | false,
  nowMs: number,
): LeaderboardBody {
  const all = [...rows];
  let day = '';
  for (const r of all) if (r.sessionDay > day) day = r.sessionDay;
  const key = (r: LiveStateRow) =>
    q.sort === 'pct'
      ? (pctFromYesterday(r.price, r.prevClose) ?? Number.NaN)
      : q.sort === 'volume'
        ? r.volume
        : r.tradeCount;
  const candidates = all.filter(
    (r) =>
      r.sessionDay === day &&
      !Number.isNaN(key(r)) &&
      (q.min_price === undefined || r.price >= q.min_price) &&
      (q.min_volume === undefined || r.volume >= q.min_volume),
  );
  const sign = q.direction === 'up' ? -1 : 1;
  candidates.sort(
    (a, b) => sign * (key(a) - key(b)) || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0),
  );
  let asOf = 0;
  for (const r of candidates) if (r.lastTs > asOf) asOf = r.lastTs;
  return {
    direction: q.direction,
    sort: q.sort,
    as_of: new Date(asOf || nowMs).toISOString(),
    rows: candidates.slice(0, q.limit).map((r, i) => {
      const row: LeaderboardRow = {
        rank: i + 1,
        symbol: r.symbol,
        price: r.price,
        pct_from_yesterday: pctFromYesterday(r.price, r.prevClose),
        volume: r.volume,
        trade_count: r.tradeCount,
        vwap: r.vwap,
        prev_close: r.prevClose,
      };
      if (scores !== false) {
        const s = scores?.get(r.symbol);
        row.state = s?.state ?? null;
        row.htf_score = s?.htf_score ?? null;
        row.ltf_score = s?.ltf_score ?? null;
      }
      return row;
    }),
  };
}
