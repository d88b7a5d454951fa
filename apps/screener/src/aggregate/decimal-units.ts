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
