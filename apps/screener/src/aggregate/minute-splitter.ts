const TWO32 = 4294967296;
/** Nanoseconds in a minute. */
export const MINUTE_NS = 60_000_000_000;

/**
 * Splits u64 nanosecond timestamps, read as two 32-bit words, into (epoch minute, ns into the
 * minute) exactly and without BigInt. Consecutive records share the high word (it changes every
 * ~4.3 s), so the division is done once per high word.
 */
export class MinuteSplitter {
  private hi = -1;
  private baseMinute = 0;
  private baseRem = 0;
  /** Epoch minute of the last split timestamp. */
  minute = 0;
  /** Nanoseconds into that minute (0 <= offset < 60e9). */
  offset = 0;

  /** Splits `hi * 2^32 + lo` (both unsigned 32-bit words). */
  split(hi: number, lo: number): void {
    if (hi !== this.hi) {
      // hi * 2^32 and q * 60e9 are both exact doubles (multiples of 2^11 below 2^64), and
      // so is their difference, which is the remainder.
      const base = hi * TWO32;
      let q = Math.floor(base / MINUTE_NS);
      let r = base - q * MINUTE_NS;
      if (r < 0) {
        q -= 1;
        r += MINUTE_NS;
      } else if (r >= MINUTE_NS) {
        q += 1;
        r -= MINUTE_NS;
      }
      this.hi = hi;
      this.baseMinute = q;
      this.baseRem = r;
    }
    const rem = this.baseRem + lo;
    if (rem >= MINUTE_NS) {
      this.minute = this.baseMinute + 1;
      this.offset = rem - MINUTE_NS;
    } else {
      this.minute = this.baseMinute;
      this.offset = rem;
    }
  }

  /** Splits a bigint timestamp. */
  splitBig(ns: bigint): void {
    this.split(Number(ns >> 32n), Number(ns & 0xffffffffn));
  }
}
