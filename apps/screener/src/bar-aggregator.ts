import type { DbnRecord, RecordBatch, RecordCursor } from '@timed/dbn';
import { type BarInput, barProblem } from '@timed/schema';
import { MinuteSplitter, minuteStartNs, unitsToDecimal } from './fixed-point.js';

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
  /** Receives the bars of a minute when it closes (or a provisional snapshot of it). */
  onBars: (bars: ClosedBars) => void;
  /** Receives symbols refused once each (unmapped ids, invalid symbols). */
  onUnmapped?: (instrumentId: number, symbol: string | undefined) => void;
  /** Wall clock in ms (tests drive it). */
  now?: () => number;
}

const RTYPE_TRADE = 0x00;
const RTYPE_MBP1 = 0x01;
const RTYPE_SYSTEM = 0x17;
const RTYPE_SYMBOL_MAPPING = 0x16;
const SYSTEM_HEARTBEAT = 0;
const SYSTEM_END_OF_INTERVAL = 4;
const NO_MINUTE = -1;
const UNDEF_HI = 0x7fffffff;
const UNDEF_LO = 0xffffffff;
const DIRECT_IDS = 1 << 22;
const UNDEF_PRICE_BIG = 9223372036854775807n;

/**
 * Builds 1-minute OHLCV bars from DBN records. A record belongs to minute floor(ts_recv / 60 s)
 * (Databento's own ohlcv-1m rule); within a minute open/close are the first/last price by ts_recv
 * (ties in arrival order), high/low the extremes, volume the sum of sizes, trade_count the number
 * of records. Exactly one minute is open at a time: it closes when the stream clock (a later
 * record, a heartbeat or an end-of-interval message) passes its end. `tick()` may emit a
 * provisional snapshot of the open minute once wall time passes its end plus a grace; the minute
 * stays open and is emitted again (only if it changed) when the stream confirms it.
 * The hot path is allocation-free: per-instrument state lives in typed arrays.
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
  private clockOff = 0;
  /** Stream clock at the last tick() that saw it move, and the wall time of that tick. */
  private tickClockMs = 0;
  private clockWallMs = 0;
  /** Bumped on every SymbolMappingMsg: cached symbols are resolved again. */
  private mappingVersion = 0;
  private snapshotted = false;
  private changedSinceSnapshot = false;
  /** Generation of the open minute's state; a slot belongs to the open minute iff stamped so. */
  private epoch = 0;

  // Per-slot state of the open minute.
  private readonly slotById = new Int32Array(DIRECT_IDS).fill(-1);
  private readonly slotByBigId = new Map<number, number>();
  private slots = 0;
  private capacity = 0;
  private stamp = new Int32Array(0);
  private symbol: (string | null)[] = [];
  private symDay = new Int32Array(0);
  private symVersion = new Int32Array(0);
  private open = new Float64Array(0);
  private high = new Float64Array(0);
  private low = new Float64Array(0);
  private close = new Float64Array(0);
  private first = new Float64Array(0);
  private last = new Float64Array(0);
  private volume = new Float64Array(0);
  private count = new Float64Array(0);
  private touched: Int32Array<ArrayBuffer> = new Int32Array(0);
  private touchedLen = 0;
  private readonly refused = new Set<number>();

  constructor(options: BarAggregatorOptions) {
    this.source = options.source;
    this.symbolOf = options.symbolOf;
    this.onBars = options.onBars;
    this.onUnmapped = options.onUnmapped;
    this.now = options.now ?? Date.now;
    this.grow(1024);
  }

  /** The open minute's epoch minute, or undefined before the first record. */
  get openMinute(): number | undefined {
    return this.minute === NO_MINUTE ? undefined : this.minute;
  }

  /** Stream clock (ms) of the last record or heartbeat seen; 0 before any. */
  get streamClockMs(): number {
    return this.clockMinute === 0 ? 0 : this.clockMinute * 60_000 + Math.floor(this.clockOff / 1e6);
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
      this.mappingVersion++;
    }
  }

  /** Handles a batch of records from dbn's batch decoder (the fastest path); same rules. */
  handleBatch(b: RecordBatch): void {
    const bytes = b.bytes;
    const view = b.view;
    const end = b.end;
    const want = this.source === 'trades' ? RTYPE_TRADE : RTYPE_MBP1;
    for (let o = b.start; o < end; o += bytes[o]! << 2) {
      const rtype = bytes[o + 1]!;
      if (rtype === want) {
        if (want === RTYPE_TRADE) this.trade(view, o);
        else this.quote(view, o);
      } else if (rtype === RTYPE_SYSTEM) {
        this.systemAt(bytes, view, o, bytes[o]! << 2);
      } else if (rtype === RTYPE_SYMBOL_MAPPING) {
        this.mappingVersion++;
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
      this.mappingVersion++;
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
    this.add(v.getUint32(o + 4, true), phi * 4294967296 + plo, v.getUint32(o + 24, true));
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
    this.addQuote(v.getUint32(o + 4, true), bhi * 4294967296 + blo, ahi * 4294967296 + alo);
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
      if (ts.offset > this.clockOff) this.clockOff = ts.offset;
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
    if (minute > this.clockMinute || (minute === this.clockMinute && offset > this.clockOff)) {
      this.clockMinute = minute;
      this.clockOff = offset;
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

  private add(id: number, price: number, size: number): void {
    let slot = id < DIRECT_IDS ? this.slotById[id]! : (this.slotByBigId.get(id) ?? -1);
    if (slot < 0) slot = this.newSlot(id);
    const off = this.ts.offset;
    if (this.stamp[slot] !== this.epoch) {
      // Symbols change only with a new UTC date (file mappings) or a SymbolMappingMsg.
      const day = Math.floor(this.minute / 1440);
      if (this.symDay[slot] !== day || this.symVersion[slot] !== this.mappingVersion) {
        const sym = this.symbolOf(id, this.minute);
        if (sym === undefined || (sym !== this.symbol[slot] && !this.validSymbol(sym))) {
          this.stats.unmapped++;
          if (!this.refused.has(id)) {
            this.refused.add(id);
            this.onUnmapped?.(id, sym);
          }
          return;
        }
        this.symbol[slot] = sym;
        this.symDay[slot] = day;
        this.symVersion[slot] = this.mappingVersion;
      }
      this.stamp[slot] = this.epoch;
      this.open[slot] = price;
      this.high[slot] = price;
      this.low[slot] = price;
      this.close[slot] = price;
      this.first[slot] = off;
      this.last[slot] = off;
      this.volume[slot] = size;
      this.count[slot] = 1;
      if (this.touchedLen === this.touched.length) this.touched = grow32(this.touched);
      this.touched[this.touchedLen++] = slot;
    } else {
      if (price > this.high[slot]!) this.high[slot] = price;
      if (price < this.low[slot]!) this.low[slot] = price;
      if (off >= this.last[slot]!) {
        this.close[slot] = price;
        this.last[slot] = off;
      } else if (off < this.first[slot]!) {
        this.open[slot] = price;
        this.first[slot] = off;
      }
      this.volume[slot]! += size;
      this.count[slot]! += 1;
    }
    this.stats.aggregated++;
    if (this.snapshotted) this.changedSinceSnapshot = true;
  }

  private validSymbol(sym: string): boolean {
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

  private newSlot(id: number): number {
    if (this.slots === this.capacity) this.grow(this.capacity * 2);
    const slot = this.slots++;
    if (id < DIRECT_IDS) this.slotById[id] = slot;
    else this.slotByBigId.set(id, slot);
    return slot;
  }

  private grow(capacity: number): void {
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(capacity).fill(-1);
      b.set(a);
      return b;
    };
    this.stamp = i32(this.stamp);
    this.symDay = i32(this.symDay);
    this.symVersion = i32(this.symVersion);
    this.open = f64(this.open);
    this.high = f64(this.high);
    this.low = f64(this.low);
    this.close = f64(this.close);
    this.first = f64(this.first);
    this.last = f64(this.last);
    this.volume = f64(this.volume);
    this.count = f64(this.count);
    if (this.touched.length === 0) this.touched = new Int32Array(capacity);
    this.capacity = capacity;
  }

  private resetMinute(): void {
    this.epoch++;
    this.touchedLen = 0;
    this.snapshotted = false;
    this.changedSinceSnapshot = false;
  }

  /** Emits the open minute's bars (final unless `provisional`) as a columnar copy. */
  private emit(provisional: boolean): void {
    if (!provisional && this.snapshotted && !this.changedSinceSnapshot) return;
    const n = this.touchedLen;
    if (n === 0) return;
    const out = new ClosedBars(this.minute, this.source, n);
    for (let i = 0; i < n; i++) {
      const s = this.touched[i]!;
      out.symbol[i] = this.symbol[s]!;
      out.open[i] = this.open[s]!;
      out.high[i] = this.high[s]!;
      out.low[i] = this.low[s]!;
      out.close[i] = this.close[s]!;
      out.volume[i] = this.volume[s]!;
      out.count[i] = this.count[s]!;
    }
    this.stats.barsEmitted += n;
    this.onBars(out);
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
    if (this.minute === NO_MINUTE || this.snapshotted || this.touchedLen === 0) return;
    const estimate = clock + (now - this.clockWallMs);
    if (estimate < (this.minute + 1) * 60_000 + graceMs) return;
    this.emit(true);
    this.snapshotted = true;
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
    this.open = new Float64Array(length);
    this.high = new Float64Array(length);
    this.low = new Float64Array(length);
    this.close = new Float64Array(length);
    this.volume = new Float64Array(length);
    this.count = new Float64Array(length);
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

function grow32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
