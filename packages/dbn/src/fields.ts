import { UNDEF_PRICE } from './constants.js';

const TWO32 = 4294967296;
const DEC = new TextDecoder('latin1');

/** Exact decimal string of a 1e-9 fixed-point price; null for UNDEF_PRICE. */
export function priceToDecimal(raw: bigint): string | null {
  if (raw === UNDEF_PRICE) return null;
  const neg = raw < 0n;
  const abs = neg ? -raw : raw;
  const int = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0');
  return `${neg ? '-' : ''}${int}.${frac}`;
}

/** Price as a JS number of dollars (may round beyond ~15 significant digits); NaN for UNDEF. */
export function priceToNumber(raw: bigint): number {
  if (raw === UNDEF_PRICE) return Number.NaN;
  const int = raw / 1_000_000_000n;
  return Number(int) + Number(raw - int * 1_000_000_000n) / 1e9;
}

/**
 * Price at `off` as an integer count of 1e-9 units, without allocating. Exact while
 * |raw| < 2^53 (prices under ~$9,007,199); NaN for UNDEF_PRICE.
 */
export function readPriceNano(view: DataView, off: number): number {
  const lo = view.getUint32(off, true);
  const hi = view.getInt32(off + 4, true);
  if (hi === 0x7fffffff && lo === 0xffffffff) return Number.NaN;
  return hi * TWO32 + lo;
}

/** u64 nanosecond timestamp at `off` floored to whole milliseconds, exact and allocation-free. */
export function readTimestampMs(view: DataView, off: number): number {
  const lo = view.getUint32(off, true);
  const hi = view.getUint32(off + 4, true);
  // hi * 2^32 ns = hi * 4294 ms + hi * 967296 ns; every term stays below 2^53.
  const ns = hi * 967296 + lo;
  return hi * 4294 + Math.floor(ns / 1e6);
}

/** NUL-terminated fixed-length ASCII string. */
export function readCString(bytes: Uint8Array, off: number, len: number): string {
  let end = off;
  const max = Math.min(off + len, bytes.length);
  while (end < max && bytes[end] !== 0) end++;
  return DEC.decode(bytes.subarray(off, end));
}

/** One `c_char` as a 1-character string ('' for NUL). */
export function readChar(view: DataView, off: number): string {
  const b = view.getUint8(off);
  return b === 0 ? '' : String.fromCharCode(b);
}

/** Write an ASCII string NUL-padded into `len` bytes; throws if it does not fit (1 NUL kept). */
export function writeCString(bytes: Uint8Array, off: number, len: number, s: string): void {
  if (s.length >= len) throw new RangeError(`string "${s}" longer than ${len - 1} bytes`);
  for (let i = 0; i < len; i++) bytes[off + i] = i < s.length ? s.charCodeAt(i) & 0xff : 0;
}

/** Date number YYYYMMDD of a UNIX-ns timestamp (UTC). */
export function tsToDateNumber(tsNs: bigint): number {
  const d = new Date(Number(tsNs / 1_000_000n));
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** `YYYYMMDD` number -> `YYYY-MM-DD`. */
export function dateNumberToIso(n: number): string {
  const y = Math.floor(n / 10000);
  const m = Math.floor(n / 100) % 100;
  const d = n % 100;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` -> `YYYYMMDD` number. */
export function isoToDateNumber(s: string): number {
  const m = /^(\d{4,})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw new RangeError(`bad date "${s}", expected YYYY-MM-DD`);
  return Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]);
}
