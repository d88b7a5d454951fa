import { mulberry32 } from '@timed/dbn/prng';
import type { BarInput } from '@timed/schema';

/** The repository's one test PRNG (mulberry32), so seeded prices repeat run to run. */
export { mulberry32 as prng } from '@timed/dbn/prng';

/** Rounds to 4 decimals as text (an exact numeric for Postgres). */
const px = (x: number) => x.toFixed(4);

/** Consecutive 1-minute bars of a random walk starting at `from` (epoch ms on a whole minute). */
export function walk(
  symbol: string,
  from: number,
  minutes: number,
  options: { seed?: number; base?: number; legacy?: boolean; everyNth?: number } = {},
): BarInput[] {
  const rnd = mulberry32(options.seed ?? 1);
  let price = options.base ?? 100;
  const bars: BarInput[] = [];
  const step = options.everyNth ?? 1;
  for (let i = 0; i < minutes; i += step) {
    const open = price;
    const close = Math.max(1, open + (rnd() - 0.5) * 0.8);
    const high = Math.max(open, close) + rnd() * 0.3;
    const low = Math.max(0.5, Math.min(open, close) - rnd() * 0.3);
    price = close;
    bars.push({
      symbol,
      timestamp: new Date(from + i * 60_000),
      open: px(open),
      high: px(high),
      low: px(low),
      close: px(close),
      volume: options.legacy ? 0 : 100 + Math.floor(rnd() * 5_000),
      trade_count: options.legacy ? 0 : 1 + Math.floor(rnd() * 50),
      is_legacy: options.legacy ?? false,
      data_source: options.legacy ? 'mbp-1' : 'trades',
    });
  }
  return bars;
}

/** US regular session of `day` (YYYY-MM-DD): 390 minutes from 13:30 UTC (EDT). */
export function session(symbol: string, day: string, seed = 1, legacy = false): BarInput[] {
  return walk(symbol, Date.parse(`${day}T13:30:00Z`), 390, { seed, legacy });
}
