import { BAR_INTERVALS, type BarInterval, type BarSession, type DataSource } from '@timed/schema';
import { sql } from 'kysely';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { type CopyRender, copyRowRenderer } from './bars-copy-render.js';
import {
  decodeBarsCursor,
  encodeBarsCursor,
  type QueryBarsOptions,
  queryBars,
  type StoredBar,
} from './bars-repository.js';
import { type Db, poolOf } from './database.js';

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
        AS data_source,
      CASE WHEN sum(volume) > 0 AND bool_and(vwap IS NOT NULL OR volume = 0)
        THEN trim_scale(round(sum(vwap * volume) / sum(volume), 9)) END AS vwap
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

/**
 * A bar as read for serving, positionally, every value as Postgres' text (no parsing into numbers
 * or Dates: the API writes JSON and CSV straight from these strings):
 * [symbol, 'YYYY-MM-DD HH:MM:SS' (UTC), open, high, low, close, volume, trade_count,
 *  is_legacy 't'|'f', data_source, vwap | null, filled? ('t' on bars made by fill=previous)].
 */
export type BarRow = [
  symbol: string,
  utc: string,
  open: string,
  high: string,
  low: string,
  close: string,
  volume: string,
  tradeCount: string,
  isLegacy: string,
  dataSource: string,
  vwap: string | null,
  filled?: 't',
];

/** Options of readBarRows and streamBarRows. `start`/`end` are inclusive. */
export interface ReadBarsOptions {
  /** One symbol, or up to 100 (then rows come ordered by symbol, then time). */
  symbols: readonly string[];
  start?: Date;
  end?: Date;
  includeLegacy?: boolean;
  interval: BarInterval;
  session?: BarSession;
  /** Read after this bar (keyset): the next bucket of its symbol, or the following symbols. */
  after?: { symbol?: string; timestamp: Date };
  /** Most rows to read. */
  limit: number;
}

// Every column arrives as the server's text: pg's per-value parsers (numeric -> string is the
// identity anyway, timestamptz -> Date is the costly one) are skipped altogether.
const RAW_TYPES = { getTypeParser: () => (value: string) => value };

const NY_LOCAL = `(timestamp AT TIME ZONE 'America/New_York')::time`;

/** The SQL text and parameters of a read; the text depends only on which filters are present. */
export function barsReadSql(
  o: ReadBarsOptions,
  inline = false,
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  // COPY takes no parameters: `inline` writes them as literals (symbols are validated upper-case
  // [A-Z0-9._/-], times are ISO text made here, limits are numbers; quotes are doubled anyway).
  const p = (v: unknown) => {
    if (inline) return sqlLiteral(v);
    values.push(v);
    return `$${values.length}`;
  };
  const many = o.symbols.length !== 1;
  const where = [
    many ? `symbol = ANY(${p(o.symbols)}::varchar[])` : `symbol = ${p(o.symbols[0])}`,
    'deleted_at IS NULL',
  ];
  if (o.start) where.push(`timestamp >= ${p(o.start.toISOString())}::timestamptz`);
  if (o.end) where.push(`timestamp <= ${p(o.end.toISOString())}::timestamptz`);
  if (!o.includeLegacy) where.push('(is_legacy = false OR is_legacy IS NULL)');
  if (o.session === 'regular') where.push(`${NY_LOCAL} >= '09:30' AND ${NY_LOCAL} < '16:00'`);
  if (o.session === 'extended') where.push(`(${NY_LOCAL} < '09:30' OR ${NY_LOCAL} >= '16:00')`);
  const stepSeconds = BAR_INTERVALS[o.interval];
  if (o.after) {
    // The first minute not yet served: the next minute, or the next bucket's first minute.
    const stepMs = stepSeconds * 1000;
    const from = new Date(Math.floor(o.after.timestamp.getTime() / stepMs) * stepMs + stepMs);
    const ts = `${p(from.toISOString())}::timestamptz`;
    if (many) where.push(`(symbol, timestamp) >= (${p(o.after.symbol ?? '')}::varchar, ${ts})`);
    else where.push(`timestamp >= ${ts}`);
  }
  const order = many ? 'symbol, timestamp' : 'timestamp';
  let text: string;
  if (o.interval === '1m') {
    text = `SELECT symbol, timestamp AT TIME ZONE 'UTC' AS t, open AS o, high AS h, low AS l,
      close AS c, volume AS v, trade_count AS n, coalesce(is_legacy, false) AS leg,
      coalesce(data_source, 'mbp-1') AS src, vwap
      FROM price_bars WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${p(o.limit)}`;
  } else {
    const bucket = `date_bin('${stepSeconds} seconds'::interval, timestamp, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
    // VWAP of a bucket weighs each bar's by its volume; unknown when a bar with volume has none.
    text = `SELECT symbol, ${bucket} AT TIME ZONE 'UTC' AS t,
      (array_agg(open ORDER BY timestamp ASC))[1] AS o, max(high) AS h, min(low) AS l,
      (array_agg(close ORDER BY timestamp DESC))[1] AS c, sum(volume) AS v,
      sum(trade_count) AS n, bool_or(coalesce(is_legacy, false)) AS leg,
      CASE WHEN bool_and(coalesce(data_source, 'mbp-1') = 'trades') THEN 'trades' ELSE 'mbp-1' END
        AS src,
      CASE WHEN sum(volume) > 0 AND bool_and(vwap IS NOT NULL OR volume = 0)
        THEN trim_scale(round(sum(vwap * volume) / sum(volume), 9)) END AS vwap
      FROM price_bars WHERE ${where.join(' AND ')}
      GROUP BY symbol, ${bucket} ORDER BY ${many ? 'symbol, t' : 't'} LIMIT ${p(o.limit)}`;
  }
  return { text, values };
}

function sqlLiteral(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  if (Array.isArray(v)) return `ARRAY[${v.map(sqlLiteral).join(',')}]`;
  return `'${String(v).replaceAll("'", "''")}'`;
}

/**
 * The whole range as NDJSON or CSV lines (no header), streamed by `COPY (<read>) TO STDOUT` on its
 * own connection and rendered from COPY's bytes as they arrive (bars-copy-render.ts), at the pace
 * the consumer reads (back-pressure reaches the server). Aborting `signal` cancels the COPY on the
 * server and releases the connection. Resolves once the stream is set up.
 */
export async function copyRenderedBars(
  db: Db,
  options: Omit<ReadBarsOptions, 'limit'>,
  render: CopyRender,
  signal: AbortSignal,
  withSymbol = true,
): Promise<AsyncGenerator<Buffer>> {
  const pool = poolOf(db);
  const client = await pool.connect();
  const pid = (client as unknown as { processID: number }).processID;
  const { text } = barsReadSql({ ...options, limit: Number.MAX_SAFE_INTEGER }, true);
  const stream = client.query(copyTo(`COPY (${text}) TO STDOUT`));
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    signal.removeEventListener('abort', onAbort);
    client.release(err);
  };
  const onAbort = () => {
    if (done) return;
    // Stop the server's work, and drop the connection (not reused: its COPY never finished).
    void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
    stream.destroy();
    finish(new Error('export aborted by the client'));
  };
  stream.on('end', () => finish());
  stream.on('error', (err: Error) => finish(err));
  stream.on('close', () => finish(new Error('COPY stream closed before its end')));
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort);
  const renderer = copyRowRenderer(render, withSymbol);
  async function* rendered(): AsyncGenerator<Buffer> {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const out = renderer.push(chunk);
      if (out.length > 0) yield out;
    }
    renderer.end();
  }
  return rendered();
}

const statementNames = new Map<string, string>();

/** A stable prepared-statement name per SQL text (pg prepares it once per connection). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `timed_bars_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name;
}

/** Runs a read on `runner` (the pool or one client) as a prepared statement, rows as text arrays. */
async function runRead(runner: pg.Pool | pg.PoolClient, o: ReadBarsOptions): Promise<BarRow[]> {
  const { text, values } = barsReadSql(o);
  const result = await runner.query<BarRow>({
    name: statementName(text),
    text,
    values,
    rowMode: 'array',
    types: RAW_TYPES,
  } as pg.QueryConfig & { rowMode: 'array' });
  return result.rows;
}

/**
 * Reads up to `limit` bars (1-minute, or aggregated in SQL like queryBarsAtInterval, plus VWAP) in
 * one round trip, as text rows. The session filter applies to the 1-minute bars, before
 * aggregation.
 */
export function readBarRows(db: Db, options: ReadBarsOptions): Promise<BarRow[]> {
  return runRead(poolOf(db), options);
}

/**
 * Reads every bar of a range in chunks of `chunkRows` (keyset: each chunk starts after the last),
 * on one connection, so memory stays flat however long the range. Stops when `signal` aborts; a
 * chunk in flight is then cancelled on the server (pg_cancel_backend), so no work is left behind.
 */
export async function* streamBarRows(
  db: Db,
  options: Omit<ReadBarsOptions, 'limit'>,
  signal: AbortSignal,
  chunkRows = 20_000,
): AsyncGenerator<BarRow[]> {
  const pool = poolOf(db);
  const client = await pool.connect();
  // The backend's pid (pg sets it at connect; its typings leave it out).
  const pid = (client as unknown as { processID: number }).processID;
  let inFlight = false;
  const cancel = () => {
    if (inFlight) void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
  };
  signal.addEventListener('abort', cancel);
  let broken: unknown;
  try {
    let after = options.after;
    while (!signal.aborted) {
      inFlight = true;
      const rows = await runRead(client, { ...options, after, limit: chunkRows });
      inFlight = false;
      if (rows.length > 0) {
        const last = rows[rows.length - 1]!;
        after = { symbol: last[0], timestamp: utcTextToDate(last[1]) };
        yield rows;
      }
      if (rows.length < chunkRows) return;
    }
  } catch (err) {
    broken = err;
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', cancel);
    // A connection whose query was cancelled is fine to reuse; one that failed otherwise is not.
    client.release(broken !== undefined && !signal.aborted ? (broken as Error) : undefined);
  }
}

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC, as read) to a Date. */
export function utcTextToDate(utc: string): Date {
  return new Date(`${utc.replace(' ', 'T')}Z`);
}

/** 'YYYY-MM-DD HH:MM:SS' (UTC, as read) to ISO 8601 with milliseconds, as JSON Dates print. */
export function utcTextToIso(utc: string): string {
  // Bars sit on whole minutes, so the text is always 19 characters; anything else goes via Date.
  if (utc.length === 19) return `${utc.slice(0, 10)}T${utc.slice(11)}.000Z`;
  return utcTextToDate(utc).toISOString();
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Start (UTC ms) of daylight saving time in New York in `year`, and its end (US rules since 2007). */
function nyDaylight(year: number): [number, number] {
  // Second Sunday of March at 02:00 EST (07:00 UTC) to the first Sunday of November at 02:00 EDT (06:00 UTC).
  const march1 = Date.UTC(year, 2, 1);
  const firstSundayMarch = march1 + ((7 - new Date(march1).getUTCDay()) % 7) * DAY_MS;
  const nov1 = Date.UTC(year, 10, 1);
  const firstSundayNov = nov1 + ((7 - new Date(nov1).getUTCDay()) % 7) * DAY_MS;
  return [firstSundayMarch + 7 * DAY_MS + 7 * 3_600_000, firstSundayNov + 6 * 3_600_000];
}

/** True when the minute starting at `ms` is in the regular session (09:30-16:00 New York time). */
export function inRegularSession(ms: number): boolean {
  const [dstStart, dstEnd] = nyDaylight(new Date(ms).getUTCFullYear());
  const offsetMs = (ms >= dstStart && ms < dstEnd ? -4 : -5) * 3_600_000;
  const minuteOfDay = Math.floor(((((ms + offsetMs) % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS);
  return minuteOfDay >= 570 && minuteOfDay < 960;
}

/** True when the bucket [ms, ms + stepMs) holds at least one minute the session keeps. */
export function bucketInSession(ms: number, stepMs: number, session: BarSession): boolean {
  if (session === 'all') return true;
  for (let t = ms; t < ms + stepMs; t += MINUTE_MS) {
    if (inRegularSession(t) === (session === 'regular')) return true;
  }
  return false;
}

/**
 * fill=previous: between two bars of a symbol, every missing bucket the session keeps becomes a bar
 * at the previous close (volume 0, trade_count 0, VWAP null, flagged filled). Rows are fed in the
 * read's order; `seed` is the last real bar before them (the page cursor's), if any.
 */
export class GapFiller {
  private readonly stepMs: number;
  private prev: { symbol: string; ms: number; row: BarRow } | undefined;

  constructor(
    interval: BarInterval,
    private readonly session: BarSession,
    seed?: {
      symbol: string;
      timestamp: Date;
      close: string;
      isLegacy: boolean;
      dataSource: DataSource;
    },
  ) {
    this.stepMs = BAR_INTERVALS[interval] * 1000;
    if (seed) {
      const c = seed.close;
      this.prev = {
        symbol: seed.symbol,
        ms: seed.timestamp.getTime(),
        row: [
          seed.symbol,
          '',
          c,
          c,
          c,
          c,
          '0',
          '0',
          seed.isLegacy ? 't' : 'f',
          seed.dataSource,
          null,
        ],
      };
    }
  }

  /** Calls `emit` with the filled bars before `row`, then with `row`; stops when emit says so. */
  push(row: BarRow, emit: (row: BarRow) => boolean): boolean {
    const ms = utcTextToDate(row[1]).getTime();
    const prev = this.prev;
    if (prev && prev.symbol === row[0]) {
      const p = prev.row;
      for (let t = prev.ms + this.stepMs; t < ms; t += this.stepMs) {
        if (!bucketInSession(t, this.stepMs, this.session)) continue;
        const utc = new Date(t).toISOString().slice(0, 19).replace('T', ' ');
        const c = p[5];
        if (!emit([row[0], utc, c, c, c, c, '0', '0', p[8], p[9], null, 't'])) {
          return false;
        }
      }
    }
    this.prev = { symbol: row[0], ms, row };
    return emit(row);
  }
}

/**
 * Runs `COPY (<select>) TO STDOUT` and returns the bytes and lines it produced (text format): the
 * floor a bulk export is measured against. For benchmarks; `select` is trusted SQL.
 */
export async function copyOutCount(
  db: Db,
  select: string,
): Promise<{ bytes: number; lines: number }> {
  const client = await poolOf(db).connect();
  try {
    const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
    let bytes = 0;
    let lines = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    }
    return { bytes, lines };
  } finally {
    client.release();
  }
}
