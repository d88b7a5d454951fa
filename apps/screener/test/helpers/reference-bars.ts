import type { EncodableRecord } from '@timed/dbn';

/** A bar as the tests compare it: exact decimal text and whole numbers. */
export interface PlainBar {
  symbol: string;
  minute: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trade_count: number;
  data_source: string;
}

const UNDEF = 9223372036854775807n;
const MINUTE = 60_000_000_000n;

function decimal(units: bigint, scale: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const int = abs / scale;
  const digits = scale === 1_000_000_000n ? 9 : 10;
  const rem = abs % scale;
  const frac = (scale === 1_000_000_000n ? rem : rem * 5n)
    .toString()
    .padStart(digits, '0')
    .replace(/0+$/, '');
  return `${neg && (int > 0n || frac) ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/**
 * The straightforward rebuild the screener's bars must equal: group records by symbol and
 * floor(ts_recv / 60 s), sort each group by ts_recv (stable), take first/max/min/last/sum.
 * Written independently of the screener (BigInt throughout, no streaming, no clock).
 */
export function referenceBars(
  records: EncodableRecord[],
  symbolOf: (id: number) => string | undefined,
  source: 'trades' | 'mbp-1' = 'trades',
): PlainBar[] {
  const groups = new Map<string, Array<{ ts: bigint; px: bigint; size: bigint; seq: number }>>();
  records.forEach((r, seq) => {
    let px: bigint;
    let size: bigint;
    if (source === 'trades') {
      if (r.kind !== 'TradeMsg' || r.price === UNDEF) return;
      px = r.price * 2n;
      size = BigInt(r.size);
    } else {
      if (r.kind !== 'Mbp1Msg') return;
      const { bid_px, ask_px } = r.levels[0];
      if (bid_px === UNDEF || ask_px === UNDEF) return;
      const bid = Number(bid_px) * 1e-9;
      const ask = Number(ask_px) * 1e-9;
      const mid = (bid + ask) * 0.5;
      if (mid > 0 && (ask - bid) / mid > 0.02) return;
      px = bid_px + ask_px;
      size = 0n;
    }
    const symbol = symbolOf(r.instrument_id);
    if (!symbol) return;
    const key = `${symbol}|${r.ts_recv / MINUTE}`;
    let g = groups.get(key);
    if (!g) {
      g = [];
      groups.set(key, g);
    }
    g.push({ ts: r.ts_recv, px, size, seq });
  });
  const bars: PlainBar[] = [];
  for (const [key, g] of groups) {
    g.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.seq - b.seq));
    const [symbol, minute] = key.split('|') as [string, string];
    let hi = g[0]!.px;
    let lo = g[0]!.px;
    let vol = 0n;
    for (const t of g) {
      if (t.px > hi) hi = t.px;
      if (t.px < lo) lo = t.px;
      vol += t.size;
    }
    // Prices were doubled above so trades and mids share one exact formatter.
    const fmt = (v: bigint) => decimal(v, 2_000_000_000n);
    bars.push({
      symbol,
      minute: new Date(Number(BigInt(minute) * 60_000n)).toISOString(),
      open: fmt(g[0]!.px),
      high: fmt(hi),
      low: fmt(lo),
      close: fmt(g[g.length - 1]!.px),
      volume: vol.toString(),
      trade_count: g.length,
      data_source: source,
    });
  }
  return sortBars(bars);
}

/** Sorts bars by symbol then minute. */
export function sortBars<T extends { symbol: string; minute: string }>(bars: T[]): T[] {
  return bars.sort((a, b) =>
    a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.minute < b.minute ? -1 : 1,
  );
}

/** Normalises a numeric text from Postgres or the screener ("12.50" -> "12.5", "3.0" -> "3"). */
export function normDecimal(text: string | number | bigint): string {
  const s = String(text);
  if (!s.includes('.')) return s;
  return s.replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * The VWAP of each trades bar, rebuilt independently: Σ(price × size) / Σ size over the bar's
 * trades in exact BigInt arithmetic, in dollars, keyed `symbol|minute` (minute as ISO text);
 * null for a bar without volume.
 */
export function referenceVwaps(
  records: EncodableRecord[],
  symbolOf: (id: number) => string | undefined,
): Map<string, number | null> {
  const sums = new Map<string, { priceVolume: bigint; volume: bigint }>();
  for (const r of records) {
    if (r.kind !== 'TradeMsg' || r.price === UNDEF) continue;
    const symbol = symbolOf(r.instrument_id);
    if (!symbol) continue;
    const minute = new Date(Number((r.ts_recv / MINUTE) * 60_000n)).toISOString();
    const key = `${symbol}|${minute}`;
    const sum = sums.get(key) ?? { priceVolume: 0n, volume: 0n };
    sum.priceVolume += r.price * BigInt(r.size);
    sum.volume += BigInt(r.size);
    sums.set(key, sum);
  }
  const vwaps = new Map<string, number | null>();
  for (const [key, { priceVolume, volume }] of sums) {
    // Quotient in 1e-18 dollars, then one rounding to a double.
    vwaps.set(key, volume === 0n ? null : Number((priceVolume * 10n ** 9n) / volume) / 1e18);
  }
  return vwaps;
}

/**
 * Bars whose vwap is not within `relative` of the reference (or not null where it is null), or
 * that the reference lacks, each as `symbol|minute got want`; empty when every bar agrees.
 */
export function vwapMismatches(
  bars: ReadonlyArray<{ symbol: string; timestamp: Date; vwap?: unknown }>,
  reference: Map<string, number | null>,
  relative = 1e-6,
): string[] {
  const wrong: string[] = [];
  for (const bar of bars) {
    const key = `${bar.symbol}|${bar.timestamp.toISOString()}`;
    const want = reference.get(key);
    const got = bar.vwap;
    const ok =
      want === null
        ? got === null
        : want !== undefined &&
          typeof got === 'number' &&
          Math.abs(got - want) <= relative * Math.abs(want);
    if (!ok) wrong.push(`${key} ${String(got)} ${String(want)}`);
  }
  return wrong;
}
