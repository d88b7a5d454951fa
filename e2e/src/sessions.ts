import { type EncodableRecord, encodeDbn, type TradeMsg } from '@timed/dbn';
import { generateTradesSession, type TradesSession } from '@timed/dbn/gateway';

const NS_PER_MIN = 60_000_000_000n;

/** A generated trades session of `minutes` minutes that ended `endedMinutesAgo` minutes ago. */
export function pastSession(options: {
  minutes: number;
  endedMinutesAgo: number;
  symbols: number;
  tradesPerSecond: number;
  seed: number;
}) {
  const endMinute = BigInt(Math.floor(Date.now() / 60_000) - options.endedMinutesAgo);
  return generateTradesSession({
    symbols: options.symbols,
    start: (endMinute - BigInt(options.minutes)) * NS_PER_MIN,
    end: endMinute * NS_PER_MIN,
    seed: options.seed,
    tradesPerSecond: options.tradesPerSecond,
  });
}

function day(ns: bigint, plusDays = 0): string {
  return new Date(Number(ns / 1_000_000n) + plusDays * 86_400_000).toISOString().slice(0, 10);
}

/** The session as a DBN file: metadata mappings (raw symbol → instrument id) and the records. */
export function sessionFile(
  session: TradesSession,
  records: EncodableRecord[],
  schema: 'trades' | 'mbp-1',
): Uint8Array {
  return encodeDbn(
    {
      dataset: 'EQUS.MINI',
      schema,
      start: session.start,
      end: session.end,
      stype_in: 'raw_symbol',
      stype_out: 'instrument_id',
      symbols: session.instruments.map((i) => i.symbol),
      mappings: session.instruments.map((i) => ({
        raw_symbol: i.symbol,
        intervals: [
          {
            start_date: day(session.start),
            end_date: day(session.end, 1),
            symbol: String(i.instrument_id),
          },
        ],
      })),
    },
    records,
  );
}

/** Quotes around each trade (bid 1 cent below, ask 1 cent above): what mbp-1 mode bars are built from. */
export function quotesFromTrades(trades: Iterable<TradeMsg>): EncodableRecord[] {
  const out: EncodableRecord[] = [];
  for (const t of trades) {
    out.push({
      ...t,
      kind: 'Mbp1Msg',
      rtype: 0x01,
      action: 'A',
      levels: [
        {
          bid_px: t.price - 10_000_000n,
          ask_px: t.price + 10_000_000n,
          bid_sz: 100,
          ask_sz: 100,
          bid_ct: 1,
          ask_ct: 1,
        },
      ],
    } as EncodableRecord);
  }
  return out;
}
