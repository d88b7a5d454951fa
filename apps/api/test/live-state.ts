import type { LiveSymbolState } from '@timed/db';

/** A live state with plausible figures; `extra` overrides any field. */
export function liveState(
  symbol: string,
  price: number,
  extra: Partial<LiveSymbolState> = {},
): LiveSymbolState {
  return {
    symbol,
    sessionDay: '2025-10-22',
    price,
    bid: price,
    ask: price,
    lastSize: 100,
    lastTs: Date.parse('2025-10-22T14:00:01.500Z'),
    dayOpen: price,
    dayHigh: price,
    dayLow: price,
    volume: 1_000,
    tradeCount: 10,
    vwap: price,
    prevClose: 100,
    barTimestamp: Date.parse('2025-10-22T14:00:00Z'),
    barOpen: price,
    barHigh: price,
    barLow: price,
    barClose: price,
    barVolume: 100,
    barTradeCount: 1,
    barVwap: price,
    ...extra,
  };
}
