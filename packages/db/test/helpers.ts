import type { BarInput } from '@timed/schema';

/** A valid trades bar at `minute` (epoch minutes) with prices around `base`. */
export function bar(
  symbol: string,
  minute: number,
  base = 100,
  extra: Partial<BarInput> = {},
): BarInput {
  return {
    symbol,
    timestamp: new Date(minute * 60_000),
    open: base,
    high: base + 1,
    low: base - 1,
    close: base + 0.5,
    volume: 1000 + minute,
    trade_count: 10,
    is_legacy: false,
    data_source: 'trades',
    ...extra,
  };
}
