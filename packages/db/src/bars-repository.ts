import { type BarInput, barProblem, type DataSource } from '@timed/schema';
import { sql } from 'kysely';
import { type Db, PRICE_BAR_COLUMNS } from './database.js';
import { DbError, InvalidBarError } from './errors.js';

/** Rows per INSERT statement; one round trip each. */
const UPSERT_CHUNK = 10_000;

/**
 * Upserts bars on `(symbol, timestamp)`, replacing every value column of an existing row (a trades
 * bar replaces a legacy bar of the same minute, and a written bar is never soft-deleted). The whole call is validated first and written in
 * one transaction: a bad bar rejects the call with an error naming it and nothing is written.
 * Within one call a later bar for the same key wins. A bar without `vwap` stores NULL (unknown).
 * Returns the number of rows written.
 */
export async function upsertBars(db: Db, bars: readonly BarInput[]): Promise<number> {
  bars.forEach((bar, index) => {
    const problem = barProblem(bar);
    if (problem) throw new InvalidBarError(index, bar.symbol, bar.timestamp, problem);
  });
  if (bars.length === 0) return 0;
  const unique = dedupeLastWins(bars);
  const write = async (conn: Db) => {
    for (let i = 0; i < unique.length; i += UPSERT_CHUNK) {
      await upsertChunk(conn, unique.slice(i, i + UPSERT_CHUNK));
    }
  };
  if (unique.length <= UPSERT_CHUNK) await write(db);
  else await db.transaction().execute(write);
  return unique.length;
}

function dedupeLastWins(bars: readonly BarInput[]): BarInput[] {
  const byKey = new Map<string, BarInput>();
  for (const bar of bars) byKey.set(`${bar.symbol}\u0000${bar.timestamp.getTime()}`, bar);
  return byKey.size === bars.length ? [...bars] : [...byKey.values()];
}

/** A Postgres array literal of values that need no escaping beyond double quotes (validated text). */
function arrayLiteral(values: readonly string[]): string {
  return `{"${values.join('","')}"}`;
}

async function upsertChunk(db: Db, bars: readonly BarInput[]): Promise<void> {
  const n = bars.length;
  const symbol = new Array<string>(n);
  const ts = new Array<string>(n);
  const open = new Array<string>(n);
  const high = new Array<string>(n);
  const low = new Array<string>(n);
  const close = new Array<string>(n);
  const volume = new Array<string>(n);
  const count = new Array<string>(n);
  const legacy = new Array<string>(n);
  const source = new Array<string>(n);
  const vwap = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const b = bars[i]!;
    symbol[i] = b.symbol;
    ts[i] = b.timestamp.toISOString();
    open[i] = String(b.open);
    high[i] = String(b.high);
    low[i] = String(b.low);
    close[i] = String(b.close);
    volume[i] = String(b.volume);
    count[i] = String(b.trade_count);
    legacy[i] = b.is_legacy ? 't' : 'f';
    source[i] = b.data_source ?? 'trades';
    // Unquoted NULL is SQL NULL inside an array literal ("NULL" would be text).
    vwap[i] = b.vwap === undefined || b.vwap === null ? 'NULL' : `"${b.vwap}"`;
  }
  // Every value was validated by barProblem (symbols match [A-Z0-9._/-], numbers are finite), so
  // joining them into array literals is safe and much faster than pg's generic array serialiser.
  const arrays: Record<(typeof PRICE_BAR_COLUMNS)[number], [literal: string, type: string]> = {
    symbol: [arrayLiteral(symbol), 'varchar[]'],
    timestamp: [arrayLiteral(ts), 'timestamptz[]'],
    open: [arrayLiteral(open), 'numeric[]'],
    high: [arrayLiteral(high), 'numeric[]'],
    low: [arrayLiteral(low), 'numeric[]'],
    close: [arrayLiteral(close), 'numeric[]'],
    volume: [arrayLiteral(volume), 'bigint[]'],
    trade_count: [arrayLiteral(count), 'integer[]'],
    is_legacy: [arrayLiteral(legacy), 'boolean[]'],
    data_source: [arrayLiteral(source), 'varchar[]'],
    vwap: [`{${vwap.join(',')}}`, 'numeric[]'],
  };
  // One array per column in PRICE_BAR_COLUMNS' order, so unnest's columns line up with the INSERT's.
  const values = sql.join(
    PRICE_BAR_COLUMNS.map((c) => sql`${arrays[c][0]}::${sql.raw(arrays[c][1])}`),
  );
  const replaced = PRICE_BAR_COLUMNS.filter((c) => c !== 'symbol' && c !== 'timestamp').map(
    (c) => sql`${sql.id(c)} = EXCLUDED.${sql.id(c)}`,
  );
  await sql`
    INSERT INTO price_bars (${sql.join(PRICE_BAR_COLUMNS.map((c) => sql.id(c)))})
    SELECT * FROM unnest(${values})
    ON CONFLICT (symbol, timestamp) DO UPDATE SET ${sql.join(replaced)}, deleted_at = NULL`.execute(
    db,
  );
}

/** A stored bar as read back: numerics and bigints as exact decimal text. */
export interface StoredBar {
  symbol: string;
  timestamp: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trade_count: number;
  is_legacy: boolean;
  data_source: DataSource;
  /** Volume-weighted average price; null when unknown (bars written without one). */
  vwap: string | null;
}

/** Options of queryBars. `start`/`end` are inclusive. */
export interface QueryBarsOptions {
  symbol: string;
  start?: Date;
  end?: Date;
  includeLegacy?: boolean;
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

/** Encodes a page position (the last timestamp served) as an opaque cursor. */
export function encodeBarsCursor(lastTimestamp: Date): string {
  return Buffer.from(`t:${lastTimestamp.getTime()}`).toString('base64url');
}

/** Decodes a cursor to the last timestamp served; throws INVALID_CURSOR on anything else. */
export function decodeBarsCursor(cursor: string): Date {
  return decodeBarsPosition(cursor).timestamp;
}

/**
 * Reads one page of bars for a symbol in ascending time, served by the `(symbol, timestamp)` unique
 * index. Legacy bars are excluded unless `includeLegacy`. Keyset pagination: the cursor is the last
 * timestamp served, so bars inserted meanwhile neither repeat nor shift later pages.
 */
export async function queryBars(
  db: Db,
  options: QueryBarsOptions,
): Promise<{ bars: StoredBar[]; nextCursor: string | null }> {
  const after = options.cursor ? decodeBarsCursor(options.cursor) : undefined;
  let q = db
    .selectFrom('price_bars')
    .select(PRICE_BAR_COLUMNS)
    .where('symbol', '=', options.symbol)
    .where('deleted_at', 'is', null);
  if (options.start) q = q.where('timestamp', '>=', options.start);
  if (options.end) q = q.where('timestamp', '<=', options.end);
  if (after) q = q.where('timestamp', '>', after);
  if (!options.includeLegacy)
    q = q.where((eb) => eb.or([eb('is_legacy', '=', false), eb('is_legacy', 'is', null)]));
  const rows = await q
    .orderBy('timestamp', 'asc')
    .limit(options.limit + 1)
    .execute();
  const more = rows.length > options.limit;
  const page = more ? rows.slice(0, options.limit) : rows;
  const bars = page.map((r) => ({
    ...r,
    is_legacy: r.is_legacy ?? false,
    data_source: (r.data_source ?? 'mbp-1') as DataSource,
  }));
  const last = bars[bars.length - 1];
  return { bars, nextCursor: more && last ? encodeBarsCursor(last.timestamp) : null };
}

/** Where a page ended: its last bar, and for gap filling that bar's close and origin. */
export interface BarsPosition {
  /** Set for many-symbol reads (the order is symbol, then time). */
  symbol?: string;
  timestamp: Date;
  /** The last real bar's close at or before `timestamp` (fill=previous pages only). */
  previous?: { close: string; isLegacy: boolean; dataSource: DataSource };
}

const DECIMAL_TEXT = /^-?\d{1,40}(?:\.\d{1,40})?$/;

/** Encodes a position as an opaque cursor (`t:<ms>` alone is what encodeBarsCursor issues). */
export function encodeBarsPosition(p: BarsPosition): string {
  let text = `${p.symbol === undefined ? '' : `s:${p.symbol}:`}t:${p.timestamp.getTime()}`;
  if (p.previous) {
    text += `:p:${p.previous.close}:${p.previous.dataSource === 'trades' ? 't' : 'm'}${p.previous.isLegacy ? 1 : 0}`;
  }
  return Buffer.from(text).toString('base64url');
}

/** Decodes any cursor this API issued; throws INVALID_CURSOR on anything else. */
export function decodeBarsPosition(cursor: string): BarsPosition {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m =
    /^(?:s:([A-Z0-9][A-Z0-9._/-]{0,31}):)?t:(-?\d{1,15})(?::p:([-0-9.]{1,82}):([tm])([01]))?$/.exec(
      text,
    );
  if (!m || (m[3] !== undefined && !DECIMAL_TEXT.test(m[3]))) {
    throw new DbError('INVALID_CURSOR', 'cursor is not one this API issued', { cursor });
  }
  const position: BarsPosition = { timestamp: new Date(Number(m[2])) };
  if (m[1] !== undefined) position.symbol = m[1];
  if (m[3] !== undefined) {
    position.previous = {
      close: m[3],
      dataSource: m[4] === 't' ? 'trades' : 'mbp-1',
      isLegacy: m[5] === '1',
    };
  }
  return position;
}
