import type { BarInput } from '@timed/schema';
import type { BarSource } from './bar-source.js';
import { unitsToDecimal } from './decimal-units.js';
import { Row } from './scan/layout.js';

/**
 * The bars of one minute (prices in 1e-9 units, or bid+ask sums in mbp-1 mode), read in place
 * from the aggregator's rows: nothing is copied when a minute closes. Valid only while `onBars`
 * runs (like dbn's RecordCursor): call `toBarInputs()` there, or copy what you need; a read
 * after `onBars` returned throws.
 */
export class ClosedBars {
  private live = true;

  constructor(
    /** Epoch minute of the bars' open time. */
    readonly minute: number,
    readonly source: BarSource,
    readonly length: number,
    /** The aggregator's rows of Row.Size doubles (layout.ts's Row). */
    private readonly rows: Float64Array,
    /** Slot (row and symbol index) of bar k. */
    private readonly slots: Int32Array,
    /** Symbol of each slot. */
    private readonly symbols: readonly (string | null)[],
    /** True for a provisional snapshot of the still open minute. */
    readonly provisional = false,
  ) {}

  /** Called by the aggregator when onBars returns: later reads throw. */
  expire(): void {
    this.live = false;
  }

  private check(): void {
    if (!this.live) {
      throw new Error(
        `ClosedBars of minute ${this.minute} read after onBars returned: call toBarInputs() (or copy the values) inside onBars`,
      );
    }
  }

  /**
   * The bars as `upsertBars` takes them: exact decimal prices, is_legacy false, data_source, and
   * vwap (a number; null without volume).
   */
  toBarInputs(): BarInput[] {
    this.check();
    const n = this.length;
    const bars = new Array<BarInput>(n);
    const timestamp = new Date(this.minute * 60_000);
    const divisor = this.source === 'mbp-1' ? 2 : 1;
    const rows = this.rows;
    for (let i = 0; i < n; i++) {
      const slot = this.slots[i]!;
      const r = slot * Row.Size;
      const o = rows[r + Row.Open]!;
      const h = rows[r + Row.High]!;
      const l = rows[r + Row.Low]!;
      const c = rows[r + Row.Close]!;
      // Many bars repeat a price (single-trade bars are all one): format each value once.
      const open = unitsToDecimal(o, divisor);
      const high = h === o ? open : unitsToDecimal(h, divisor);
      const low = l === o ? open : l === h ? high : unitsToDecimal(l, divisor);
      const close = c === o ? open : c === h ? high : c === l ? low : unitsToDecimal(c, divisor);
      const volume = rows[r + Row.Volume]!;
      bars[i] = {
        symbol: this.symbols[slot]!,
        timestamp,
        open,
        high,
        low,
        close,
        volume,
        trade_count: rows[r + Row.Count]!,
        is_legacy: false,
        data_source: this.source,
        // Σ(price × size) / Σ size in dollars; none without volume (mbp-1 mids have size 0).
        // Clamped to [low, high] in units first: a sum past 2^53 rounds, and a VWAP one ulp
        // outside the bar's range would make the upsert refuse the whole batch.
        vwap:
          volume > 0 ? Math.min(Math.max(rows[r + Row.PriceVolume]! / volume, l), h) / 1e9 : null,
      };
    }
    return bars;
  }
}
