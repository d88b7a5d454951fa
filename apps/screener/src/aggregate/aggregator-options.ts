import type { BarSource } from './bar-source.js';
import type { ClosedBars } from './closed-bars.js';

/** Counters of what the aggregator saw and did. */
export interface AggregatorStats {
  /** Records of the source schema (trades or mbp-1) handed in. */
  records: number;
  /** Records aggregated into a bar. */
  aggregated: number;
  /** Trades whose price was undefined (UNDEF_PRICE). */
  undefinedPrice: number;
  /** mbp-1 quotes skipped because a side was undefined. */
  undefinedSide: number;
  /** mbp-1 quotes skipped because the spread exceeded 2% of mid. */
  wideSpread: number;
  /** Records whose instrument id had no symbol (or a symbol price_bars refuses). */
  unmapped: number;
  /** Records older than the open minute (their minute was already closed); dropped. */
  late: number;
  /** Records before the resume point after a resync (already written); dropped. */
  replayOverlap: number;
  /** Bars handed to onBars (a re-emitted bar counts again). */
  barsEmitted: number;
}

/**
 * Receives every record aggregated by the JavaScript path (live state, apps/screener's
 * live-state/): called on the hot path, so it must not allocate. `price` is in 1e-9 units (mbp-1:
 * bid + ask, twice the mid), `bid`/`ask` likewise (trades: both the price), `tsRecvMs` the
 * record's ts_recv in ms (fractional). Records the WebAssembly scan takes never reach it.
 */
export interface LiveTap {
  record(
    slot: number,
    symbol: string,
    price: number,
    size: number,
    bid: number,
    ask: number,
    tsRecvMs: number,
  ): void;
}

/** Where BarAggregator.openBarInto writes a slot's bar of the open minute (dollars). */
export interface OpenBarTarget {
  barTimestamp: number | null;
  barOpen: number;
  barHigh: number;
  barLow: number;
  barClose: number;
  barVolume: number;
  barTradeCount: number;
  barVwap: number | null;
}

/** Options of BarAggregator. */
export interface BarAggregatorOptions {
  source: BarSource;
  /** Symbol of an instrument id for the bar of `minute` (epoch minute); undefined when unknown. */
  symbolOf: (instrumentId: number, minute: number) => string | undefined;
  /**
   * Receives the bars of a minute when it closes (or a provisional snapshot of it). They are read
   * in place: valid only during the call (format or copy them there).
   */
  onBars: (bars: ClosedBars) => void;
  /** Receives symbols refused once each (unmapped ids, invalid symbols). */
  onUnmapped?: (instrumentId: number, symbol: string | undefined) => void;
  /**
   * Run trades batches (`handleBatch`) through the WebAssembly scan: the fast path of batch
   * replay, which needs WebAssembly (absent under `node --jitless`: the constructor throws).
   * Default false: the state lives in plain arrays and batches take the general path.
   */
  scan?: boolean;
  /** Wall clock in ms (tests drive it). */
  now?: () => number;
  /** Told about each aggregated record (live state); not with `scan`. */
  live?: LiveTap;
  /** Told each time the open minute closes (after its final bars went to onBars, if any). */
  onMinuteClosed?: (minute: number) => void;
}
