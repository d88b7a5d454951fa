// The trades hot loop of BarAggregator. It handles only the common case (a trade in the open
// minute of an instrument whose symbol is already resolved for the day) and stops at the first
// record it cannot handle, which the aggregator then takes through its general path. Without
// calls in the loop V8 keeps its state unboxed in registers (with them it boxed the doubles).
// Numbers are enum members so that esbuild inlines them (V8 loads and type-checks a module-level
// const on every use).

/** Row of an instrument's open-minute state in `ScanState.row` (8 doubles, 64 bytes). */
export enum Row {
  /** Prices are integer 1e-9 units (exact below 2^53). */
  Open = 0,
  High = 1,
  Low = 2,
  Close = 3,
  /**
   * Stamps (ScanFloat.Stamp + ns offset into the minute) of the open and close trades. A row
   * whose Last is below the open minute's ScanFloat.Stamp has no bar in it: opening a minute
   * raises the stamp instead of clearing every row.
   */
  First = 4,
  Last = 5,
  Volume = 6,
  Count = 7,
  Size = 8,
}

/** Float scalars in `ScanState.f`. */
export enum ScanFloat {
  /** Stream clock: ns offset into the open minute. */
  ClockOff = 0,
  /** The open minute's start as u64 words; BaseHi is NO_BASE when no minute is open. */
  BaseHi = 1,
  BaseLo = 2,
  /** The open minute's stamp base: a multiple of STAMP_STEP, raised by it with every minute. */
  Stamp = 3,
}

/** Integer scalars in `ScanState.i`. */
export enum ScanInt {
  TouchedLen = 0,
  /** UTC day of the open minute and the symbol-mapping version a cached symbol must match. */
  Day = 1,
  Version = 2,
  /** Counted by the scan since the aggregator last collected them. */
  Records = 3,
  Aggregated = 4,
  UndefinedPrice = 5,
}

/** Stamp distance between consecutive minutes: above any ns offset into a minute (6e10). */
export const STAMP_STEP = 2 ** 36;
/** Stamps stay exact doubles: at this base the rows are cleared and stamps start over. */
export const STAMP_LIMIT = 2 ** 52;

/** Minute-start high word while no minute is open: every record falls outside it. */
export const NO_BASE = -1e12;

enum K {
  Two32 = 4294967296,
  MinuteNs = 60_000_000_000,
  DirectIds = 4194304,
  RTypeTrade = 0x00,
  RTypeSymbolMapping = 0x16,
  RTypeSystem = 0x17,
}

/** The aggregator's state the scan reads and updates (arrays are replaced when they grow). */
export interface ScanState {
  row: Float64Array;
  /** Slot of an instrument id below 2^22 (0: none yet). */
  slotById: Int32Array;
  /** Day and mapping version each slot's symbol was resolved for. */
  symDay: Int32Array;
  symVersion: Int32Array;
  /** Slots with a bar in the open minute, in first-trade order. */
  touched: Int32Array;
  f: Float64Array;
  i: Int32Array;
}

/**
 * Aggregates the TradeMsgs of `w` (a batch as little-endian u32 words) from word `from` on,
 * skipping symbol mappings (counted into ScanInt.Version) and other record types; returns the word
 * index of the first record it cannot handle (a system message, a trade outside the open
 * minute, a trade starting the bar of an instrument without a symbol resolved for the day, or a
 * full touched list), or `w.length`.
 */
export function scanTrades(w: Uint32Array, from: number, st: ScanState): number {
  const n = w.length;
  const row = st.row;
  const slotById = st.slotById;
  const symDay = st.symDay;
  const symVersion = st.symVersion;
  const touched = st.touched;
  const fs = st.f;
  const is = st.i;
  const baseHi = fs[ScanFloat.BaseHi]!;
  const baseLo = fs[ScanFloat.BaseLo]!;
  const stamp0 = fs[ScanFloat.Stamp]!;
  let clockOff = fs[ScanFloat.ClockOff]!;
  let touchedLen = is[ScanInt.TouchedLen]!;
  const day = is[ScanInt.Day]!;
  let version = is[ScanInt.Version]!;
  let records = 0;
  let aggregated = 0;
  let undefinedPrice = 0;
  // `| 0` keeps the index an untagged int32 (`from` arrives tagged).
  let k = from | 0;
  while (k < n) {
    const head = w[k]!;
    // Word 0: length in words, rtype, publisher_id.
    const next = k + (head & 0xff);
    const rtype = (head >>> 8) & 0xff;
    if (rtype !== K.RTypeTrade) {
      if (rtype === K.RTypeSystem) break;
      if (rtype === K.RTypeSymbolMapping) version++;
      k = next;
      continue;
    }
    // TradeMsg words: 1 instrument_id, 4-5 price, 6 size, 8-9 ts_recv.
    // Exact whenever it lands in [0, 60 s): the u64 difference is then small.
    const off = (w[k + 9]! - baseHi) * K.Two32 + (w[k + 8]! - baseLo);
    if (!(off >= 0 && off < K.MinuteNs)) break;
    const plo = w[k + 4]!;
    const phi = w[k + 5]! | 0;
    if (phi === 0x7fffffff && plo === 0xffffffff) {
      undefinedPrice++;
    } else {
      const price = phi * K.Two32 + plo;
      const id = w[k + 1]!;
      const slot = id < K.DirectIds ? slotById[id]! : 0;
      // Rows are 8 doubles: r | field is r + field without an overflow check.
      const r = slot << 3;
      const last = row[r | Row.Last]!;
      const stamp = stamp0 + off;
      if (last >= stamp0) {
        // Branch-free max/min (new extremes are too frequent to predict): h + (price - h) is
        // exactly price for integer units below 2^52 in magnitude (or 2^53 with one sign).
        const h = row[r | Row.High]!;
        const l = row[r | Row.Low]!;
        row[r | Row.High] = h + (price - h) * Number(price > h);
        row[r | Row.Low] = l + (price - l) * Number(price < l);
        if (stamp >= last) {
          row[r | Row.Close] = price;
          row[r | Row.Last] = stamp;
        } else if (stamp < row[r | Row.First]!) {
          row[r | Row.Open] = price;
          row[r | Row.First] = stamp;
        }
        row[r | Row.Volume]! += w[k + 6]!;
        row[r | Row.Count]! += 1;
      } else {
        // The instrument's first trade this minute (slot 0: an id not seen yet).
        if (symDay[slot] !== day || symVersion[slot] !== version) break;
        if (touchedLen === touched.length) break;
        row[r | Row.Open] = price;
        row[r | Row.High] = price;
        row[r | Row.Low] = price;
        row[r | Row.Close] = price;
        row[r | Row.First] = stamp;
        row[r | Row.Last] = stamp;
        row[r | Row.Volume] = w[k + 6]!;
        row[r | Row.Count] = 1;
        touched[touchedLen++] = slot;
      }
      aggregated++;
    }
    records++;
    if (off > clockOff) clockOff = off;
    k = next;
  }
  fs[ScanFloat.ClockOff] = clockOff;
  is[ScanInt.TouchedLen] = touchedLen;
  is[ScanInt.Version] = version;
  is[ScanInt.Records]! += records;
  is[ScanInt.Aggregated]! += aggregated;
  is[ScanInt.UndefinedPrice]! += undefinedPrice;
  return k;
}
