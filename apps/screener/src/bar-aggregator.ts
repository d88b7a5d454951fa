import type { DbnRecord, RecordBatch, RecordCursor } from '@timed/dbn';
import { barProblem } from '@timed/schema';
import { ClosedBars } from './closed-bars.js';
import { MINUTE_NS, MinuteSplitter, minuteStartNs } from './fixed-point.js';
import {
  DIRECT_IDS,
  Row,
  SCAN_PIECE,
  ScanFloat,
  ScanInt,
  type ScanState,
  STAMP_LIMIT,
  STAMP_STEP,
  TradeScanner,
} from './trade-scan.js';

export { ClosedBars };

/** Which records make the bars: trade prints, or quote mids (legacy/rollback mode). */
export type BarSource = 'trades' | 'mbp-1';

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
  /** Wall clock in ms (tests drive it). */
  now?: () => number;
}

const RTYPE_TRADE = 0x00;
const RTYPE_MBP1 = 0x01;
const RTYPE_SYMBOL_MAPPING = 0x16;
const RTYPE_SYSTEM = 0x17;
const SYSTEM_HEARTBEAT = 0;
const SYSTEM_END_OF_INTERVAL = 4;
const NO_MINUTE = -1;
const UNDEF_HI = 0x7fffffff;
const UNDEF_LO = 0xffffffff;
const TWO32 = 4294967296;
const UNDEF_PRICE_BIG = 9223372036854775807n;
/** Typed arrays use the host's byte order; DBN is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Builds 1-minute OHLCV bars from DBN records. A record belongs to minute floor(ts_recv / 60 s)
 * (Databento's own ohlcv-1m rule); within a minute open/close are the first/last price by ts_recv
 * (ties in arrival order), high/low the extremes, volume the sum of sizes, trade_count the number
 * of records. Exactly one minute is open at a time: it closes when the stream clock (a later
 * record, a heartbeat or an end-of-interval message) passes its end. `tick()` may emit a
 * provisional snapshot of the open minute once wall time passes its end plus a grace; the minute
 * stays open and is emitted again (only if it changed) when the stream confirms it.
 * The hot path is allocation-free: per-instrument state lives in typed arrays (a row of 8
 * doubles per instrument) over the memory of a WebAssembly scan (trade-scan.ts); trades
 * batches go through that scan, which stops at anything but the common case and hands that
 * record to the general path here.
 */
export class BarAggregator {
  readonly stats: AggregatorStats = {
    records: 0,
    aggregated: 0,
    undefinedPrice: 0,
    undefinedSide: 0,
    wideSpread: 0,
    unmapped: 0,
    late: 0,
    replayOverlap: 0,
    barsEmitted: 0,
  };
  private readonly source: BarSource;
  private readonly symbolOf: BarAggregatorOptions['symbolOf'];
  private readonly onBars: BarAggregatorOptions['onBars'];
  private readonly onUnmapped: BarAggregatorOptions['onUnmapped'];
  private readonly now: () => number;
  private readonly ts = new MinuteSplitter();
  private readonly clockTs = new MinuteSplitter();

  /** The open minute (NO_MINUTE before the first record). */
  private minute = NO_MINUTE;
  /** Records in minutes below this are dropped (set by resync). */
  private dropBefore = NO_MINUTE;
  /** Stream clock: the latest (minute, ns offset) seen; always the open minute once set. */
  private clockMinute = 0;
  /** Stream clock at the last tick() that saw it move, and the wall time of that tick. */
  private tickClockMs = 0;
  private clockWallMs = 0;
  private snapshotted = false;
  private changedSinceSnapshot = false;

  private readonly scanner = new TradeScanner(1024, 1024);
  /**
   * Per-slot state (views of the scanner's memory, shared with its scan): rows, symbol cache
   * stamps, the touched list, and scalars (clock offset ScanFloat.ClockOff, open minute's start
   * ScanInt.BaseWordLo/Hi and ScanInt.MinuteOpen, touched count, mapping version ScanInt.Version, bumped on every
   * SymbolMappingMsg). Slot 0 is a never-used row: unseen ids map to it. The views are replaced
   * when the memory grows: read them from `st` after anything that may allocate a slot.
   */
  private readonly st: ScanState = this.scanner.st;
  private readonly slotByBigId = new Map<number, number>();
  private slots = 1;
  private readonly symbol: (string | null)[] = [];
  private readonly refused = new Set<number>();

  constructor(options: BarAggregatorOptions) {
    this.source = options.source;
    this.symbolOf = options.symbolOf;
    this.onBars = options.onBars;
    this.onUnmapped = options.onUnmapped;
    this.now = options.now ?? Date.now;
    this.st.i[ScanInt.Day] = -1;
  }

  /** The open minute's epoch minute, or undefined before the first record. */
  get openMinute(): number | undefined {
    return this.minute === NO_MINUTE ? undefined : this.minute;
  }

  /** Stream clock (ms) of the last record or heartbeat seen; 0 before any. */
  get streamClockMs(): number {
    if (this.clockMinute === 0) return 0;
    return this.clockMinute * 60_000 + Math.floor(this.st.f[ScanFloat.ClockOff]! / 1e6);
  }

  /**
   * The oldest minute whose bars are not known complete: where a reconnect must replay from so
   * nothing is missed or counted twice. Undefined before any record.
   */
  get resumeMinute(): number | undefined {
    if (this.minute !== NO_MINUTE) return this.minute;
    return this.dropBefore === NO_MINUTE ? undefined : this.dropBefore;
  }

  /** Handles one DBN record (the visitor of dbn's decoder). Other record types are ignored. */
  handle(c: RecordCursor): void {
    const rtype = c.rtype;
    if (rtype === RTYPE_TRADE) {
      if (this.source === 'trades') this.trade(c.view, c.offset);
    } else if (rtype === RTYPE_MBP1) {
      if (this.source === 'mbp-1') this.quote(c.view, c.offset);
    } else if (rtype === RTYPE_SYSTEM) {
      this.system(c);
    } else if (rtype === RTYPE_SYMBOL_MAPPING) {
      this.st.i[ScanInt.Version]! += 1;
    }
  }

  /** Handles a batch of records from dbn's batch decoder (the fastest path); same rules. */
  handleBatch(b: RecordBatch): void {
    // The scan's memory is little-endian (WebAssembly); so must the views the general path
    // shares with it be.
    if (this.source !== 'trades' || !LITTLE_ENDIAN) {
      this.recordsBatch(b.bytes, b.view, b.start, b.end);
      return;
    }
    this.tradesBatch(b);
  }

  /**
   * Trades: the batch is copied into the scan's memory a piece at a time (a piece small enough to
   * stay in cache between the copy and the scan); the scan takes the common case and the general
   * path (reading the batch itself) each record the scan stops at.
   */
  private tradesBatch(b: RecordBatch): void {
    const { bytes, view } = b;
    let o = b.start;
    while (o < b.end) {
      const len = Math.min(SCAN_PIECE, b.end - o);
      const at = this.scanner.copyIn(bytes, o, o + len);
      const end = at + len;
      let p = at;
      for (;;) {
        p = this.scanner.scan(p, end);
        this.collectScanCounts();
        if (p >= end) break;
        const q = o + (p - at);
        const size = bytes[q]! << 2;
        // Cut by the piece's end: the next piece starts with it.
        if (p + size > end) break;
        const rtype = bytes[q + 1]!;
        if (rtype === RTYPE_TRADE) this.trade(view, q);
        else if (rtype === RTYPE_SYSTEM) this.systemAt(bytes, view, q, size);
        p += size;
      }
      o += p - at;
    }
  }

  /** Moves the scan's counters into stats. */
  private collectScanCounts(): void {
    const is = this.st.i;
    const aggregated = is[ScanInt.Aggregated]!;
    this.stats.records += is[ScanInt.Records]!;
    this.stats.undefinedPrice += is[ScanInt.UndefinedPrice]!;
    if (aggregated > 0) {
      this.stats.aggregated += aggregated;
      this.changedSinceSnapshot = true;
    }
    is[ScanInt.Records] = 0;
    is[ScanInt.Aggregated] = 0;
    is[ScanInt.UndefinedPrice] = 0;
  }

  /** mbp-1 (rollback mode) batches, and trades on a big-endian host: the per-record path. */
  private recordsBatch(bytes: Uint8Array, view: DataView, start: number, end: number): void {
    const want = this.source === 'trades' ? RTYPE_TRADE : RTYPE_MBP1;
    for (let o = start; o < end; o += bytes[o]! << 2) {
      const rtype = bytes[o + 1]!;
      if (rtype === want) {
        if (want === RTYPE_TRADE) this.trade(view, o);
        else this.quote(view, o);
      } else if (rtype === RTYPE_SYSTEM) {
        this.systemAt(bytes, view, o, bytes[o]! << 2);
      } else if (rtype === RTYPE_SYMBOL_MAPPING) {
        this.st.i[ScanInt.Version]! += 1;
      }
    }
  }

  /** Handles one decoded record object (the live client's path); same rules as handle(). */
  handleRecord(r: DbnRecord): void {
    if (r.kind === 'TradeMsg') {
      if (this.source !== 'trades') return;
      this.stats.records++;
      if (!this.placeBig(r.ts_recv)) return;
      if (r.price === UNDEF_PRICE_BIG) {
        this.stats.undefinedPrice++;
        return;
      }
      this.add(r.instrument_id, Number(r.price), r.size);
    } else if (r.kind === 'Mbp1Msg') {
      if (this.source !== 'mbp-1') return;
      this.stats.records++;
      if (!this.placeBig(r.ts_recv)) return;
      const { bid_px, ask_px } = r.levels[0];
      if (bid_px === UNDEF_PRICE_BIG || ask_px === UNDEF_PRICE_BIG) {
        this.stats.undefinedSide++;
        return;
      }
      this.addQuote(r.instrument_id, Number(bid_px), Number(ask_px));
    } else if (r.kind === 'SymbolMappingMsg') {
      this.st.i[ScanInt.Version]! += 1;
    } else if (r.kind === 'SystemMsg') {
      const code = r.code !== undefined && r.code !== 255 ? r.code : textCode(r.msg);
      if (code !== SYSTEM_HEARTBEAT && code !== SYSTEM_END_OF_INTERVAL) return;
      this.clockTs.splitBig(r.ts_event);
      this.advance(this.clockTs.minute, this.clockTs.offset);
    }
  }

  private placeBig(ts: bigint): boolean {
    return this.place(Number(ts >> 32n), Number(ts & 0xffffffffn));
  }

  private trade(v: DataView, o: number): void {
    this.stats.records++;
    const hi = v.getUint32(o + 36, true);
    const lo = v.getUint32(o + 32, true);
    if (!this.place(hi, lo)) return;
    const plo = v.getUint32(o + 16, true);
    const phi = v.getInt32(o + 20, true);
    if (phi === UNDEF_HI && plo === UNDEF_LO) {
      this.stats.undefinedPrice++;
      return;
    }
    this.add(v.getUint32(o + 4, true), phi * TWO32 + plo, v.getUint32(o + 24, true));
  }

  private quote(v: DataView, o: number): void {
    this.stats.records++;
    const hi = v.getUint32(o + 36, true);
    const lo = v.getUint32(o + 32, true);
    if (!this.place(hi, lo)) return;
    const blo = v.getUint32(o + 48, true);
    const bhi = v.getInt32(o + 52, true);
    const alo = v.getUint32(o + 56, true);
    const ahi = v.getInt32(o + 60, true);
    if ((bhi === UNDEF_HI && blo === UNDEF_LO) || (ahi === UNDEF_HI && alo === UNDEF_LO)) {
      this.stats.undefinedSide++;
      return;
    }
    this.addQuote(v.getUint32(o + 4, true), bhi * TWO32 + blo, ahi * TWO32 + alo);
  }

  private addQuote(id: number, bid: number, ask: number): void {
    // The seed's rule, computed the same way: skip when (ask - bid) / mid > 2% (mid > 0).
    const bidPx = bid * 1e-9;
    const askPx = ask * 1e-9;
    const mid = (bidPx + askPx) * 0.5;
    if (mid > 0 && (askPx - bidPx) / mid > 0.02) {
      this.stats.wideSpread++;
      return;
    }
    // bid + ask is twice the mid in 1e-9 units: exact, halved when formatted.
    this.add(id, bid + ask, 0);
  }

  private system(c: RecordCursor): void {
    this.systemAt(c.bytes, c.view, c.offset, c.size);
  }

  private systemAt(bytes: Uint8Array, v: DataView, o: number, size: number): void {
    const code = systemCode(bytes, o, size);
    if (code !== SYSTEM_HEARTBEAT && code !== SYSTEM_END_OF_INTERVAL) return;
    this.clockTs.split(v.getUint32(o + 12, true), v.getUint32(o + 8, true));
    this.advance(this.clockTs.minute, this.clockTs.offset);
  }

  /** Places a record's ts_recv: advances the clock; false when the record must be dropped. */
  private place(hi: number, lo: number): boolean {
    if (hi === 0xffffffff && lo === 0xffffffff) return false;
    const ts = this.ts;
    ts.split(hi, lo);
    const m = ts.minute;
    if (m === this.minute) {
      if (ts.offset > this.st.f[ScanFloat.ClockOff]!) this.st.f[ScanFloat.ClockOff] = ts.offset;
      return true;
    }
    if (m < this.dropBefore) {
      this.stats.replayOverlap++;
      return false;
    }
    if (m < this.minute) {
      this.stats.late++;
      return false;
    }
    this.advance(m, ts.offset);
    return true;
  }

  private noteClock(minute: number, offset: number): void {
    const f = this.st.f;
    if (
      minute > this.clockMinute ||
      (minute === this.clockMinute && offset > f[ScanFloat.ClockOff]!)
    ) {
      this.clockMinute = minute;
      f[ScanFloat.ClockOff] = offset;
    }
  }

  /** Moves the stream clock to (minute, offset); closes the open minute if it is passed. */
  private advance(minute: number, offset: number): void {
    if (minute < this.dropBefore) return;
    this.noteClock(minute, offset);
    if (minute > this.minute) {
      if (this.minute !== NO_MINUTE) this.emit(false);
      this.minute = minute;
      this.resetMinute();
    }
  }

  /** Adds a record placed in the open minute (its offset in this.ts) to its instrument's bar. */
  private add(id: number, price: number, size: number): void {
    let slot = id < DIRECT_IDS ? this.st.slotById[id]! : (this.slotByBigId.get(id) ?? 0);
    const base = this.st.f[ScanFloat.Stamp]!;
    const stamp = base + this.ts.offset;
    const row = this.st.row;
    const r = slot * Row.Size;
    const last = row[r + Row.Last]!;
    if (last < base) {
      if (slot === 0) slot = this.newSlot(id);
      if (!this.resolve(slot, id)) return;
      this.startBar(slot, price, size, stamp);
    } else {
      if (price > row[r + Row.High]!) row[r + Row.High] = price;
      else if (price < row[r + Row.Low]!) row[r + Row.Low] = price;
      if (stamp >= last) {
        row[r + Row.Close] = price;
        row[r + Row.Last] = stamp;
      } else if (stamp < row[r + Row.First]!) {
        row[r + Row.Open] = price;
        row[r + Row.First] = stamp;
      }
      row[r + Row.Volume]! += size;
      row[r + Row.Count]! += 1;
    }
    this.stats.aggregated++;
    this.changedSinceSnapshot = true;
  }

  /**
   * Resolves a slot's symbol for the open minute when its cached one may be stale (symbols
   * change only with a new UTC date or a SymbolMappingMsg); false (counted and reported once)
   * when it has none or one price_bars refuses.
   */
  private resolve(slot: number, id: number): boolean {
    const { symDay, symVersion, i } = this.st;
    const day = i[ScanInt.Day]!;
    const version = i[ScanInt.Version]!;
    if (symDay[slot] === day && symVersion[slot] === version) return true;
    const sym = this.symbolOf(id, this.minute);
    if (sym === undefined || (sym !== this.symbol[slot] && !validSymbol(sym))) {
      this.stats.unmapped++;
      if (!this.refused.has(id)) {
        this.refused.add(id);
        this.onUnmapped?.(id, sym);
      }
      return false;
    }
    this.symbol[slot] = sym;
    symDay[slot] = day;
    symVersion[slot] = version;
    return true;
  }

  /** Starts a slot's bar of the open minute with its first record (stamped `stamp`). */
  private startBar(slot: number, price: number, size: number, stamp: number): void {
    const st = this.st;
    const row = st.row;
    const r = slot * Row.Size;
    row[r + Row.Open] = price;
    row[r + Row.High] = price;
    row[r + Row.Low] = price;
    row[r + Row.Close] = price;
    row[r + Row.First] = stamp;
    row[r + Row.Last] = stamp;
    row[r + Row.Volume] = size;
    row[r + Row.Count] = 1;
    const n = st.i[ScanInt.TouchedLen]!;
    if (n === st.touched.length) this.scanner.growTouched(n * 2);
    st.touched[n] = slot;
    st.i[ScanInt.TouchedLen] = n + 1;
  }

  private newSlot(id: number): number {
    if (this.slots === this.scanner.slots) this.scanner.grow(this.slots * 2);
    const slot = this.slots++;
    if (id < DIRECT_IDS) this.st.slotById[id] = slot;
    else this.slotByBigId.set(id, slot);
    return slot;
  }

  /**
   * Starts the open minute's state (none open when NO_MINUTE): forgets the last one's bars by
   * raising the stamp base above their stamps (every row, once in 2^16 minutes).
   */
  private resetMinute(): void {
    const { row, f, i } = this.st;
    const next = f[ScanFloat.Stamp]! + STAMP_STEP;
    if (next < STAMP_LIMIT) {
      f[ScanFloat.Stamp] = next;
    } else {
      for (let s = 0; s < this.slots; s++) row[s * Row.Size + Row.Last] = -1;
      f[ScanFloat.Stamp] = STAMP_STEP;
    }
    i[ScanInt.TouchedLen] = 0;
    this.snapshotted = false;
    this.changedSinceSnapshot = false;
    // minute * 60e9 = (minute * 29296875) * 2^11 is an exact double. The minute holding the
    // undefined timestamp (2^64 - 1) stays on place(), which drops it.
    const startNs = this.minute * MINUTE_NS;
    const open = this.minute !== NO_MINUTE && startNs + MINUTE_NS < 2 ** 64;
    const hi = open ? Math.floor(startNs / TWO32) : 0;
    i[ScanInt.MinuteOpen] = open ? 1 : 0;
    i[ScanInt.BaseWordHi] = hi | 0;
    i[ScanInt.BaseWordLo] = open ? (startNs - hi * TWO32) | 0 : 0;
    i[ScanInt.Day] = this.minute === NO_MINUTE ? -1 : Math.floor(this.minute / 1440);
  }

  /**
   * Emits the open minute's bars (final unless `provisional`): onBars reads them in place, in
   * first-trade order, before the rows move on.
   */
  private emit(provisional: boolean): void {
    if (!provisional && this.snapshotted && !this.changedSinceSnapshot) return;
    const { row, touched, i } = this.st;
    const n = i[ScanInt.TouchedLen]!;
    if (n === 0) return;
    this.stats.barsEmitted += n;
    const bars = new ClosedBars(this.minute, this.source, n, row, touched, this.symbol);
    try {
      this.onBars(bars);
    } finally {
      bars.expire();
    }
  }

  /**
   * Live: emits a provisional snapshot of the open minute once the stream time estimated from
   * wall time (last clock + time since it moved) passes the minute's end plus `graceMs`. The
   * minute stays open: later records amend it and it is emitted again when the stream closes it.
   */
  tick(graceMs: number): void {
    const now = this.now();
    const clock = this.streamClockMs;
    if (clock !== this.tickClockMs) {
      // Ticks run often (500 ms): the wall time the clock last moved is known that closely.
      this.tickClockMs = clock;
      this.clockWallMs = now;
    }
    if (this.minute === NO_MINUTE || this.snapshotted || this.st.i[ScanInt.TouchedLen] === 0)
      return;
    const estimate = clock + (now - this.clockWallMs);
    if (estimate < (this.minute + 1) * 60_000 + graceMs) return;
    this.emit(true);
    this.snapshotted = true;
    this.changedSinceSnapshot = false;
  }

  /** End of a finite stream (file, historical request): closes the open minute. */
  closeAll(): void {
    if (this.minute !== NO_MINUTE) this.emit(false);
    this.dropBefore = this.minute === NO_MINUTE ? this.dropBefore : this.minute + 1;
    this.minute = NO_MINUTE;
    this.resetMinute();
  }

  /**
   * Forgets the open minute and drops every later record before `minute`: the stream will be
   * replayed from `minute`, whose bars are rebuilt wholly (never added to).
   */
  resync(minute: number): void {
    this.minute = NO_MINUTE;
    this.resetMinute();
    this.dropBefore = minute;
  }

  /** UNIX-ns start of the minute a replay must start from, or undefined. */
  resumeStartNs(): bigint | undefined {
    const m = this.resumeMinute;
    return m === undefined ? undefined : minuteStartNs(m);
  }
}

function validSymbol(sym: string): boolean {
  return (
    barProblem({
      symbol: sym,
      timestamp: new Date(0),
      open: 0,
      high: 0,
      low: 0,
      close: 0,
      volume: 0,
      trade_count: 0,
    }) === undefined
  );
}

function systemCode(bytes: Uint8Array, o: number, size: number): number {
  if (size >= 320) {
    const code = bytes[o + 319]!;
    if (code !== 255) return code;
  }
  // v1 records (or code unset): the reference implementation compares the text.
  const start = o + 16;
  let end = start;
  while (end < start + 32 && bytes[end] !== 0) end++;
  return textCode(String.fromCharCode(...bytes.subarray(start, end)));
}

function textCode(text: string): number {
  if (text === 'Heartbeat') return SYSTEM_HEARTBEAT;
  if (text.startsWith('End of interval ')) return SYSTEM_END_OF_INTERVAL;
  return 255;
}
