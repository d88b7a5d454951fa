import { type LiveSymbolState, sessionDayOf, sessionDayStart } from '@timed/db';
import type { LiveTap, OpenBarTarget } from '../aggregate/aggregator-options.js';
import type { BarSource } from '../aggregate/bar-source.js';

/** A symbol's figures for the session day so far, rebuilt from stored bars after a restart. */
export interface StoredDayFigures {
  symbol: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  tradeCount: number;
  /** Σ price × size in dollars (Σ vwap × volume of the bars); 0 for mbp-1. */
  priceVolume: number;
  /** Open time (ms) of the newest bar: the last trade is somewhere in that minute. */
  lastBarMs: number;
}

const DAY_MS = 86_400_000;

/** The session day after `day` (`YYYY-MM-DD`). */
export function nextSessionDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/**
 * Per symbol, the live figures of the current US session day in typed arrays, updated by every
 * record the aggregator's JavaScript path adds (a LiveTap: no allocation per record once a
 * symbol is known). Symbols get an index in first-seen order; the aggregator's slot -> index
 * is cached by the slot's symbol (compared by identity, so a symbol change re-resolves).
 *
 * The session day follows the feed's time (ts_recv, or the stream clock through `advanceTo`):
 * the first record at or after the next 04:00 New York rolls the day over, resetting every
 * symbol's day figures (last price, bid/ask and previous-close reload are kept for the caller to
 * replace). Records of an earlier day (late) leave the day figures alone.
 */
export class DayStats implements LiveTap {
  /** Symbol of each index. */
  readonly symbols: string[] = [];
  private readonly indexBySymbol = new Map<string, number>();
  /** Aggregator slot -> index, valid while slotSymbol[slot] is the slot's symbol. */
  private slotIndex = new Int32Array(1024);
  private slotSymbol: (string | null)[] = [];
  /** Aggregator slot of each index (0: none yet; the open bar is read through it). */
  private slotOf = new Int32Array(1024);
  private capacity = 1024;
  private price = new Float64Array(1024);
  private bid = new Float64Array(1024);
  private ask = new Float64Array(1024);
  private lastSize = new Float64Array(1024);
  private lastTs = new Float64Array(1024);
  private firstTs = new Float64Array(1024);
  private open = new Float64Array(1024);
  private high = new Float64Array(1024);
  private low = new Float64Array(1024);
  private volume = new Float64Array(1024);
  private count = new Float64Array(1024);
  private priceVolume = new Float64Array(1024);
  /** Previous close in dollars; NaN = none (or not loaded yet). */
  private prevClose = new Float64Array(1024);
  private dirtyFlag = new Uint8Array(1024);
  private dirtyList = new Int32Array(1024);
  private dirtyCount = 0;
  /** 1e-9 units -> dollars (mbp-1 prices are bid + ask: halved); a division rounds exactly. */
  private readonly priceDivisor: number;
  private readonly quoteMode: boolean;
  /** The current session day, its start and the next one's start (ms). */
  private day = '';
  private dayStartMs = Number.POSITIVE_INFINITY;
  private nextDayStartMs = Number.NEGATIVE_INFINITY;
  /** Told after the day rolled over (not when the first day starts); synchronous: keep it cheap. */
  onRollover: ((day: string) => void) | undefined;
  /** Told about each symbol seen for the first time (its previous close is unknown). */
  onNewSymbol: ((symbol: string, index: number) => void) | undefined;

  constructor(source: BarSource) {
    this.quoteMode = source === 'mbp-1';
    this.priceDivisor = this.quoteMode ? 2e9 : 1e9;
    this.prevClose.fill(Number.NaN);
  }

  /** The current session day (`YYYY-MM-DD`; '' before any). */
  get sessionDay(): string {
    return this.day;
  }

  /** Symbols with state. */
  get size(): number {
    return this.symbols.length;
  }

  /** Indices changed since the last takeDirty(). */
  get dirty(): number {
    return this.dirtyCount;
  }

  /** Starts session day `day` (every symbol's day figures reset). */
  startDay(day: string): void {
    this.day = day;
    this.dayStartMs = sessionDayStart(day);
    this.nextDayStartMs = sessionDayStart(nextSessionDay(day));
    const n = this.symbols.length;
    for (let i = 0; i < n; i++) {
      this.open[i] = 0;
      this.high[i] = 0;
      this.low[i] = 0;
      this.volume[i] = 0;
      this.count[i] = 0;
      this.priceVolume[i] = 0;
      this.prevClose[i] = Number.NaN;
      this.markDirty(i);
    }
  }

  /** Moves the day on when the feed's time `ms` reached the next session day. */
  advanceTo(ms: number): void {
    if (ms >= this.nextDayStartMs) this.roll(ms);
  }

  private roll(ms: number): void {
    const first = this.day === '';
    this.startDay(sessionDayOf(ms));
    if (!first) this.onRollover?.(this.day);
  }

  /** The LiveTap: one aggregated record (see LiveTap for units). */
  record(
    slot: number,
    symbol: string,
    price: number,
    size: number,
    bid: number,
    ask: number,
    tsRecvMs: number,
  ): void {
    if (tsRecvMs >= this.nextDayStartMs) this.roll(tsRecvMs);
    let i: number;
    if (slot < this.capacitySlots() && this.slotSymbol[slot] === symbol) {
      i = this.slotIndex[slot]!;
    } else {
      i = this.indexOf(symbol);
      this.bindSlot(slot, symbol, i);
    }
    if (tsRecvMs < this.dayStartMs) return;
    const px = price / this.priceDivisor;
    if (this.count[i] === 0) {
      this.open[i] = px;
      this.high[i] = px;
      this.low[i] = px;
      this.firstTs[i] = tsRecvMs;
    } else {
      if (px > this.high[i]!) this.high[i] = px;
      else if (px < this.low[i]!) this.low[i] = px;
      if (tsRecvMs < this.firstTs[i]!) {
        this.open[i] = px;
        this.firstTs[i] = tsRecvMs;
      }
    }
    if (tsRecvMs >= this.lastTs[i]!) {
      this.price[i] = px;
      this.lastSize[i] = size;
      this.lastTs[i] = tsRecvMs;
      // Quotes: bid and ask are 1e-9 units of each side (not summed).
      this.bid[i] = this.quoteMode ? bid / 1e9 : px;
      this.ask[i] = this.quoteMode ? ask / 1e9 : px;
    }
    this.volume[i]! += size;
    this.count[i]! += 1;
    this.priceVolume[i]! += px * size;
    this.markDirty(i);
  }

  /** Sets previous closes (dollars) by symbol; marks them changed. */
  setPrevCloses(closes: ReadonlyMap<string, number>, symbols: readonly string[]): void {
    for (const s of symbols) {
      const i = this.indexBySymbol.get(s);
      if (i === undefined) continue;
      this.prevClose[i] = closes.get(s) ?? Number.NaN;
      this.markDirty(i);
    }
  }

  /**
   * Today's figures from stored bars (a restart): they replace the day figures of their symbols
   * (records replayed afterwards add to them).
   */
  restore(figures: readonly StoredDayFigures[]): void {
    for (const f of figures) {
      const i = this.indexOf(f.symbol);
      this.open[i] = f.open;
      this.high[i] = f.high;
      this.low[i] = f.low;
      this.volume[i] = f.volume;
      this.count[i] = f.tradeCount;
      this.priceVolume[i] = f.priceVolume;
      this.firstTs[i] = this.dayStartMs;
      if (f.lastBarMs >= this.lastTs[i]!) {
        this.price[i] = f.close;
        this.bid[i] = f.close;
        this.ask[i] = f.close;
        this.lastTs[i] = f.lastBarMs;
      }
      this.markDirty(i);
    }
  }

  /** Marks every symbol changed (publish all once). */
  markAllDirty(): void {
    for (let i = 0; i < this.symbols.length; i++) this.markDirty(i);
  }

  /**
   * Hands each changed index to `visit` and forgets the changes; `visit` must not record.
   * Returns how many there were.
   */
  takeDirty(visit: (index: number) => void): number {
    const n = this.dirtyCount;
    const list = this.dirtyList;
    for (let k = 0; k < n; k++) {
      const i = list[k]!;
      this.dirtyFlag[i] = 0;
      visit(i);
    }
    this.dirtyCount = 0;
    return n;
  }

  /** Aggregator slot of index `i` (0 when none), for the open minute's bar. */
  slotOfIndex(i: number): number {
    const slot = this.slotOf[i]!;
    // The slot may have moved to another symbol since (instrument ids are per day).
    return slot > 0 && this.slotSymbol[slot] === this.symbols[i] ? slot : 0;
  }

  /** Fills `out` with index `i`'s figures (the open bar is left to the caller). */
  fill(i: number, out: Omit<LiveSymbolState, keyof OpenBarTarget>): void {
    const count = this.count[i]!;
    const volume = this.volume[i]!;
    const prev = this.prevClose[i]!;
    out.sessionDay = this.day;
    out.price = this.price[i]!;
    out.bid = this.bid[i]!;
    out.ask = this.ask[i]!;
    out.lastSize = this.lastSize[i]!;
    out.lastTs = Math.floor(this.lastTs[i]!);
    out.dayOpen = this.open[i]!;
    out.dayHigh = this.high[i]!;
    out.dayLow = this.low[i]!;
    out.volume = volume;
    out.tradeCount = count;
    out.vwap = volume > 0 ? this.priceVolume[i]! / volume : null;
    out.prevClose = Number.isNaN(prev) ? null : prev;
  }

  /** The index of a known symbol (undefined when it has none). */
  indexOfKnown(symbol: string): number | undefined {
    return this.indexBySymbol.get(symbol);
  }

  /** Marks index `i` changed (published at the next takeDirty). */
  markDirty(i: number): void {
    if (this.dirtyFlag[i] === 1) return;
    this.dirtyFlag[i] = 1;
    this.dirtyList[this.dirtyCount++] = i;
  }

  private capacitySlots(): number {
    return this.slotIndex.length;
  }

  private bindSlot(slot: number, symbol: string, i: number): void {
    if (slot >= this.slotIndex.length) {
      const grown = new Int32Array(Math.max(slot + 1, this.slotIndex.length * 2));
      grown.set(this.slotIndex);
      this.slotIndex = grown;
    }
    this.slotIndex[slot] = i;
    this.slotSymbol[slot] = symbol;
    this.slotOf[i] = slot;
  }

  /** The index of `symbol`, given one (and told to onNewSymbol) when new. */
  private indexOf(symbol: string): number {
    const known = this.indexBySymbol.get(symbol);
    if (known !== undefined) return known;
    const i = this.symbols.length;
    if (i === this.capacity) this.grow(i * 2);
    this.symbols.push(symbol);
    this.indexBySymbol.set(symbol, i);
    this.onNewSymbol?.(symbol, i);
    return i;
  }

  private grow(n: number): void {
    const f = (a: Float64Array, fill = 0) => {
      const b = new Float64Array(n);
      if (fill !== 0) b.fill(fill);
      b.set(a);
      return b;
    };
    this.price = f(this.price);
    this.bid = f(this.bid);
    this.ask = f(this.ask);
    this.lastSize = f(this.lastSize);
    this.lastTs = f(this.lastTs);
    this.firstTs = f(this.firstTs);
    this.open = f(this.open);
    this.high = f(this.high);
    this.low = f(this.low);
    this.volume = f(this.volume);
    this.count = f(this.count);
    this.priceVolume = f(this.priceVolume);
    this.prevClose = f(this.prevClose, Number.NaN);
    const slotOf = new Int32Array(n);
    slotOf.set(this.slotOf);
    this.slotOf = slotOf;
    const flag = new Uint8Array(n);
    flag.set(this.dirtyFlag);
    this.dirtyFlag = flag;
    const list = new Int32Array(n);
    list.set(this.dirtyList);
    this.dirtyList = list;
    this.capacity = n;
  }
}
