import type { BarInput } from '@timed/schema';
import type { BarSource } from './bar-aggregator.js';
import { unitsToDecimal } from './fixed-point.js';

/**
 * The bars of one minute, columnar (prices in 1e-9 units, or bid+ask sums in mbp-1 mode):
 * cheap to produce on the hot path; `toBarInputs()` formats them for `upsertBars`.
 */
export class ClosedBars {
  readonly symbol: string[];
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  readonly count: Float64Array;

  constructor(
    /** Epoch minute of the bars' open time. */
    readonly minute: number,
    readonly source: BarSource,
    readonly length: number,
  ) {
    this.symbol = new Array<string>(length);
    // One allocation for the six columns (a minute of the whole market is ~8,000 bars).
    const buffer = new ArrayBuffer(length * 48);
    this.open = new Float64Array(buffer, 0, length);
    this.high = new Float64Array(buffer, length * 8, length);
    this.low = new Float64Array(buffer, length * 16, length);
    this.close = new Float64Array(buffer, length * 24, length);
    this.volume = new Float64Array(buffer, length * 32, length);
    this.count = new Float64Array(buffer, length * 40, length);
  }

  /** The bars as `upsertBars` takes them: exact decimal prices, is_legacy false, data_source. */
  toBarInputs(): BarInput[] {
    const n = this.length;
    const bars = new Array<BarInput>(n);
    const timestamp = new Date(this.minute * 60_000);
    const divisor = this.source === 'mbp-1' ? 2 : 1;
    for (let i = 0; i < n; i++) {
      const o = this.open[i]!;
      const h = this.high[i]!;
      const l = this.low[i]!;
      const c = this.close[i]!;
      // Many bars repeat a price (single-trade bars are all one): format each value once.
      const open = unitsToDecimal(o, divisor);
      const high = h === o ? open : unitsToDecimal(h, divisor);
      const low = l === o ? open : l === h ? high : unitsToDecimal(l, divisor);
      const close = c === o ? open : c === h ? high : c === l ? low : unitsToDecimal(c, divisor);
      bars[i] = {
        symbol: this.symbol[i]!,
        timestamp,
        open,
        high,
        low,
        close,
        volume: this.volume[i]!,
        trade_count: this.count[i]!,
        is_legacy: false,
        data_source: this.source,
      };
    }
    return bars;
  }
}
