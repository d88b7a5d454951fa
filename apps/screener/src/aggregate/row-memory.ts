import {
  DIRECT_IDS,
  HEADER_BYTES,
  Row,
  ScanHeader,
  type ScanState,
  STAMP_STEP,
} from './scan/layout.js';

/**
 * Where the slot table's state lives: the WebAssembly scan's memory (TradeScanner, for batch
 * replay) or plain typed arrays (PlainRowMemory, everything else). Both hand out the same views
 * (`st`) in the same layout, replaced when they grow.
 */
export interface RowMemory {
  readonly st: ScanState;
  /** Slots the rows can hold. */
  readonly slots: number;
  /** Grows rows and symbol stamps to `capacity` slots, keeping what they hold. */
  grow(capacity: number): void;
  /** Grows the touched list to `n` entries, keeping what it holds. */
  growTouched(n: number): void;
}

/** The slot table's state in ordinary typed arrays: no WebAssembly needed (live, backfill). */
export class PlainRowMemory implements RowMemory {
  readonly st: ScanState;
  private capacity = 0;

  constructor(capacity: number, touchedCap: number) {
    this.st = {
      header: new ScanHeader(new ArrayBuffer(HEADER_BYTES)),
      row: new Float64Array(0),
      slotById: new Int32Array(DIRECT_IDS),
      symDay: new Int32Array(0),
      symVersion: new Int32Array(0),
      touched: new Int32Array(0),
    };
    this.st.header.stampBase = STAMP_STEP;
    this.grow(capacity);
    this.growTouched(touchedCap);
  }

  get slots(): number {
    return this.capacity;
  }

  grow(capacity: number): void {
    const st = this.st;
    const old = this.capacity;
    st.row = grown(Float64Array, st.row, capacity * Row.Size);
    st.symDay = grown(Int32Array, st.symDay, capacity);
    st.symVersion = grown(Int32Array, st.symVersion, capacity);
    // Fresh rows are zero: a Last of 0 is below every stamp base (>= STAMP_STEP); symbol stamps
    // must not match day 0 / version 0.
    st.symDay.fill(-1, old);
    st.symVersion.fill(-1, old);
    this.capacity = capacity;
  }

  growTouched(n: number): void {
    this.st.touched = grown(Int32Array, this.st.touched, n);
  }
}

function grown<T extends Float64Array | Int32Array>(
  Type: { new (length: number): T },
  from: T,
  length: number,
): T {
  const to = new Type(length);
  to.set(from.subarray(0, Math.min(from.length, length)) as never);
  return to;
}
