import type { BarInput } from '@timed/schema';
import type { BarSource } from './bar-aggregator.js';
import { unitsToDecimal } from './fixed-point.js';
import { Row } from './trade-scan.js';

/**
 * The bars of one minute (prices in 1e-9 units, or bid+ask sums in mbp-1 mode), as the
 * aggregator's own rows: closing a minute copies its row block in one go (or gathers the rows of
 * a sparse minute) instead of scattering each bar into columns; bar k is row `at[k]`.
 * `toBarInputs()` formats them for `upsertBars`.
 */
export class ClosedBars {
  constructor(
    /** Epoch minute of the bars' open time. */
    readonly minute: number,
    readonly source: BarSource,
    readonly length: number,
    /** Rows of Row.Size doubles (trade-scan.ts's Row layout); owned by this object. */
    private readonly rows: Float64Array,
    /** Row of bar k. */
    private readonly at: Int32Array,
    /** Symbol of bar k: `symbols[symbolAt[k]]` (the aggregator's slot table, never mutated). */
    private readonly symbolAt: Int32Array,
    private readonly symbols: readonly (string | null)[],
  ) {}

  symbol(k: number): string {
    return this.symbols[this.symbolAt[k]!]!;
  }
  open(k: number): number {
    return this.rows[this.at[k]! * Row.Size + Row.Open]!;
  }
  high(k: number): number {
    return this.rows[this.at[k]! * Row.Size + Row.High]!;
  }
  low(k: number): number {
    return this.rows[this.at[k]! * Row.Size + Row.Low]!;
  }
  close(k: number): number {
    return this.rows[this.at[k]! * Row.Size + Row.Close]!;
  }
  volume(k: number): number {
    return this.rows[this.at[k]! * Row.Size + Row.Volume]!;
  }
  count(k: number): number {
    return this.rows[this.at[k]! * Row.Size + Row.Count]!;
  }

  /** The bars as `upsertBars` takes them: exact decimal prices, is_legacy false, data_source. */
  toBarInputs(): BarInput[] {
    const n = this.length;
    const bars = new Array<BarInput>(n);
    const timestamp = new Date(this.minute * 60_000);
    const divisor = this.source === 'mbp-1' ? 2 : 1;
    const rows = this.rows;
    for (let i = 0; i < n; i++) {
      const r = this.at[i]! * Row.Size;
      const o = rows[r + Row.Open]!;
      const h = rows[r + Row.High]!;
      const l = rows[r + Row.Low]!;
      const c = rows[r + Row.Close]!;
      // Many bars repeat a price (single-trade bars are all one): format each value once.
      const open = unitsToDecimal(o, divisor);
      const high = h === o ? open : unitsToDecimal(h, divisor);
      const low = l === o ? open : l === h ? high : unitsToDecimal(l, divisor);
      const close = c === o ? open : c === h ? high : c === l ? low : unitsToDecimal(c, divisor);
      bars[i] = {
        symbol: this.symbols[this.symbolAt[i]!]!,
        timestamp,
        open,
        high,
        low,
        close,
        volume: rows[r + Row.Volume]!,
        trade_count: rows[r + Row.Count]!,
        is_legacy: false,
        data_source: this.source,
      };
    }
    return bars;
  }
}
