/**
 * The layout the aggregator's general path (JavaScript) and the WebAssembly scan
 * (trade-scan.wat) share: a header of scalars at byte 0, then rows, the id index, symbol stamps
 * and the touched list wherever the row memory puts them. trade-scan.wat reads these offsets as
 * literals, each marked `;; header.<name>`, `;; row.<name>` or `;; trade.<name>`; layout.test.ts
 * checks every marked literal against this file and @timed/dbn's TradeLayout.
 *
 * The OHLCV rule both paths apply to a row, for a record of the open minute with price `p`, size
 * `s` and stamp `t` (stampBase + ns offset into the minute):
 * - the row has no bar this minute (last < stampBase): open = high = low = close = p,
 *   first = last = t, volume = s, count = 1, priceVolume = p × s, and its slot joins `touched`;
 * - else: high = max(high, p), low = min(low, p); if t >= last then close = p, last = t (ties go
 *   to the later arrival), else if t < first then open = p, first = t; volume += s, count += 1,
 *   priceVolume += p × s.
 * trade-scanner.test.ts pins the two implementations to each other on many random sessions.
 */

/** Fields of a row (an instrument's open-minute bar): Row.Size doubles, ROW_BYTES apart. */
export enum Row {
  /** Prices are integer 1e-9 units (exact below 2^53), or bid+ask sums in mbp-1 mode. */
  Open = 0,
  High = 1,
  Low = 2,
  Close = 3,
  /**
   * Stamps of the open and close records. A row whose Last is below the header's stampBase has
   * no bar in the open minute: opening a minute raises the stamp base instead of clearing rows.
   */
  First = 4,
  Last = 5,
  Volume = 6,
  Count = 7,
  /** Σ price × size (1e-9 units × shares, as a double): VWAP = PriceVolume / Volume. */
  PriceVolume = 8,
  Size = 9,
}

/** Bytes from one row to the next. */
export const ROW_BYTES = Row.Size * 8;

/** Stamp distance between consecutive minutes: above any ns offset into a minute (6e10). */
export const STAMP_STEP = 2 ** 36;
/** Stamps stay exact doubles: at this base the rows are cleared and stamps start over. */
export const STAMP_LIMIT = 2 ** 52;

/** Instrument ids below this index `slotById` directly (others: a Map, general path). */
export const DIRECT_IDS = 1 << 22;

/** Byte offset of each header field (8-byte aligned where the scan loads 64 bits). */
export enum HeaderAt {
  /** f64: the stream clock's ns offset into the open minute. */
  streamOffsetNs = 0,
  /** f64: the open minute's stamp base, a multiple of STAMP_STEP raised by it every minute. */
  stampBase = 8,
  /** i32: entries of `touched` in use (bars in the open minute). */
  touchedCount = 16,
  /** i32: UTC day of the open minute; a slot's cached symbol must be of this day. */
  day = 20,
  /** i32: symbol-mapping version (SymbolMappingMsgs seen); a cached symbol must match it. */
  mappingVersion = 24,
  /** i32 counters the scan adds to; the aggregator moves them into its stats. */
  records = 28,
  aggregated = 32,
  undefinedPrices = 36,
  /** u64: the open minute's start in ns (read by the scan as one i64). */
  minuteStart = 40,
  /** i32: 1 while `minuteStart` holds the open minute; 0 and every trade stops the scan. */
  minuteOpen = 48,
}

/** Bytes of the header. */
export const HEADER_BYTES = 64;

const TWO32 = 4294967296;

/** Named access to the header's scalars (views are re-bound when the memory moves). */
export class ScanHeader {
  private f64!: Float64Array;
  private i32!: Int32Array;

  constructor(buffer: ArrayBufferLike) {
    this.bind(buffer);
  }

  /** Points the views at the header at byte 0 of `buffer` (after the memory grew). */
  bind(buffer: ArrayBufferLike): void {
    this.f64 = new Float64Array(buffer, 0, HEADER_BYTES / 8);
    this.i32 = new Int32Array(buffer, 0, HEADER_BYTES / 4);
  }

  get streamOffsetNs(): number {
    return this.f64[HeaderAt.streamOffsetNs / 8]!;
  }
  set streamOffsetNs(v: number) {
    this.f64[HeaderAt.streamOffsetNs / 8] = v;
  }
  get stampBase(): number {
    return this.f64[HeaderAt.stampBase / 8]!;
  }
  set stampBase(v: number) {
    this.f64[HeaderAt.stampBase / 8] = v;
  }
  get touchedCount(): number {
    return this.i32[HeaderAt.touchedCount / 4]!;
  }
  set touchedCount(v: number) {
    this.i32[HeaderAt.touchedCount / 4] = v;
  }
  get day(): number {
    return this.i32[HeaderAt.day / 4]!;
  }
  set day(v: number) {
    this.i32[HeaderAt.day / 4] = v;
  }
  get mappingVersion(): number {
    return this.i32[HeaderAt.mappingVersion / 4]!;
  }
  set mappingVersion(v: number) {
    this.i32[HeaderAt.mappingVersion / 4] = v;
  }

  /** Counters the scan added to since clearCounts(). */
  get records(): number {
    return this.i32[HeaderAt.records / 4]!;
  }
  get aggregated(): number {
    return this.i32[HeaderAt.aggregated / 4]!;
  }
  get undefinedPrices(): number {
    return this.i32[HeaderAt.undefinedPrices / 4]!;
  }
  clearCounts(): void {
    this.i32[HeaderAt.records / 4] = 0;
    this.i32[HeaderAt.aggregated / 4] = 0;
    this.i32[HeaderAt.undefinedPrices / 4] = 0;
  }

  /** The open minute's start (ns, an exact double below 2^64), or undefined when none is open. */
  get minuteStartNs(): number | undefined {
    const i = this.i32;
    if (i[HeaderAt.minuteOpen / 4] === 0) return undefined;
    const lo = i[HeaderAt.minuteStart / 4]! >>> 0;
    return (i[HeaderAt.minuteStart / 4 + 1]! >>> 0) * TWO32 + lo;
  }
  /** Sets the open minute's start (a multiple of 2^11 ns below 2^64), or none (undefined). */
  set minuteStartNs(startNs: number | undefined) {
    const i = this.i32;
    const hi = startNs === undefined ? 0 : Math.floor(startNs / TWO32);
    i[HeaderAt.minuteOpen / 4] = startNs === undefined ? 0 : 1;
    i[HeaderAt.minuteStart / 4 + 1] = hi | 0;
    i[HeaderAt.minuteStart / 4] = startNs === undefined ? 0 : (startNs - hi * TWO32) | 0;
  }
}

/** The state the general path and the scan share: views of a RowMemory, renewed as it grows. */
export interface ScanState {
  header: ScanHeader;
  /** Rows of Row.Size doubles; slot 0 is a never-used row that unseen ids map to. */
  row: Float64Array;
  /** Slot of an instrument id below DIRECT_IDS (0: none yet). */
  slotById: Int32Array;
  /** Day and mapping version each slot's symbol was resolved for. */
  symDay: Int32Array;
  symVersion: Int32Array;
  /** Slots with a bar in the open minute, in first-trade order. */
  touched: Int32Array;
}
