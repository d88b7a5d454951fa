import type { LiveSymbolState } from './live-state.js';

/**
 * The publisher's side of the live-state wire form, without JSON.stringify: states are copied
 * into typed arrays when published (no allocation per state once a symbol is known) and written
 * straight into byte buffers, one payload after another, when they go out. The bytes are exactly
 * what encodeRow / statesPayload (live-state.ts) would produce: a number is written as JSON writes
 * it (JavaScript's shortest form; NaN and ±Infinity as null), a null number as null, strings
 * JSON-quoted. encodeRow stays the reference the tests compare with.
 */

/** Numeric fields of a row, after symbol, version and session day, in wire order. */
const FIELDS = 20;

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const NULL_BYTES = Buffer.from('null');

/** Longest text of a number: `-1.2345678901234567e-308` and a little slack. */
const MAX_NUMBER_BYTES = 26;

/** A growable byte buffer written front to back (reset and reused, so it allocates rarely). */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.pos = putBytes(this.buf, this.pos, b);
  }

  /** A number as JSON.stringify writes it (null for NaN and ±Infinity). */
  number(v: number): void {
    this.ensure(MAX_NUMBER_BYTES);
    this.pos = putNumber(this.buf, this.pos, v);
  }

  /** The bytes written so far (a view: valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

// The put* functions write at `p` into a buffer with room (the caller ensured it) and return the
// position after what they wrote.

function putBytes(buf: Buffer, p: number, b: Uint8Array): number {
  // Symbols and markup are short: a loop beats a native copy call.
  for (let k = 0; k < b.length; k++) buf[p++] = b[k]!;
  return p;
}

/** '00' to '99' as ASCII pairs: two digits per division. */
const PAIRS = new Uint8Array(200);
for (let n = 0; n < 100; n++) {
  PAIRS[2 * n] = 0x30 + Math.floor(n / 10);
  PAIRS[2 * n + 1] = 0x30 + (n % 10);
}

/** Number of digits of a non-negative int32. */
function digitCount(x: number): number {
  if (x < 100_000) return x < 10 ? 1 : x < 100 ? 2 : x < 1_000 ? 3 : x < 10_000 ? 4 : 5;
  return x < 1_000_000 ? 6 : x < 10_000_000 ? 7 : x < 100_000_000 ? 8 : x < 1_000_000_000 ? 9 : 10;
}

/** Writes the int32 `x` (>= 0) as exactly `len` digits ending before `end` (zero-padded). */
function putInt32(buf: Buffer, end: number, x: number, len: number): void {
  const start = end - len;
  // Int32 division by a constant compiles to a multiply; two digits at a time.
  while (x >= 100) {
    const q = (x / 100) | 0;
    const r = (x - q * 100) << 1;
    buf[--end] = PAIRS[r + 1]!;
    buf[--end] = PAIRS[r]!;
    x = q;
  }
  if (x >= 10) {
    const r = x << 1;
    buf[--end] = PAIRS[r + 1]!;
    buf[--end] = PAIRS[r]!;
  } else {
    buf[--end] = 0x30 + x;
  }
  while (end > start) buf[--end] = 0x30;
}

/** Digits of a non-negative safe integer. */
function putDigits(buf: Buffer, p: number, x: number): number {
  if (x <= 0x7fffffff) {
    const len = digitCount(x);
    putInt32(buf, p + len, x, len);
    return p + len;
  }
  // Up to 2^53: a high part and eight digits (zero-padded), each an int32.
  const high = Math.floor(x / 1e8);
  const low = x - high * 1e8;
  p = putDigits(buf, p, high);
  putInt32(buf, p + 8, low, 8);
  return p + 8;
}

/**
 * `v` as JavaScript (and so JSON) writes it. Integers and prices (multiples of 1e-9 below 10^6,
 * what the feed's fixed-point prices become) are written digit by digit without making a string:
 * a decimal of at most 15 significant digits is the shortest text of the double nearest to it,
 * which is what JavaScript writes. Anything else (VWAPs, tiny or huge values) goes through
 * String(v).
 */
function putNumber(buf: Buffer, p: number, v: number): number {
  if (Number.isSafeInteger(v)) {
    // -0 is written 0, as JSON does.
    if (v < 0) {
      buf[p++] = 0x2d;
      return putDigits(buf, p, -v);
    }
    return putDigits(buf, p, v);
  }
  if (!Number.isFinite(v)) {
    return putBytes(buf, p, NULL_BYTES);
  }
  const a = v < 0 ? -v : v;
  if (a >= 1e-6 && a < 1e6) {
    const n = Math.round(a * 1e9);
    if (n / 1e9 === a) {
      if (v < 0) buf[p++] = 0x2d;
      const whole = Math.floor(n / 1e9);
      let frac = n - whole * 1e9;
      p = putDigits(buf, p, whole);
      // Not an integer, so frac > 0: nine decimals without trailing zeros.
      let width = 9;
      let q = (frac / 10) | 0;
      while (frac === q * 10) {
        frac = q;
        q = (frac / 10) | 0;
        width--;
      }
      buf[p++] = 0x2e;
      putInt32(buf, p + width, frac, width);
      return p + width;
    }
  }
  const text = String(v);
  for (let k = 0; k < text.length; k++) buf[p++] = text.charCodeAt(k);
  return p;
}

/** Queue of store slots, each at most once, in first-queued order. */
export class SlotQueue {
  private flags = new Uint8Array(1024);
  private list = new Int32Array(1024);
  size = 0;

  /** Queues `slot`; false when it was queued already. */
  add(slot: number): boolean {
    if (slot >= this.flags.length) {
      const n = Math.max(slot + 1, this.flags.length * 2);
      const flags = new Uint8Array(n);
      flags.set(this.flags);
      this.flags = flags;
      const list = new Int32Array(n);
      list.set(this.list);
      this.list = list;
    }
    if (this.flags[slot] === 1) return false;
    this.flags[slot] = 1;
    this.list[this.size++] = slot;
    return true;
  }

  /** Hands every queued slot to `visit` in order and empties the queue. */
  drain(visit: (slot: number) => void): void {
    const n = this.size;
    this.size = 0;
    for (let k = 0; k < n; k++) {
      const slot = this.list[k]!;
      this.flags[slot] = 0;
      visit(slot);
    }
  }
}

/**
 * The newest published state of each symbol, in typed arrays (a slot per symbol, for good), and
 * the writer of its wire row. Null numbers are kept as NaN, which the wire form writes as null
 * like JSON does with NaN: one representation for both.
 */
export class LiveRowStore {
  private readonly slots = new Map<string, number>();
  /** Each slot's symbol, JSON-quoted, as UTF-8. */
  private readonly symbolBytes: Uint8Array[] = [];
  private readonly days: string[] = [];
  private versions = new Float64Array(1024);
  private values = new Float64Array(1024 * FIELDS);
  /** The last session day seen and its quoted bytes (one day at a time in practice). */
  private lastDay = '';
  private lastDayBytes: Uint8Array = Buffer.from('""');

  /** Symbols with a slot. */
  get size(): number {
    return this.symbolBytes.length;
  }

  /** Keeps `s` (read now: the caller may reuse it) as its symbol's newest row; returns the slot. */
  put(s: LiveSymbolState, version: number): number {
    let slot = this.slots.get(s.symbol);
    if (slot === undefined) slot = this.addSymbol(s.symbol);
    this.versions[slot] = version;
    this.days[slot] = s.sessionDay;
    const v = this.values;
    let k = slot * FIELDS;
    // Wire order (encodeRow), after symbol, version and session day.
    v[k++] = s.price;
    v[k++] = s.bid;
    v[k++] = s.ask;
    v[k++] = s.lastSize;
    v[k++] = s.lastTs;
    v[k++] = s.dayOpen;
    v[k++] = s.dayHigh;
    v[k++] = s.dayLow;
    v[k++] = s.volume;
    v[k++] = s.tradeCount;
    v[k++] = s.vwap ?? Number.NaN;
    v[k++] = s.prevClose ?? Number.NaN;
    v[k++] = s.barTimestamp ?? Number.NaN;
    v[k++] = s.barOpen;
    v[k++] = s.barHigh;
    v[k++] = s.barLow;
    v[k++] = s.barClose;
    v[k++] = s.barVolume;
    v[k++] = s.barTradeCount;
    v[k] = s.barVwap ?? Number.NaN;
    return slot;
  }

  /** Writes the slot's row (encodeRow's bytes) at the writer's position. */
  write(slot: number, w: ByteWriter): void {
    const symbol = this.symbolBytes[slot]!;
    const day = this.dayBytes(this.days[slot]!);
    w.ensure(symbol.length + day.length + (FIELDS + 1) * (MAX_NUMBER_BYTES + 1) + 4);
    const buf = w.buf;
    let p = w.pos;
    buf[p++] = 0x5b; // [
    p = putBytes(buf, p, symbol);
    buf[p++] = COMMA;
    p = putNumber(buf, p, this.versions[slot]!);
    buf[p++] = COMMA;
    p = putBytes(buf, p, day);
    const v = this.values;
    const base = slot * FIELDS;
    for (let k = 0; k < FIELDS; k++) {
      buf[p++] = COMMA;
      p = putNumber(buf, p, v[base + k]!);
    }
    buf[p++] = 0x5d; // ]
    w.pos = p;
  }

  private addSymbol(symbol: string): number {
    const slot = this.symbolBytes.length;
    if (slot === this.versions.length) {
      const versions = new Float64Array(slot * 2);
      versions.set(this.versions);
      this.versions = versions;
      const values = new Float64Array(slot * 2 * FIELDS);
      values.set(this.values);
      this.values = values;
    }
    this.symbolBytes.push(Buffer.from(JSON.stringify(symbol)));
    this.days.push('');
    this.slots.set(symbol, slot);
    return slot;
  }

  private dayBytes(day: string): Uint8Array {
    if (day !== this.lastDay) {
      this.lastDay = day;
      this.lastDayBytes = Buffer.from(JSON.stringify(day));
    }
    return this.lastDayBytes;
  }
}

const HEADER = Buffer.from('{"k":"s","r":[');
const TRAILER = Buffer.from(']}');

/** What packPayloads wrote. */
export interface PackedPayloads {
  /** Payloads (statesPayload's form), separated by a newline, which JSON text never contains. */
  count: number;
  totalBytes: number;
  largestBytes: number;
}

/**
 * Writes the rows of `slots` (drained) into `w` as states payloads of at most `maxBytes` each,
 * in order, as many rows per payload as fit (a row larger than maxBytes alone goes out alone).
 */
export function packPayloads(
  store: LiveRowStore,
  slots: SlotQueue,
  w: ByteWriter,
  maxBytes: number,
): PackedPayloads {
  const out: PackedPayloads = { count: 0, totalBytes: 0, largestBytes: 0 };
  if (slots.size === 0) return out;
  const done = (start: number, end: number) => {
    const bytes = end - start;
    out.count++;
    out.totalBytes += bytes;
    if (bytes > out.largestBytes) out.largestBytes = bytes;
  };
  w.reset();
  let start = 0;
  let rows = 0;
  w.bytes(HEADER);
  slots.drain((slot) => {
    const commaAt = w.pos;
    if (rows > 0) w.byte(COMMA);
    const rowStart = w.pos;
    store.write(slot, w);
    const rowEnd = w.pos;
    if (rows > 0 && rowEnd + TRAILER.length - start > maxBytes) {
      // Close the payload before this row and start the next with it: the row moves forward by
      // what replaces its comma (trailer, newline, header).
      const shift = TRAILER.length + 1 + HEADER.length - 1;
      w.ensure(shift);
      const buf = w.buf;
      buf.copyWithin(rowStart + shift, rowStart, rowEnd);
      w.pos = commaAt;
      w.bytes(TRAILER);
      done(start, w.pos);
      w.byte(NEWLINE);
      start = w.pos;
      w.bytes(HEADER);
      w.pos = rowEnd + shift;
      rows = 0;
    }
    rows++;
  });
  w.bytes(TRAILER);
  done(start, w.pos);
  return out;
}

/**
 * Writes the rows of `slots` (drained, and each added to `taken`) into `w` as one JSON array
 * (the snapshot's input); returns how many.
 */
export function rowsArray(
  store: LiveRowStore,
  slots: SlotQueue,
  taken: SlotQueue,
  w: ByteWriter,
): number {
  w.reset();
  w.byte(0x5b);
  let n = 0;
  slots.drain((slot) => {
    if (n++ > 0) w.byte(COMMA);
    store.write(slot, w);
    taken.add(slot);
  });
  w.byte(0x5d);
  return n;
}
