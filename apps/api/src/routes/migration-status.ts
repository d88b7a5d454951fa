import {
  barCountsBySource,
  type Db,
  evaluateCriteria,
  MIN_DAYS_OF_NEW_DATA,
  migrationFacts,
  poolOf,
  readLiveState,
  sql,
} from '@timed/db';
import { type ApiBar, ErrorBody } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { responseSchema } from '../json-schema.js';
import type { LiveHub } from '../live-hub.js';
import { type LeaderboardBody, rankLeaderboard } from '../live-leaderboard.js';
import { type Criterion, MigrationStatusResponse } from '../schemas.js';

const statusJson = responseSchema(MigrationStatusResponse);
const errorJson = responseSchema(ErrorBody);

/** Query of `GET /migration/status`. */
const MigrationStatusQuery = z.object({
  min_days: z.coerce
    .number()
    .min(0)
    .optional()
    .describe(
      `Days of trades bars since the switch that days_of_new_data wants (default ${MIN_DAYS_OF_NEW_DATA}; ` +
        'use the TIMED_CLEANUP_MIN_DAYS the cleanup commands use)',
    ),
});

/** Top rows of the leaderboard criterion 5 looks at (the seed's `test_leaderboard_analysis up`). */
export const LEADERBOARD_CHECK_ROWS = 10;
/** The self-check reads a bar at least this old, so the screener is done writing it. */
const SETTLED_MS = 2 * 60_000;
/** The self-check's requests get their own rate-limit bucket, apart from real clients. */
const SELF_CHECK_ADDRESS = '127.0.0.254';

const FIELDS = ['open', 'high', 'low', 'close', 'volume', 'trade_count', 'vwap'] as const;
type TableBar = Record<(typeof FIELDS)[number], number | null>;

/** The newest settled trades bar, as the table holds it (numbers from exact numeric text). */
async function newestTradesBar(db: Db, before: Date) {
  const { rows } = await sql<{
    symbol: string;
    timestamp: Date;
    open: string;
    high: string;
    low: string;
    close: string;
    volume: string;
    trade_count: number;
    vwap: string | null;
  }>`
    SELECT symbol, timestamp, open::text, high::text, low::text, close::text, volume::text,
      trade_count, vwap::text
    FROM price_bars
    WHERE is_legacy = false AND data_source = 'trades' AND timestamp <= ${before}
    ORDER BY timestamp DESC, symbol
    LIMIT 1`.execute(db);
  return rows[0];
}

async function tableBar(db: Db, symbol: string, timestamp: Date): Promise<TableBar | undefined> {
  const { rows } = await sql<Record<string, string | number | null>>`
    SELECT open::text, high::text, low::text, close::text, volume::text, trade_count, vwap::text
    FROM price_bars WHERE symbol = ${symbol} AND timestamp = ${timestamp}`.execute(db);
  const r = rows[0];
  if (!r) return undefined;
  return Object.fromEntries(
    FIELDS.map((f) => [f, r[f] === null || r[f] === undefined ? null : Number(r[f])]),
  ) as TableBar;
}

const differing = (table: TableBar, api: ApiBar) =>
  FIELDS.filter((f) => table[f] !== (api[f] ?? null));

/**
 * Criterion 4: the API returns correct data. Reads the newest settled trades bar through the
 * API's own `GET /bars/{symbol}` (routing, query, rendering, serialization) and compares every
 * figure with the table. A bar rewritten between the two reads is compared with its new figures.
 */
async function apiReturnsCorrectData(app: FastifyInstance, db: Db, now: Date): Promise<Criterion> {
  const base = {
    id: 'api_returns_correct_data' as const,
    description: 'The API returns correct data (a recent trades bar read through GET /bars)',
    target: `GET /bars/{symbol} = the price_bars row (${FIELDS.join(', ')})`,
  };
  const row = await newestTradesBar(db, new Date(now.getTime() - SETTLED_MS));
  if (!row) {
    return { ...base, value: null, pass: false, details: { reason: 'no settled trades bar yet' } };
  }
  const at = row.timestamp.toISOString();
  const url = `/bars/${encodeURIComponent(row.symbol)}?start=${at}&end=${at}`;
  const res = await app.inject({ method: 'GET', url, remoteAddress: SELF_CHECK_ADDRESS });
  const details: Record<string, unknown> = { symbol: row.symbol, timestamp: at, request: url };
  if (res.statusCode !== 200) {
    return {
      ...base,
      value: 0,
      pass: false,
      details: { ...details, status: res.statusCode, error: res.body.slice(0, 500) },
    };
  }
  const api = (res.json() as { bars: ApiBar[] }).bars[0];
  if (!api) {
    return {
      ...base,
      value: 0,
      pass: false,
      details: { ...details, reason: 'the API returned no bar' },
    };
  }
  let table = await tableBar(db, row.symbol, row.timestamp);
  let diff = table ? differing(table, api) : [...FIELDS];
  if (diff.length > 0) {
    // The screener may have rewritten the bar in between: compare with what the table holds now.
    table = await tableBar(db, row.symbol, row.timestamp);
    diff = table ? differing(table, api) : [...FIELDS];
  }
  return {
    ...base,
    value: diff.length === 0 ? 1 : 0,
    pass: diff.length === 0,
    details: { ...details, table: table ?? null, api, differing: diff },
  };
}

/**
 * Criterion 5: the leaderboard shows volume. Its top rows (direction up, by pct_from_yesterday, as
 * `GET /leaderboard` ranks them) must exist and all have volume > 0. Without live routes in this
 * process, the same ranking over the live_state table.
 */
async function leaderboardShowsVolume(db: Db, hub: LiveHub | undefined): Promise<Criterion> {
  const q = { direction: 'up', sort: 'pct', limit: LEADERBOARD_CHECK_ROWS } as const;
  let board: LeaderboardBody;
  if (hub) {
    board = await hub.leaderboard(q);
  } else {
    const client = await poolOf(db).connect();
    try {
      board = rankLeaderboard(await readLiveState(client), q, false, Date.now());
    } finally {
      client.release();
    }
  }
  const rows = board.rows;
  const withVolume = rows.filter((r) => r.volume > 0).length;
  return {
    id: 'leaderboard_shows_volume',
    description: 'The leaderboard shows volume data',
    value: rows.length === 0 ? null : withVolume,
    target: `the top ${LEADERBOARD_CHECK_ROWS} rows of /leaderboard?direction=up exist and all have volume > 0`,
    pass: rows.length > 0 && withVolume === rows.length,
    details: {
      source: hub ? 'live hub' : 'live_state table',
      as_of: board.as_of,
      rows: rows.length,
      with_volume: withVolume,
      top: rows.map((r) => ({
        symbol: r.symbol,
        pct_from_yesterday: r.pct_from_yesterday,
        volume: r.volume,
      })),
      ...(rows.length === 0
        ? { reason: 'no symbol with a previous close has live state today' }
        : {}),
    },
  };
}

/** `GET /migration/status`: the seed's success criteria computed live, plus its counts. */
export function registerMigrationStatus(
  app: FastifyInstance,
  deps: { db: Db; live?: LiveHub | undefined },
): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/migration/status',
    {
      schema: {
        summary: 'MBP-1 -> TRADES migration: success criteria, computed live',
        description:
          'Each criterion of the migration plan with its value and pass/fail (the gates of ' +
          'timed-db legacy soft-delete/archive/delete/purge, plus two the API checks itself: a ' +
          'recent trades bar read through GET /bars equals the table, and the top leaderboard ' +
          'rows have volume), the bar counts per data_source/is_legacy and the old-vs-new bars ' +
          'per hour over the last day.',
        tags: ['operations'],
        querystring: MigrationStatusQuery,
        response: { 200: statusJson, 503: errorJson },
      },
    },
    async (request) => {
      const [facts, counts] = await Promise.all([
        migrationFacts(deps.db),
        barCountsBySource(deps.db),
      ]);
      const criteria: Criterion[] = [
        ...evaluateCriteria(facts, { minDays: request.query.min_days }),
        await apiReturnsCorrectData(app, deps.db, facts.now),
        await leaderboardShowsVolume(deps.db, deps.live),
      ];
      return {
        generated_at: facts.now,
        passed: criteria.every((c) => c.pass),
        criteria,
        // Nullable numbers must be numbers for the serializer's anyOf; the rest is numeric text.
        counts: counts.map((c) => ({
          ...c,
          total_volume: c.total_volume === null ? null : Number(c.total_volume),
        })),
        last_day_by_hour: facts.last_day_by_hour,
      };
    },
  );
}
