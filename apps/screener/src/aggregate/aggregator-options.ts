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
}
