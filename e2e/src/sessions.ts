import { sessionDayOf, sessionDayStart } from '@timed/db';
import { type EncodableRecord, encodeDbn, type TradeMsg } from '@timed/dbn';
import { generateTradesSession, type TradesSession } from '@timed/dbn/gateway';

const MINUTE_MS = 60_000;
const NS_PER_MS = 1_000_000n;

/** Where a past session lies (epoch ms, whole minutes, end exclusive) and its session day. */
export interface SessionWindow {
  startMs: number;
  endMs: number;
  /** The session day (04:00 New York onwards) the whole session belongs to. */
  sessionDay: string;
}

/**
 * The times of a session of `minutes` minutes that ended at least `endedMinutesAgo` minutes
 * before `nowMs`, chosen so that the whole session lies in one session day (they start at 04:00
 * New York) and that day goes on for at least `endedMinutesAgo` minutes after the session ends:
 * its last `minutes + endedMinutesAgo` minutes ago when they fit in the current session day, else
 * (in the first hours after 04:00) the end of the previous session day, `endedMinutesAgo` minutes
 * before it ends. Whatever the hour, the live state a screener builds from the session (its day
 * figures, previous closes, leaderboard) then belongs to the session's day, and a feed clock
 * started at its end (sessionFeedClock) stays in that day while a test runs.
 */
export function pastSessionWindow(
  nowMs: number,
  options: { minutes: number; endedMinutesAgo: number },
): SessionWindow {
  const spanMs = options.minutes * MINUTE_MS;
  const gapMs = options.endedMinutesAgo * MINUTE_MS;
  const nowMinuteMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const dayStart = sessionDayStart(sessionDayOf(nowMinuteMs));
  let endMs = nowMinuteMs - gapMs;
  // Not enough of the current session day behind us: the previous day's last part instead.
  if (endMs - spanMs < dayStart) endMs = dayStart - gapMs;
  const startMs = endMs - spanMs;
  return { startMs, endMs, sessionDay: sessionDayOf(startMs) };
}

/** A generated trades session placed by pastSessionWindow (now = the wall clock). */
export function pastSession(options: {
  minutes: number;
  endedMinutesAgo: number;
  symbols: number;
  tradesPerSecond: number;
  seed: number;
}): TradesSession {
  const { startMs, endMs } = pastSessionWindow(Date.now(), options);
  return generateTradesSession({
    symbols: options.symbols,
    start: BigInt(startMs) * NS_PER_MS,
    end: BigInt(endMs) * NS_PER_MS,
    seed: options.seed,
    tradesPerSecond: options.tradesPerSecond,
  });
}

/**
 * A clock for the local gateway (`nowNs`) replaying a past session as if it were live: the
 * session's end when the clock is made, then moving with the wall clock. Its heartbeats then
 * agree with the trades it sends, so a screener's session day (it follows the feed's clock) stays
 * the session's, instead of jumping to the wall clock's day when a 04:00 New York lies between
 * the session's end and now.
 */
export function sessionFeedClock(
  session: Pick<TradesSession, 'end'>,
  wallMs: () => number = Date.now,
): () => bigint {
  const startedAt = wallMs();
  return () => session.end + BigInt(wallMs() - startedAt) * NS_PER_MS;
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
