const TWO32 = 4294967296;
/** Nanoseconds in a minute. */
export const MINUTE_NS = 60_000_000_000;
const MINUTE_NS_BIG = 60_000_000_000n;

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

/** Start of an epoch minute in UNIX nanoseconds. */
export function minuteStartNs(minute: number): bigint {
  return BigInt(minute) * MINUTE_NS_BIG;
}

/** Epoch minute containing a UNIX-ns timestamp. */
export function minuteOfNs(ns: bigint): number {
  return Number(ns / MINUTE_NS_BIG);
}

/**
 * Exact decimal text of an integer count of `1e-9 / divisor` units (divisor 1 for prices, 2 for
 * bid+ask sums whose half is the mid). Integers beyond 2^53 were already rounded when read; they
 * are formatted as read.
 */
export function unitsToDecimal(units: number, divisor: 1 | 2 = 1): string {
  if (!Number.isSafeInteger(units)) {
    const big = BigInt(units);
    const scale = 1_000_000_000n * BigInt(divisor);
    return bigToDecimal(big, scale, divisor === 2 ? 10 : 9);
  }
  const neg = units < 0;
  let abs = neg ? -units : units;
  let half = false;
  if (divisor === 2) {
    half = abs % 2 === 1;
    abs = (abs - (half ? 1 : 0)) / 2;
  }
  let int = Math.floor(abs / 1e9);
  let frac = abs - int * 1e9;
  if (frac < 0) {
    int -= 1;
    frac += 1e9;
  } else if (frac >= 1e9) {
    int += 1;
    frac -= 1e9;
  }
  const sign = neg ? '-' : '';
  if (frac === 0 && !half) return neg && int !== 0 ? `-${int}` : `${int}`;
  let fracText = half ? `${String(frac).padStart(9, '0')}5` : String(frac).padStart(9, '0');
  let end = fracText.length;
  while (end > 0 && fracText.charCodeAt(end - 1) === 48) end--;
  fracText = fracText.slice(0, end);
  return `${sign}${int}.${fracText}`;
}

function bigToDecimal(v: bigint, scale: bigint, digits: number): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const int = abs / scale;
  // scale is 1e9 or 2e9; for 2e9 express the fraction in 1e-10 units.
  const rem = abs % scale;
  const fracUnits = digits === 10 ? rem * 5n : rem;
  const frac = fracUnits.toString().padStart(digits, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}
