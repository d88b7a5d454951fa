// The trades hot loop of BarAggregator, in WebAssembly (assembled at start-up by wasm.ts). It
// handles only the common case (a trade in the open minute of an instrument whose symbol is
// already resolved for the day) and stops at the first record it cannot handle, which the
// aggregator then takes through its general path in JavaScript. All the state the loop touches
// (rows, slot index, symbol stamps, touched list, scalars) lives in the instance's memory; the
// aggregator reads and writes the same bytes through typed-array views (`ScanState`), so both
// paths share one layout. Against the same loop in JavaScript (typed arrays over u32 words),
// decode + aggregate of the benchmark's day took about a quarter less time (A/B in one process,
// 2026-12-01): 64-bit timestamps and prices are native i64 here, with no bounds checks and no
// double arithmetic on u32 halves. About a third of the loop still waits on the row load: the
// rows of 5,000 instruments do not stay in a 512 KiB L2 while the input streams through.

import { RType, UNDEF_PRICE } from '@timed/dbn';
import { Code, encodeModule, Op, T, type WasmFunction } from './wasm.js';

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
  /** The open minute's stamp base: a multiple of STAMP_STEP, raised by it with every minute. */
  Stamp = 1,
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
  /** The open minute's start (u64 ns) as its low and high u32 words, read by the scan as an i64. */
  BaseWordLo = 6,
  BaseWordHi = 7,
  /**
   * 1 when the base words hold the open minute's start; 0 when no minute is open (or the open
   * one is the last before 2^64 ns): then every trade stops the scan.
   */
  MinuteOpen = 8,
}

/** Stamp distance between consecutive minutes: above any ns offset into a minute (6e10). */
export const STAMP_STEP = 2 ** 36;
/** Stamps stay exact doubles: at this base the rows are cleared and stamps start over. */
export const STAMP_LIMIT = 2 ** 52;

/**
 * Bytes of input the scan's memory takes at a time (above any record's 1,020): small enough to
 * stay in cache between the copy and the scan.
 */
export const SCAN_PIECE = 32 * 1024;

/** Instrument ids below this index `ScanState.slotById` directly (others: a Map, general path). */
export const DIRECT_IDS = 1 << 22;

/** The state the scan and the aggregator share: views of the scanner's memory. */
export interface ScanState {
  /** Rows of Row.Size doubles; slot 0 is a never-used row that unseen ids map to. */
  row: Float64Array;
  /** Slot of an instrument id below DIRECT_IDS (0: none yet). */
  slotById: Int32Array;
  /** Day and mapping version each slot's symbol was resolved for. */
  symDay: Int32Array;
  symVersion: Int32Array;
  /** Slots with a bar in the open minute, in first-trade order. */
  touched: Int32Array;
  /** ScanFloat scalars. */
  f: Float64Array;
  /** ScanInt scalars. */
  i: Int32Array;
}

// Byte layout of the memory's header: ScanFloat doubles, then ScanInt words (BaseWordLo at 40,
// 8-byte aligned for the scan's i64 load).
const F_AT = 0;
const F_COUNT = 2;
const I_AT = 16;
const I_COUNT = 9;
const HEADER = 64;
const PAGE = 65536;
const MINUTE_NS = 60_000_000_000n;
/** Byte offsets in a TradeMsg (DBN v1-v3): instrument_id, price, size, ts_recv. */
const TRADE_ID = 4;
const TRADE_PRICE = 16;
const TRADE_SIZE = 24;
const TRADE_TS_RECV = 32;

const fAt = (x: ScanFloat) => F_AT + x * 8;
const iAt = (x: ScanInt) => I_AT + x * 4;
const rowAt = (x: Row) => x * 8;

/**
 * scan(p, end, rows, slotById, symDay, symVersion, touched, touchedCap) -> byte address of the
 * first record from `p` it cannot handle, or `end`. Addresses are byte offsets in the memory;
 * `p..end` holds whole, validated records (dbn's batches, copied in).
 */
function scanFunction(): WasmFunction {
  // Locals: the 8 params, then these.
  const [p, end, rows, slotById, symDay, symVersion, touched, touchedCap] = [
    0, 1, 2, 3, 4, 5, 6, 7,
  ];
  const [head, next, rtype, slot, r, touchedLen, day, version, records, aggregated, undef] = [
    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
  ];
  const [base, limit, off, price] = [19, 20, 21, 22];
  const [offF, pf, last, stamp, stamp0, clock, extreme] = [23, 24, 25, 26, 27, 28, 29];
  const c = new Code();
  const zero = () => c.i32(0);
  /** row[r + field] */
  const loadRow = (field: Row) => c.get(r).mem(Op.F64Load, rowAt(field));
  const storeRow = (field: Row, value: () => void) => {
    c.get(r);
    value();
    c.mem(Op.F64Store, rowAt(field));
  };
  /** array[index] of an Int32Array at address `array`. */
  const loadWord = (array: number, index: number) =>
    c.get(array).get(index).i32(2).op(Op.I32Shl, Op.I32Add).mem(Op.I32Load);
  const size = () => c.get(p).mem(Op.I32Load, TRADE_SIZE).op(Op.F64ConvertI32U);

  zero().mem(Op.I64Load, iAt(ScanInt.BaseWordLo)).set(base);
  // No minute open: an empty range, so every trade stops the scan.
  c.i64(MINUTE_NS).i64(0n);
  zero().mem(Op.I32Load, iAt(ScanInt.MinuteOpen)).op(Op.Select).set(limit);
  zero().mem(Op.F64Load, fAt(ScanFloat.Stamp)).set(stamp0);
  zero().mem(Op.F64Load, fAt(ScanFloat.ClockOff)).set(clock);
  zero().mem(Op.I32Load, iAt(ScanInt.TouchedLen)).set(touchedLen);
  zero().mem(Op.I32Load, iAt(ScanInt.Day)).set(day);
  zero().mem(Op.I32Load, iAt(ScanInt.Version)).set(version);
  c.block('exit', () => {
    c.loop('next', () => {
      c.get(p).get(end).op(Op.I32GeU).brIf('exit');
      // Word 0: length in words, rtype, publisher_id.
      c.get(p).mem(Op.I32Load).set(head);
      c.get(p).get(head).i32(0xff).op(Op.I32And).i32(2).op(Op.I32Shl, Op.I32Add).set(next);
      // A record running past `end` is left for the caller (the rest of it is not copied in).
      c.get(next).get(end).op(Op.I32GtU).brIf('exit');
      c.get(head).i32(8).op(Op.I32ShrU).i32(0xff).op(Op.I32And).set(rtype);
      c.get(rtype).if(() => {
        c.get(rtype).i32(RType.SYSTEM).op(Op.I32Eq).brIf('exit');
        c.get(version).get(rtype).i32(RType.SYMBOL_MAPPING).op(Op.I32Eq, Op.I32Add).set(version);
        c.get(next).set(p).br('next');
      });
      // A trade: in the open minute when ts_recv - start (unsigned) is below a minute.
      c.get(p).mem(Op.I64Load, TRADE_TS_RECV).get(base).op(Op.I64Sub).set(off);
      c.get(off).get(limit).op(Op.I64LtU, Op.I32Eqz).brIf('exit');
      c.get(off).op(Op.F64ConvertI64S).set(offF);
      c.get(p).mem(Op.I64Load, TRADE_PRICE).set(price);
      c.get(price)
        .i64(UNDEF_PRICE)
        .op(Op.I64Eq)
        .if(
          () => {
            c.get(undef).i32(1).op(Op.I32Add).set(undef);
          },
          () => {
            // Integer 1e-9 units, exact below 2^53 (rounded to nearest above, as JS would).
            c.get(price).op(Op.F64ConvertI64S).set(pf);
            // slot = id < DIRECT_IDS ? slotById[id] : 0 (read in range either way).
            c.get(slotById);
            c.get(p)
              .mem(Op.I32Load, TRADE_ID)
              .i32(DIRECT_IDS - 1)
              .op(Op.I32And);
            c.i32(2).op(Op.I32Shl, Op.I32Add).mem(Op.I32Load);
            zero();
            c.get(p).mem(Op.I32Load, TRADE_ID).i32(DIRECT_IDS).op(Op.I32LtU, Op.Select).set(slot);
            c.get(rows).get(slot).i32(6).op(Op.I32Shl, Op.I32Add).set(r);
            loadRow(Row.Last).set(last);
            c.get(stamp0).get(offF).op(Op.F64Add).set(stamp);
            c.get(last)
              .get(stamp0)
              .op(Op.F64Ge)
              .if(
                () => {
                  // select, not f64.max/min: those handle NaN and -0 with branches (no price is).
                  storeRow(Row.High, () => {
                    c.get(pf);
                    loadRow(Row.High).set(extreme);
                    c.get(extreme).get(pf).get(extreme).op(Op.F64Gt, Op.Select);
                  });
                  storeRow(Row.Low, () => {
                    c.get(pf);
                    loadRow(Row.Low).set(extreme);
                    c.get(extreme).get(pf).get(extreme).op(Op.F64Lt, Op.Select);
                  });
                  c.get(stamp)
                    .get(last)
                    .op(Op.F64Ge)
                    .if(
                      () => {
                        storeRow(Row.Close, () => c.get(pf));
                        storeRow(Row.Last, () => c.get(stamp));
                      },
                      () => {
                        c.get(stamp);
                        loadRow(Row.First)
                          .op(Op.F64Lt)
                          .if(() => {
                            storeRow(Row.Open, () => c.get(pf));
                            storeRow(Row.First, () => c.get(stamp));
                          });
                      },
                    );
                  storeRow(Row.Volume, () => {
                    loadRow(Row.Volume);
                    size().op(Op.F64Add);
                  });
                  storeRow(Row.Count, () => loadRow(Row.Count).f64(1).op(Op.F64Add));
                },
                () => {
                  // The instrument's first trade this minute (slot 0: an id not seen yet).
                  loadWord(symDay, slot).get(day).op(Op.I32Ne).brIf('exit');
                  loadWord(symVersion, slot).get(version).op(Op.I32Ne).brIf('exit');
                  c.get(touchedLen).get(touchedCap).op(Op.I32Eq).brIf('exit');
                  for (const field of [Row.Open, Row.High, Row.Low, Row.Close]) {
                    storeRow(field, () => c.get(pf));
                  }
                  storeRow(Row.First, () => c.get(stamp));
                  storeRow(Row.Last, () => c.get(stamp));
                  storeRow(Row.Volume, size);
                  storeRow(Row.Count, () => c.f64(1));
                  c.get(touched).get(touchedLen).i32(2).op(Op.I32Shl, Op.I32Add);
                  c.get(slot).mem(Op.I32Store);
                  c.get(touchedLen).i32(1).op(Op.I32Add).set(touchedLen);
                },
              );
            c.get(aggregated).i32(1).op(Op.I32Add).set(aggregated);
          },
        );
      c.get(records).i32(1).op(Op.I32Add).set(records);
      c.get(offF).get(clock).get(offF).get(clock).op(Op.F64Gt, Op.Select).set(clock);
      c.get(next).set(p).br('next');
    });
  });
  zero().get(clock).mem(Op.F64Store, fAt(ScanFloat.ClockOff));
  zero().get(touchedLen).mem(Op.I32Store, iAt(ScanInt.TouchedLen));
  zero().get(version).mem(Op.I32Store, iAt(ScanInt.Version));
  for (const [field, local] of [
    [ScanInt.Records, records],
    [ScanInt.Aggregated, aggregated],
    [ScanInt.UndefinedPrice, undef],
  ] as const) {
    zero();
    zero().mem(Op.I32Load, iAt(field)).get(local).op(Op.I32Add);
    c.mem(Op.I32Store, iAt(field));
  }
  c.get(p);
  const i32s = (n: number) => Array<T>(n).fill(T.I32);
  return {
    name: 'scan',
    params: i32s(8),
    results: [T.I32],
    locals: [...i32s(11), ...Array<T>(4).fill(T.I64), ...Array<T>(7).fill(T.F64)],
    body: c,
  };
}

type ScanFn = (
  p: number,
  end: number,
  rows: number,
  slotById: number,
  symDay: number,
  symVersion: number,
  touched: number,
  touchedCap: number,
) => number;

/** The part of the WebAssembly JS API used here (@types/node 20 leaves it to the DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
function webAssembly(): WasmApi {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) {
    throw new Error(
      'the screener’s trades scan needs WebAssembly, which this Node.js does not provide (started with --jitless?)',
    );
  }
  return api;
}

let compiled: object | undefined;

/**
 * The scan's WebAssembly instance and memory: allocates the shared state in it (a bump
 * allocator; a grown array moves to fresh bytes, so the old copy is left unused) and keeps
 * `st`'s views current when the memory grows.
 */
export class TradeScanner {
  readonly st: ScanState;
  private readonly memory: WasmMemory;
  private readonly fn: ScanFn;
  private top = HEADER;
  private capacity = 0;
  private rowsAt = 0;
  private slotByIdAt = 0;
  private symDayAt = 0;
  private symVersionAt = 0;
  private touchedAt = 0;
  private touchedCap = 0;
  private inputAt = 0;
  /** All of the memory, for copies into it. */
  private u8 = new Uint8Array(0);

  constructor(capacity: number, touchedCap: number) {
    const wasm = webAssembly();
    compiled ??= new wasm.Module(encodeModule([scanFunction()]));
    this.memory = new wasm.Memory({ initial: 1 });
    this.fn = new wasm.Instance(compiled, { env: { memory: this.memory } }).exports.scan as ScanFn;
    const empty = new Int32Array(0);
    this.st = {
      row: new Float64Array(0),
      slotById: empty,
      symDay: empty,
      symVersion: empty,
      touched: empty,
      f: new Float64Array(0),
      i: empty,
    };
    this.slotByIdAt = this.alloc(DIRECT_IDS * 4);
    this.inputAt = this.alloc(SCAN_PIECE);
    this.views();
    this.st.f[ScanFloat.Stamp] = STAMP_STEP;
    this.grow(capacity);
    this.growTouched(touchedCap);
  }

  /** Slots rows can hold. */
  get slots(): number {
    return this.capacity;
  }

  /** Grows rows and symbol stamps to `capacity` slots, keeping what they hold. */
  grow(capacity: number): void {
    const old = this.capacity;
    const rowsAt = this.alloc(capacity * Row.Size * 8);
    const symDayAt = this.alloc(capacity * 4);
    const symVersionAt = this.alloc(capacity * 4);
    const u8 = new Uint8Array(this.memory.buffer);
    u8.copyWithin(rowsAt, this.rowsAt, this.rowsAt + old * Row.Size * 8);
    u8.copyWithin(symDayAt, this.symDayAt, this.symDayAt + old * 4);
    u8.copyWithin(symVersionAt, this.symVersionAt, this.symVersionAt + old * 4);
    this.rowsAt = rowsAt;
    this.symDayAt = symDayAt;
    this.symVersionAt = symVersionAt;
    this.capacity = capacity;
    this.views();
    // Fresh bytes are zero: a Last of 0 is below every stamp base (>= STAMP_STEP); symbol
    // stamps must not match day 0 / version 0.
    this.st.symDay.fill(-1, old);
    this.st.symVersion.fill(-1, old);
  }

  /** Grows the touched list to `n` entries, keeping what it holds. */
  growTouched(n: number): void {
    const at = this.alloc(n * 4);
    new Uint8Array(this.memory.buffer).copyWithin(
      at,
      this.touchedAt,
      this.touchedAt + this.touchedCap * 4,
    );
    this.touchedAt = at;
    this.touchedCap = n;
    this.views();
  }

  /**
   * Copies `bytes[start, end)` (at most SCAN_PIECE bytes) into the scan's input area; returns
   * its address there.
   */
  copyIn(bytes: Uint8Array, start: number, end: number): number {
    if (end - start > SCAN_PIECE) {
      throw new RangeError(`copyIn takes at most ${SCAN_PIECE} bytes, not ${end - start}`);
    }
    this.u8.set(bytes.subarray(start, end), this.inputAt);
    return this.inputAt;
  }

  /**
   * Aggregates the TradeMsgs at addresses [from, end) (whole records, copied in by copyIn),
   * skipping symbol mappings (counted into ScanInt.Version) and other record types; returns the
   * address of the first record it cannot handle (a system message, a trade outside the open
   * minute, a trade starting the bar of an instrument without a symbol resolved for the day, or
   * a full touched list), or `end`.
   */
  scan(from: number, end: number): number {
    return this.fn(
      from,
      end,
      this.rowsAt,
      this.slotByIdAt,
      this.symDayAt,
      this.symVersionAt,
      this.touchedAt,
      this.touchedCap,
    );
  }

  private alloc(bytes: number): number {
    const at = this.top;
    this.top = (at + bytes + 63) & ~63;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / PAGE));
    return at;
  }

  /** Re-creates the views (a grown memory detaches the old ones). */
  private views(): void {
    const buf = this.memory.buffer;
    const st = this.st;
    this.u8 = new Uint8Array(buf);
    st.f = new Float64Array(buf, F_AT, F_COUNT);
    st.i = new Int32Array(buf, I_AT, I_COUNT);
    st.slotById = new Int32Array(buf, this.slotByIdAt, DIRECT_IDS);
    st.row = new Float64Array(buf, this.rowsAt, this.capacity * Row.Size);
    st.symDay = new Int32Array(buf, this.symDayAt, this.capacity);
    st.symVersion = new Int32Array(buf, this.symVersionAt, this.capacity);
    st.touched = new Int32Array(buf, this.touchedAt, this.touchedCap);
  }
}
