import { barProblem } from '@timed/schema';
import { NO_MINUTE } from './minute-clock.js';
import { MINUTE_NS } from './minute-splitter.js';
import { PlainRowMemory, type RowMemory } from './row-memory.js';
import { DIRECT_IDS, Row, type ScanState, STAMP_LIMIT, STAMP_STEP } from './scan/layout.js';
import { TradeScanner } from './scan/trade-scanner.js';

/** Options of SlotTable. */
export interface SlotTableOptions {
  /** Symbol of an instrument id for the bar of `minute` (epoch minute); undefined when unknown. */
  symbolOf: (instrumentId: number, minute: number) => string | undefined;
  /** Receives symbols refused once each (unmapped ids, invalid symbols). */
  onUnmapped?: ((instrumentId: number, symbol: string | undefined) => void) | undefined;
  /** Keep the state in the WebAssembly scan's memory (batch replay); else in plain arrays. */
  scan: boolean;
}

/**
 * Instruments' slots: each instrument id gets a slot (a row of Row.Size doubles holding its open
 * bar, and the symbol it resolved to for the day), in first-seen order. Slot 0 is a never-used
 * row that unseen ids map to. Rows, the id index, the symbol stamps and the open minute's touched
 * list are views (`shared`) of a RowMemory (the WebAssembly scan's memory for batch replay,
 * plain arrays otherwise), replaced when it grows: read them from `shared` after anything that
 * may allocate a slot.
 */
export class SlotTable {
  private readonly memory: RowMemory;
  private readonly scanner: TradeScanner | undefined;
  /** Views of the state (shared with the WebAssembly scan when there is one). */
  readonly shared: ScanState;
  /** Symbol of each slot (null until resolved). */
  readonly symbols: (string | null)[] = [];
  /** Slots of ids at or above DIRECT_IDS (below, `shared.slotById`). */
  private readonly slotByBigId = new Map<number, number>();
  private used = 1;
  /** Ids refused once (reported once each). */
  private readonly refused = new Set<number>();

  constructor(private readonly options: SlotTableOptions) {
    // The scan's constructor throws a clear error when WebAssembly is missing (--jitless).
    this.scanner = options.scan ? new TradeScanner(1024, 1024) : undefined;
    this.memory = this.scanner ?? new PlainRowMemory(1024, 1024);
    this.shared = this.memory.st;
    this.shared.header.day = -1;
  }

  /** The WebAssembly scan over these slots, when asked for (batch replay only). */
  get scan(): TradeScanner | undefined {
    return this.scanner;
  }

  /** Slots in use, slot 0 included. */
  get count(): number {
    return this.used;
  }

  /** The slot of an instrument id, or 0 when it has none yet. */
  slotOf(id: number): number {
    return id < DIRECT_IDS ? this.shared.slotById[id]! : (this.slotByBigId.get(id) ?? 0);
  }

  /** Gives an instrument id its slot (growing the memory when full). */
  newSlot(id: number): number {
    if (this.used === this.memory.slots) this.memory.grow(this.used * 2);
    const slot = this.used++;
    if (id < DIRECT_IDS) this.shared.slotById[id] = slot;
    else this.slotByBigId.set(id, slot);
    return slot;
  }

  /**
   * Resolves a slot's symbol for `minute` when its cached one may be stale (symbols change only
   * with a new UTC date or a SymbolMappingMsg); false (reported once per id) when it has none or
   * one price_bars refuses.
   */
  resolve(slot: number, id: number, minute: number): boolean {
    const { symDay, symVersion, header } = this.shared;
    const day = header.day;
    const version = header.mappingVersion;
    if (symDay[slot] === day && symVersion[slot] === version) return true;
    const symbol = this.options.symbolOf(id, minute);
    if (symbol === undefined || (symbol !== this.symbols[slot] && !storableSymbol(symbol))) {
      if (!this.refused.has(id)) {
        this.refused.add(id);
        this.options.onUnmapped?.(id, symbol);
      }
      return false;
    }
    this.symbols[slot] = symbol;
    symDay[slot] = day;
    symVersion[slot] = version;
    return true;
  }

  /** Notes a SymbolMappingMsg: every cached symbol must be resolved again. */
  mappingChanged(): void {
    this.shared.header.mappingVersion += 1;
  }

  /**
   * Adds a record of the open minute `minute`, `offset` ns into it, to its instrument's bar by
   * layout.ts's OHLCV rule (trade-scan.wat applies the same one). False when the instrument has
   * no storable symbol (the record is skipped).
   */
  add(id: number, price: number, size: number, offset: number, minute: number): boolean {
    const shared = this.shared;
    let slot = this.slotOf(id);
    const stampBase = shared.header.stampBase;
    const stamp = stampBase + offset;
    const row = shared.row;
    const r = slot * Row.Size;
    const last = row[r + Row.Last]!;
    if (last < stampBase) {
      if (slot === 0) slot = this.newSlot(id);
      if (!this.resolve(slot, id, minute)) return false;
      this.startBar(slot, price, size, stamp);
      return true;
    }
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
    row[r + Row.PriceVolume]! += price * size;
    return true;
  }

  /**
   * Starts `minute` (none when NO_MINUTE): forgets the last one's bars by raising the stamp base
   * above their stamps (clearing every row once in 2^16 minutes), empties the touched list and
   * writes the minute's start and UTC day into the scan's header.
   */
  openMinute(minute: number): void {
    const header = this.shared.header;
    const next = header.stampBase + STAMP_STEP;
    if (next < STAMP_LIMIT) {
      header.stampBase = next;
    } else {
      const row = this.shared.row;
      for (let s = 0; s < this.used; s++) row[s * Row.Size + Row.Last] = -1;
      header.stampBase = STAMP_STEP;
    }
    header.touchedCount = 0;
    // minute * 60e9 = (minute * 29296875) * 2^11 is an exact double. The minute holding the
    // undefined timestamp (2^64 - 1) never opens here (the clock drops its records): without a
    // start every trade stops the scan.
    const startNs = minute * MINUTE_NS;
    const open = minute !== NO_MINUTE && startNs + MINUTE_NS < 2 ** 64;
    header.minuteStartNs = open ? startNs : undefined;
    header.day = minute === NO_MINUTE ? -1 : Math.floor(minute / 1440);
  }

  /** Bars in the open minute so far. */
  get touchedCount(): number {
    return this.shared.header.touchedCount;
  }

  /** Starts a slot's bar of the open minute with its first record (stamped `stamp`). */
  private startBar(slot: number, price: number, size: number, stamp: number): void {
    const shared = this.shared;
    const row = shared.row;
    const r = slot * Row.Size;
    row[r + Row.Open] = price;
    row[r + Row.High] = price;
    row[r + Row.Low] = price;
    row[r + Row.Close] = price;
    row[r + Row.First] = stamp;
    row[r + Row.Last] = stamp;
    row[r + Row.Volume] = size;
    row[r + Row.Count] = 1;
    row[r + Row.PriceVolume] = price * size;
    const n = shared.header.touchedCount;
    if (n === shared.touched.length) this.memory.growTouched(n * 2);
    shared.touched[n] = slot;
    shared.header.touchedCount = n + 1;
  }
}

function storableSymbol(symbol: string): boolean {
  return (
    barProblem({
      symbol,
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
