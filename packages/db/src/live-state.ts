/**
 * Live state of a symbol as the screener publishes it and the API serves it, and its wire form
 * (a JSON array per symbol) shared by NOTIFY payloads and the live_state table (migration 0008).
 */

/** The NOTIFY channel live state and closed-minute doorbells travel on. */
export const LIVE_CHANNEL = 'timed_live';
/** Postgres refuses NOTIFY payloads of 8,000 bytes or more; stay a little under. */
export const MAX_PAYLOAD_BYTES = 7_900;
/** The feed name used when a publisher is not given one. */
export const DEFAULT_FEED = 'default';

/**
 * One symbol's live figures for the current session day (America/New_York, from 04:00). Prices in
 * dollars, times in epoch ms. Plain numbers so the screener can fill reused objects from its own
 * arrays.
 */
export interface LiveSymbolState {
  symbol: string;
  /** Session day (`YYYY-MM-DD`) the day figures belong to (sessionDayOf). */
  sessionDay: string;
  price: number;
  /** Top of book in mbp-1 mode; = price in trades mode (the seed's broadcast_price). */
  bid: number;
  ask: number;
  lastSize: number;
  /** ts_recv of the last trade, epoch ms. */
  lastTs: number;
  dayOpen: number;
  dayHigh: number;
  dayLow: number;
  volume: number;
  tradeCount: number;
  /** Day VWAP; null when unknown (mbp-1: no sizes). */
  vwap: number | null;
  /** Close of the previous trading day's last regular-session bar (previousCloses); null = none. */
  prevClose: number | null;
  /** Open time (epoch ms) of the open minute's provisional bar; null = no bar this minute. */
  barTimestamp: number | null;
  barOpen: number;
  barHigh: number;
  barLow: number;
  barClose: number;
  barVolume: number;
  barTradeCount: number;
  barVwap: number | null;
}

/** A published state with its version (newer versions replace older ones, whatever the order). */
export interface LiveStateRow extends LiveSymbolState {
  version: number;
}

/** (price − prev_close) / prev_close × 100, or null without a previous close. */
export function pctFromYesterday(price: number, prevClose: number | null): number | null {
  if (prevClose === null || !(prevClose > 0)) return null;
  return ((price - prevClose) / prevClose) * 100;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const nullable = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

/**
 * The wire form of a row: a JSON array in a fixed order (see decodeRow). The reference: the
 * publisher writes the same bytes without JSON.stringify (LiveRowStore, live-rows.ts).
 */
export function encodeRow(s: LiveSymbolState, version: number): string {
  return JSON.stringify([
    s.symbol,
    version,
    s.sessionDay,
    s.price,
    s.bid,
    s.ask,
    s.lastSize,
    s.lastTs,
    s.dayOpen,
    s.dayHigh,
    s.dayLow,
    s.volume,
    s.tradeCount,
    s.vwap,
    s.prevClose,
    s.barTimestamp,
    s.barOpen,
    s.barHigh,
    s.barLow,
    s.barClose,
    s.barVolume,
    s.barTradeCount,
    s.barVwap,
  ]);
}

/** Reads a row encoded by encodeRow (already JSON-parsed). */
export function decodeRow(a: unknown[]): LiveStateRow {
  return {
    symbol: String(a[0]),
    version: num(a[1]),
    sessionDay: String(a[2]),
    price: num(a[3]),
    bid: num(a[4]),
    ask: num(a[5]),
    lastSize: num(a[6]),
    lastTs: num(a[7]),
    dayOpen: num(a[8]),
    dayHigh: num(a[9]),
    dayLow: num(a[10]),
    volume: num(a[11]),
    tradeCount: num(a[12]),
    vwap: nullable(a[13]),
    prevClose: nullable(a[14]),
    barTimestamp: nullable(a[15]),
    barOpen: num(a[16]),
    barHigh: num(a[17]),
    barLow: num(a[18]),
    barClose: num(a[19]),
    barVolume: num(a[20]),
    barTradeCount: num(a[21]),
    barVwap: nullable(a[22]),
  };
}

/** A message on LIVE_CHANNEL: changed states, or "the bars of minute `m` are all written". */
export type LiveMessage =
  | { kind: 'states'; rows: LiveStateRow[] }
  | { kind: 'closed'; feed: string; closedThrough: number };

/** Payload of a states message from encoded rows (the reference for packPayloads). */
export function statesPayload(rows: readonly string[]): string {
  return `{"k":"s","r":[${rows.join(',')}]}`;
}

/** Payload of a closed-minute doorbell. */
export function closedPayload(feed: string, minuteMs: number): string {
  return JSON.stringify({ k: 'c', f: feed, m: minuteMs });
}

/** Parses a LIVE_CHANNEL payload; undefined for anything it does not know (ignored by listeners). */
export function parsePayload(payload: string): LiveMessage | undefined {
  let v: { k?: unknown; r?: unknown; f?: unknown; m?: unknown };
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (v?.k === 's' && Array.isArray(v.r)) {
    return { kind: 'states', rows: v.r.filter(Array.isArray).map((a) => decodeRow(a)) };
  }
  if (v?.k === 'c' && typeof v.m === 'number') {
    return { kind: 'closed', feed: String(v.f ?? DEFAULT_FEED), closedThrough: v.m };
  }
  return undefined;
}
