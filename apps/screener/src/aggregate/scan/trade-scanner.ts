import type { RowMemory } from '../row-memory.js';
import {
  DIRECT_IDS,
  HEADER_BYTES,
  ROW_BYTES,
  ScanHeader,
  type ScanState,
  STAMP_STEP,
} from './layout.js';
import scanModule from './trade-scan.wat';

/**
 * Bytes of input the scan's memory takes at a time (above any record's 1,020): small enough to
 * stay in cache between the copy and the scan.
 */
export const SCAN_PIECE = 32 * 1024;

const PAGE = 65536;

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
 * The WebAssembly scan (trade-scan.wat) and its memory, which holds the shared state in
 * layout.ts's layout: a bump allocator places the arrays (a grown array moves to fresh bytes and
 * the old copy is left unused) and `st`'s views are renewed whenever the memory grows.
 */
export class TradeScanner implements RowMemory {
  readonly st: ScanState;
  private readonly memory: WasmMemory;
  private readonly fn: ScanFn;
  private top = HEADER_BYTES;
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
    compiled ??= new wasm.Module(scanModule);
    this.memory = new wasm.Memory({ initial: 1 });
    this.fn = new wasm.Instance(compiled, { env: { memory: this.memory } }).exports.scan as ScanFn;
    const empty = new Int32Array(0);
    this.st = {
      header: new ScanHeader(this.memory.buffer),
      row: new Float64Array(0),
      slotById: empty,
      symDay: empty,
      symVersion: empty,
      touched: empty,
    };
    this.slotByIdAt = this.alloc(DIRECT_IDS * 4);
    this.inputAt = this.alloc(SCAN_PIECE);
    this.views();
    this.st.header.stampBase = STAMP_STEP;
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
    const rowsAt = this.alloc(capacity * ROW_BYTES);
    const symDayAt = this.alloc(capacity * 4);
    const symVersionAt = this.alloc(capacity * 4);
    const u8 = new Uint8Array(this.memory.buffer);
    u8.copyWithin(rowsAt, this.rowsAt, this.rowsAt + old * ROW_BYTES);
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
   * skipping symbol mappings (counted into the header's mappingVersion) and other record types;
   * returns the address of the first record it cannot handle (a system message, a trade outside
   * the open minute, a trade starting the bar of an instrument without a symbol resolved for the
   * day, or a full touched list), or `end`.
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
    st.header.bind(buf);
    st.slotById = new Int32Array(buf, this.slotByIdAt, DIRECT_IDS);
    st.row = new Float64Array(buf, this.rowsAt, this.capacity * (ROW_BYTES / 8));
    st.symDay = new Int32Array(buf, this.symDayAt, this.capacity);
    st.symVersion = new Int32Array(buf, this.symVersionAt, this.capacity);
    st.touched = new Int32Array(buf, this.touchedAt, this.touchedCap);
  }
}
