import { DataSource } from '@timed/schema';
import { sql } from 'kysely';
import type { Db } from './database.js';

/** Seconds without a heartbeat after which a screener no longer counts as alive. */
export const SCREENER_ALIVE_SECONDS = 30;

/** Round trip to the database; resolves with the server's clock. */
export async function pingDb(db: Db): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(db);
  return rows[0]!.now;
}

/** Newest bar time per data_source (null when that source has no bar). */
export async function newestBarPerSource(
  db: Db,
): Promise<{ data_source: DataSource; newest_bar: Date | null }[]> {
  // One max() per known source: each is a short backward index scan instead of a full GROUP BY.
  const { rows } = await sql<{ data_source: DataSource; newest_bar: Date | null }>`
    SELECT s.data_source,
      (SELECT max(p.timestamp) FROM price_bars p WHERE p.data_source = s.data_source) AS newest_bar
    FROM unnest(${[...DataSource.options]}::varchar[]) AS s(data_source)`.execute(db);
  return rows;
}

/** A screener heartbeat row with its liveness computed on the database clock. */
export interface ScreenerHeartbeat {
  instance_id: string;
  host: string;
  pid: number;
  dataset: string;
  schema: string;
  started_at: Date;
  last_seen: Date;
  trades_seen: string;
  bars_written: string;
  errors: string;
  last_error: string | null;
  last_error_at: Date | null;
  stopped_at: Date | null;
  /** Not stopped and seen within SCREENER_ALIVE_SECONDS. */
  alive: boolean;
}

/** Screeners alive now or seen within the last day, newest first (at most 50). */
export async function screenerHeartbeats(db: Db): Promise<ScreenerHeartbeat[]> {
  const { rows } = await sql<ScreenerHeartbeat>`
    SELECT instance_id, host, pid, dataset, schema, started_at, last_seen, trades_seen,
      bars_written, errors, last_error, last_error_at, stopped_at,
      (stopped_at IS NULL AND last_seen > now() - make_interval(secs => ${SCREENER_ALIVE_SECONDS}))
        AS alive
    FROM screener_instances
    WHERE stopped_at IS NULL OR last_seen > now() - interval '1 day'
    ORDER BY last_seen DESC
    LIMIT 50`.execute(db);
  return rows.map((r) => ({
    ...r,
    trades_seen: String(r.trades_seen),
    bars_written: String(r.bars_written),
    errors: String(r.errors),
  }));
}

/** One row of the seed's Phase 5 "count legacy vs new" query. */
export interface BarCountsRow {
  data_source: string | null;
  is_legacy: boolean | null;
  bar_count: string;
  total_volume: string | null;
  first_bar: Date | null;
  last_bar: Date | null;
}

/** The seed's Phase 5 Test 2: bars per data_source/is_legacy with volume and time span. */
export async function barCountsBySource(db: Db): Promise<BarCountsRow[]> {
  const { rows } = await sql<BarCountsRow>`
    SELECT
        data_source,
        is_legacy,
        COUNT(*) as bar_count,
        SUM(volume) as total_volume,
        MIN(timestamp) as first_bar,
        MAX(timestamp) as last_bar
    FROM price_bars
    GROUP BY data_source, is_legacy
    ORDER BY is_legacy DESC`.execute(db);
  return rows.map((r) => ({
    ...r,
    bar_count: String(r.bar_count),
    total_volume: r.total_volume === null ? null : String(r.total_volume),
  }));
}

/** Bars per UTC hour of one kind (legacy or new) over the day ending at its newest bar. */
export interface HourlyCoverage {
  /** Newest bar of this kind (the window's end), null when there is none. */
  newest_bar: Date | null;
  /** Hours of the window holding at least one bar, with their bar counts, ascending. */
  hours: { hour: Date; bars: number }[];
}

/** Facts the seed's success criteria are computed from, read in one go. */
export interface MigrationFacts {
  now: Date;
  /** Bars with is_legacy = false. */
  new_bars: number;
  /** ... of which volume > 0. */
  new_bars_with_volume: number;
  new_coverage: HourlyCoverage;
  legacy_coverage: HourlyCoverage;
  /** The seed's "compare old vs new bar counts" query (last day, per hour). */
  last_day_by_hour: { hour: Date; legacy_bars: number; new_bars: number }[];
  screeners: ScreenerHeartbeat[];
  /** The switch to trades and what happened since: days of trades bars, screener errors. */
  since_switch: SinceSwitch;
}

/** Where the switch time was taken from. */
export type SwitchSource = 'first trades screener start' | 'first trades bar';

/** A screener heartbeat row that counted errors after the switch. */
export interface SwitchErrorRow {
  instance_id: string;
  schema: string;
  errors: number;
  last_error: string | null;
  last_error_at: Date | null;
}

/**
 * The switch from MBP-1 to trades, and what the cleanup gates measure since then. The switch is
 * the start of the first `trades` screener (its heartbeat row), else the first trades bar: a
 * backfill writes bars with old timestamps, so the first bar alone could date the switch days
 * before any live trades data was collected.
 */
export interface SinceSwitch {
  switch_at: Date | null;
  switch_source: SwitchSource | null;
  first_trades_bar: Date | null;
  newest_trades_bar: Date | null;
  /** Sum of the heartbeat rows' error counters of every screener seen since the switch. */
  errors: number;
  error_rows: SwitchErrorRow[];
}

/** Reads the switch time, the trades bars since then and the screener errors since then. */
export async function sinceSwitch(db: Db): Promise<SinceSwitch> {
  const { rows } = await sql<{
    first_screener: Date | null;
    first_bar: Date | null;
    newest_bar: Date | null;
  }>`
    SELECT
      (SELECT min(started_at) FROM screener_instances WHERE schema = 'trades') AS first_screener,
      (SELECT min(timestamp) FROM price_bars
        WHERE is_legacy = false AND data_source = 'trades') AS first_bar,
      (SELECT max(timestamp) FROM price_bars
        WHERE is_legacy = false AND data_source = 'trades') AS newest_bar`.execute(db);
  const r = rows[0];
  const switchAt = r?.first_screener ?? r?.first_bar ?? null;
  const source: SwitchSource | null = r?.first_screener
    ? 'first trades screener start'
    : r?.first_bar
      ? 'first trades bar'
      : null;
  // Counters are per process, not per event: a process seen after the switch counts whole. A row
  // whose last error is after the switch counts at least one, whatever its counter says.
  const { rows: erring } = await sql<SwitchErrorRow>`
    SELECT * FROM (
      SELECT instance_id, schema, last_error, last_error_at, last_seen,
        GREATEST(errors, CASE WHEN last_error_at >= ${switchAt} THEN 1 ELSE 0 END)::float8 AS errors
      FROM screener_instances
      WHERE ${switchAt}::timestamptz IS NULL OR last_seen >= ${switchAt}) s
    WHERE errors > 0
    ORDER BY last_seen DESC`.execute(db);
  return {
    switch_at: switchAt,
    switch_source: source,
    first_trades_bar: r?.first_bar ?? null,
    newest_trades_bar: r?.newest_bar ?? null,
    errors: erring.reduce((n, e) => n + Number(e.errors), 0),
    error_rows: erring.map((e) => ({
      instance_id: e.instance_id,
      schema: e.schema,
      errors: Number(e.errors),
      last_error: e.last_error,
      last_error_at: e.last_error_at,
    })),
  };
}

async function hourlyCoverage(db: Db, legacy: boolean): Promise<HourlyCoverage> {
  const { rows: newest } = await sql<{ newest: Date | null }>`
    SELECT max(timestamp) AS newest FROM price_bars WHERE is_legacy = ${legacy}`.execute(db);
  const end = newest[0]?.newest ?? null;
  if (!end) return { newest_bar: null, hours: [] };
  const { rows } = await sql<{ hour: Date; bars: string }>`
    SELECT date_trunc('hour', timestamp AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
      count(*) AS bars
    FROM price_bars
    WHERE is_legacy = ${legacy} AND timestamp > ${end}::timestamptz - interval '1 day'
      AND timestamp <= ${end}
    GROUP BY 1
    ORDER BY 1`.execute(db);
  return { newest_bar: end, hours: rows.map((r) => ({ hour: r.hour, bars: Number(r.bars) })) };
}

/** Reads what /migration/status evaluates: new-bar volume, hourly coverage, screener state. */
export async function migrationFacts(db: Db): Promise<MigrationFacts> {
  const now = await pingDb(db);
  const { rows: counts } = await sql<{ new_bars: string; with_volume: string }>`
    SELECT count(*) AS new_bars, count(*) FILTER (WHERE volume > 0) AS with_volume
    FROM price_bars WHERE is_legacy = false`.execute(db);
  const { rows: lastDay } = await sql<{ hour: Date; legacy_bars: string; new_bars: string }>`
    SELECT
        DATE_TRUNC('hour', timestamp) as hour,
        SUM(CASE WHEN is_legacy = true THEN 1 ELSE 0 END) as legacy_bars,
        SUM(CASE WHEN is_legacy = false THEN 1 ELSE 0 END) as new_bars
    FROM price_bars
    WHERE timestamp > NOW() - INTERVAL '1 day'
    GROUP BY hour
    ORDER BY hour`.execute(db);
  return {
    now,
    new_bars: Number(counts[0]?.new_bars ?? 0),
    new_bars_with_volume: Number(counts[0]?.with_volume ?? 0),
    new_coverage: await hourlyCoverage(db, false),
    legacy_coverage: await hourlyCoverage(db, true),
    last_day_by_hour: lastDay.map((r) => ({
      hour: r.hour,
      legacy_bars: Number(r.legacy_bars),
      new_bars: Number(r.new_bars),
    })),
    screeners: await screenerHeartbeats(db),
    since_switch: await sinceSwitch(db),
  };
}
