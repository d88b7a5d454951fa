import {
  type DbnRecord,
  Mbp1Layout,
  type RecordBatch,
  RecordHeaderLayout,
  RType,
  systemCodeAt,
  TradeLayout,
  UNDEF_PRICE,
} from '@timed/dbn';
import type {
  AggregatorStats,
  BarAggregatorOptions,
  LiveTap,
  OpenBarTarget,
} from './aggregator-options.js';
import type { BarSource } from './bar-source.js';
import { ClosedBars } from './closed-bars.js';
import { MinuteClock, NO_MINUTE, Placement } from './minute-clock.js';
import { Row } from './scan/layout.js';
import { SCAN_PIECE, type TradeScanner } from './scan/trade-scanner.js';
import { SlotTable } from './slot-table.js';
import { movesClock, systemCodeOf } from './system-code.js';

export type { AggregatorStats, BarAggregatorOptions, BarSource, LiveTap, OpenBarTarget };

/** UNDEF_PRICE's high and low u32 words. */
const UNDEF_HI = 0x7fffffff;
const UNDEF_LO = 0xffffffff;
const TWO32 = 4294967296;
/** Typed arrays use the host's byte order; DBN is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Builds 1-minute OHLCV bars from DBN records. A record belongs to minute floor(ts_recv / 60 s)
 * (Databento's own ohlcv-1m rule); within a minute open/close are the first/last price by ts_recv
 * (ties in arrival order), high/low the extremes, volume the sum of sizes, trade_count the number
 * of records. Exactly one minute is open at a time (MinuteClock): it closes when the stream clock
 * (a later record, a heartbeat or an end-of-interval message) passes its end. `tick()` may emit a
 * provisional snapshot of the open minute once wall time passes its end plus a grace; the minute
 * stays open and is emitted again (only if it changed) when the stream confirms it.
 * The hot path is allocation-free: per-instrument state is a row of doubles in the SlotTable.
 * With `scan` (batch replay) trades batches go through the WebAssembly scan, which stops at
 * anything but the common case and hands that record to the general path here; without it (the
 * default: live and backfill take decoded records) no WebAssembly is needed.
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
  private readonly onBars: BarAggregatorOptions['onBars'];
  private readonly now: () => number;
  private readonly slots: SlotTable;
  private readonly clock: MinuteClock;
  /** True once the open minute was emitted provisionally by tick(). */
  private snapshotted = false;
  private changedSinceSnapshot = false;
  private readonly live: LiveTap | undefined;
  private readonly onMinuteClosed: ((minute: number) => void) | undefined;
  /** Top of book of the mbp-1 quote being added (for the live tap). */
  private quoteBid = 0;
  private quoteAsk = 0;

  constructor(options: BarAggregatorOptions) {
    if (options.live && options.scan) {
      throw new Error('BarAggregator: a live tap needs the JavaScript path (scan: false)');
    }
    this.live = options.live;
    this.onMinuteClosed = options.onMinuteClosed;
    this.source = options.source;
    this.onBars = options.onBars;
    this.now = options.now ?? Date.now;
    this.slots = new SlotTable({
      symbolOf: options.symbolOf,
      onUnmapped: options.onUnmapped,
      scan: options.scan ?? false,
    });
    this.clock = new MinuteClock(this.slots.shared.header);
  }

  /** The open minute's epoch minute, or undefined before the first record. */
  get openMinute(): number | undefined {
    const m = this.clock.openMinute;
    return m === NO_MINUTE ? undefined : m;
  }

  /** Stream clock (ms) of the last record or heartbeat seen; 0 before any. */
  get streamClockMs(): number {
    return this.clock.streamClockMs;
  }

  /**
   * The oldest minute whose bars are not known complete: where a reconnect must replay from so
   * nothing is missed or counted twice. Undefined before any record.
   */
  get resumeMinute(): number | undefined {
    return this.clock.resumeMinute;
  }

  /**
   * Writes `slot`'s bar of the open minute into `out` (dollars; mbp-1: the mid, no VWAP), or
   * barTimestamp null when the slot has none this minute. For live state, between records.
   */
  openBarInto(slot: number, out: OpenBarTarget): void {
    const open = this.clock.openMinute;
    const row = this.slots.shared.row;
    const r = slot * Row.Size;
    if (open === NO_MINUTE || slot <= 0 || slot >= this.slots.count) {
      out.barTimestamp = null;
      return;
    }
    if (row[r + Row.Last]! < this.slots.shared.header.stampBase) {
      out.barTimestamp = null;
      return;
    }
    const k = this.source === 'mbp-1' ? 2e9 : 1e9;
    const volume = row[r + Row.Volume]!;
    out.barTimestamp = open * 60_000;
    out.barOpen = row[r + Row.Open]! / k;
    out.barHigh = row[r + Row.High]! / k;
    out.barLow = row[r + Row.Low]! / k;
    out.barClose = row[r + Row.Close]! / k;
    out.barVolume = volume;
    out.barTradeCount = row[r + Row.Count]!;
    out.barVwap = volume > 0 ? row[r + Row.PriceVolume]! / volume / 1e9 : null;
  }

  /** Handles a batch of records from dbn's batch decoder (the fastest path); same rules. */
  handleBatch(b: RecordBatch): void {
    // The scan's memory is little-endian (WebAssembly); so must the views the general path
    // shares with it be.
    const scanner = this.slots.scan;
    if (this.source !== 'trades' || !LITTLE_ENDIAN || scanner === undefined) {
      this.recordsBatch(b.bytes, b.view, b.start, b.end);
      return;
    }
    this.tradesBatch(b, scanner);
  }

  /** Handles one decoded record object (the live and historical clients' path); same rules. */
  handleRecord(r: DbnRecord): void {
    if (r.kind === 'TradeMsg') {
      if (this.source !== 'trades') return;
      this.stats.records++;
      if (!this.placeByRecvTime(Number(r.ts_recv >> 32n), Number(r.ts_recv & 0xffffffffn))) return;
      if (r.price === UNDEF_PRICE) {
        this.stats.undefinedPrice++;
        return;
      }
      this.add(r.instrument_id, Number(r.price), r.size);
    } else if (r.kind === 'Mbp1Msg') {
      if (this.source !== 'mbp-1') return;
      this.stats.records++;
      if (!this.placeByRecvTime(Number(r.ts_recv >> 32n), Number(r.ts_recv & 0xffffffffn))) return;
      const { bid_px, ask_px } = r.levels[0];
      if (bid_px === UNDEF_PRICE || ask_px === UNDEF_PRICE) {
        this.stats.undefinedSide++;
        return;
      }
      this.addQuote(r.instrument_id, Number(bid_px), Number(ask_px));
    } else if (r.kind === 'SymbolMappingMsg') {
      this.slots.mappingChanged();
    } else if (r.kind === 'SystemMsg') {
      if (!movesClock(systemCodeOf(r))) return;
      this.clock.eventTime.splitBig(r.ts_event);
      this.advanceTo(this.clock.eventTime.minute, this.clock.eventTime.offset);
    }
  }

  /**
   * Live: emits a provisional snapshot of the open minute once the stream time estimated from
   * wall time passes the minute's end plus `graceMs`. The minute stays open: later records amend
   * it and it is emitted again when the stream closes it.
   */
  tick(graceMs: number): void {
    const estimate = this.clock.estimateStreamMs(this.now());
    const open = this.clock.openMinute;
    if (open === NO_MINUTE || this.snapshotted || this.slots.touchedCount === 0) return;
    if (estimate < (open + 1) * 60_000 + graceMs) return;
    this.emit(true);
    this.snapshotted = true;
    this.changedSinceSnapshot = false;
  }

  /** End of a finite stream (file, historical request): closes the open minute. */
  closeAll(): void {
    const open = this.clock.openMinute;
    if (open !== NO_MINUTE) {
      this.emit(false);
      this.clock.dropBefore = open + 1;
    }
    this.openNewMinute(NO_MINUTE);
    if (open !== NO_MINUTE) this.onMinuteClosed?.(open);
  }

  /**
   * Forgets the open minute and drops every later record before `minute`: the stream will be
   * replayed from `minute`, whose bars are rebuilt wholly (never added to).
   */
  resync(minute: number): void {
    this.openNewMinute(NO_MINUTE);
    this.clock.dropBefore = minute;
  }

  /**
   * Trades: the batch is copied into the scan's memory a piece at a time (a piece small enough to
   * stay in cache between the copy and the scan); the scan takes the common case and the general
   * path (reading the batch itself) each record the scan stops at.
   */
  private tradesBatch(b: RecordBatch, scanner: TradeScanner): void {
    const { bytes, view } = b;
    let o = b.start;
    while (o < b.end) {
      const len = Math.min(SCAN_PIECE, b.end - o);
      const at = scanner.copyIn(bytes, o, o + len);
      const end = at + len;
      let p = at;
      for (;;) {
        p = scanner.scan(p, end);
        this.collectScanCounts();
        if (p >= end) break;
        const q = o + (p - at);
        const size = bytes[q]! << 2;
        // Cut by the piece's end: the next piece starts with it.
        if (p + size > end) break;
        const rtype = bytes[q + 1]!;
        if (rtype === RType.MBP_0) this.tradeAt(view, q);
        else if (rtype === RType.SYSTEM) this.systemAt(bytes, view, q, size);
        p += size;
      }
      o += p - at;
    }
  }

  /** Moves the scan's counters into stats. */
  private collectScanCounts(): void {
    const header = this.slots.shared.header;
    const aggregated = header.aggregated;
    this.stats.records += header.records;
    this.stats.undefinedPrice += header.undefinedPrices;
    if (aggregated > 0) {
      this.stats.aggregated += aggregated;
      this.changedSinceSnapshot = true;
    }
    header.clearCounts();
  }

  /** mbp-1 (rollback mode) batches, trades without the scan or on a big-endian host. */
  private recordsBatch(bytes: Uint8Array, view: DataView, start: number, end: number): void {
    const wanted = this.source === 'trades' ? RType.MBP_0 : RType.MBP_1;
    for (let o = start; o < end; o += bytes[o]! << 2) {
      const rtype = bytes[o + 1]!;
      if (rtype === wanted) {
        if (wanted === RType.MBP_0) this.tradeAt(view, o);
        else this.quoteAt(view, o);
      } else if (rtype === RType.SYSTEM) {
        this.systemAt(bytes, view, o, bytes[o]! << 2);
      } else if (rtype === RType.SYMBOL_MAPPING) {
        this.slots.mappingChanged();
      }
    }
  }

  /** A TradeMsg at byte `o` of `v`. */
  private tradeAt(v: DataView, o: number): void {
    this.stats.records++;
    if (!this.placeByRecvTimeAt(v, o)) return;
    const priceLo = v.getUint32(o + TradeLayout.price, true);
    const priceHi = v.getInt32(o + TradeLayout.price + 4, true);
    if (priceHi === UNDEF_HI && priceLo === UNDEF_LO) {
      this.stats.undefinedPrice++;
      return;
    }
    this.add(
      v.getUint32(o + RecordHeaderLayout.instrumentId, true),
      priceHi * TWO32 + priceLo,
      v.getUint32(o + TradeLayout.size, true),
    );
  }

  /** An Mbp1Msg at byte `o` of `v`. */
  private quoteAt(v: DataView, o: number): void {
    this.stats.records++;
    if (!this.placeByRecvTimeAt(v, o)) return;
    const bidLo = v.getUint32(o + Mbp1Layout.bidPx, true);
    const bidHi = v.getInt32(o + Mbp1Layout.bidPx + 4, true);
    const askLo = v.getUint32(o + Mbp1Layout.askPx, true);
    const askHi = v.getInt32(o + Mbp1Layout.askPx + 4, true);
    if ((bidHi === UNDEF_HI && bidLo === UNDEF_LO) || (askHi === UNDEF_HI && askLo === UNDEF_LO)) {
      this.stats.undefinedSide++;
      return;
    }
    this.addQuote(
      v.getUint32(o + RecordHeaderLayout.instrumentId, true),
      bidHi * TWO32 + bidLo,
      askHi * TWO32 + askLo,
    );
  }

  /** A SystemMsg at byte `o`: heartbeats and end-of-interval messages move the stream clock. */
  private systemAt(bytes: Uint8Array, v: DataView, o: number, size: number): void {
    if (!movesClock(systemCodeAt(bytes, o, size))) return;
    const event = this.clock.eventTime;
    const tsEvent = o + RecordHeaderLayout.tsEvent;
    event.split(v.getUint32(tsEvent + 4, true), v.getUint32(tsEvent, true));
    this.advanceTo(event.minute, event.offset);
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
    this.quoteBid = bid;
    this.quoteAsk = ask;
    this.add(id, bid + ask, 0);
  }

  /** Places the TradeMsg or Mbp1Msg at byte `o` by its ts_recv (same offset in both). */
  private placeByRecvTimeAt(v: DataView, o: number): boolean {
    const tsRecv = o + TradeLayout.tsRecv;
    return this.placeByRecvTime(v.getUint32(tsRecv + 4, true), v.getUint32(tsRecv, true));
  }

  /** Places a record by its ts_recv (two u32 words); false when it must be dropped. */
  private placeByRecvTime(hi: number, lo: number): boolean {
    switch (this.clock.placeRecvTime(hi, lo)) {
      case Placement.OpenMinute:
        return true;
      case Placement.LaterMinute:
        this.advanceTo(this.clock.recvTime.minute, this.clock.recvTime.offset);
        return true;
      case Placement.ReplayOverlap:
        this.stats.replayOverlap++;
        return false;
      case Placement.Late:
        this.stats.late++;
        return false;
      default:
        return false;
    }
  }

  /** Moves the stream clock to (minute, offset); closes the open minute if it is passed. */
  private advanceTo(minute: number, offset: number): void {
    if (!this.clock.passes(minute, offset)) return;
    const closing = this.clock.openMinute;
    if (closing !== NO_MINUTE) this.emit(false);
    this.openNewMinute(minute);
    if (closing !== NO_MINUTE) this.onMinuteClosed?.(closing);
  }

  /** Adds a record placed in the open minute to its instrument's bar. */
  private add(id: number, price: number, size: number): void {
    if (!this.slots.add(id, price, size, this.clock.recvTime.offset, this.clock.openMinute)) {
      this.stats.unmapped++;
      return;
    }
    this.stats.aggregated++;
    this.changedSinceSnapshot = true;
    const live = this.live;
    if (live !== undefined) {
      const slot = this.slots.slotOf(id);
      const recv = this.clock.recvTime;
      const trade = this.source === 'trades';
      live.record(
        slot,
        this.slots.symbols[slot]!,
        price,
        size,
        trade ? price : this.quoteBid,
        trade ? price : this.quoteAsk,
        recv.minute * 60_000 + recv.offset / 1e6,
      );
    }
  }

  /** Opens `minute` (none when NO_MINUTE): the rows forget the last minute's bars. */
  private openNewMinute(minute: number): void {
    this.clock.openMinute = minute;
    this.slots.openMinute(minute);
    this.snapshotted = false;
    this.changedSinceSnapshot = false;
  }

  /**
   * Emits the open minute's bars (final unless `provisional`): onBars reads them in place, in
   * first-trade order, before the rows move on.
   */
  private emit(provisional: boolean): void {
    if (!provisional && this.snapshotted && !this.changedSinceSnapshot) return;
    const n = this.slots.touchedCount;
    if (n === 0) return;
    this.stats.barsEmitted += n;
    const { row, touched } = this.slots.shared;
    const bars = new ClosedBars(
      this.clock.openMinute,
      this.source,
      n,
      row,
      touched,
      this.slots.symbols,
      provisional,
    );
    try {
      this.onBars(bars);
    } finally {
      bars.expire();
    }
  }
}
