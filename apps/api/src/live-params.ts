import { SymbolParam } from '@timed/schema';
import { z } from 'zod';

/** A comma list of raw symbols, upper-cased, duplicates dropped; each named when refused. */
export const SymbolList = z
  .string()
  .describe('Comma-separated raw symbols, e.g. AAPL,BRK.B')
  .transform((text, ctx) => {
    const out = new Set<string>();
    for (const part of text.split(',')) {
      const r = SymbolParam.safeParse(part);
      if (!r.success) {
        ctx.addIssue({
          code: 'custom',
          message: `"${part.trim().slice(0, 40)}" ${r.error.issues[0]?.message ?? 'is not a symbol'}`,
        });
        return z.NEVER;
      }
      out.add(r.data);
    }
    return [...out];
  });

/** Query of `GET /live`. */
export const LiveQuery = z.object({
  symbols: SymbolList.optional().describe(
    'Symbols to return; every symbol with live state when omitted',
  ),
});

const finiteMin0 = (what: string) =>
  z.coerce
    .number({ message: `must be a number ≥ 0 (${what})` })
    .refine((n) => Number.isFinite(n) && n >= 0, { message: `must be a number ≥ 0 (${what})` });

/** Query of `GET /leaderboard`. */
export const LeaderboardQuerySchema = z.object({
  direction: z
    .enum(['up', 'down'], { message: 'must be up (largest first: gainers) or down (losers)' })
    .default('up'),
  sort: z
    .enum(['pct', 'volume', 'trade_count'], { message: 'must be pct, volume or trade_count' })
    .default('pct'),
  limit: z.coerce
    .number({ message: 'must be a whole number from 1 to 500' })
    .int({ message: 'must be a whole number from 1 to 500' })
    .min(1, { message: 'must be a whole number from 1 to 500' })
    .max(500, { message: 'must be a whole number from 1 to 500' })
    .default(20),
  min_price: finiteMin0('dollars').optional(),
  min_volume: finiteMin0('shares today').optional(),
});

/** Query of `GET /stream`. */
export const StreamQuery = z.object({
  symbols: SymbolList,
  leaderboard: z
    .enum(['up', 'down'], { message: 'must be up or down' })
    .optional()
    .describe('Also send the leaderboard (sort=pct, 20 rows) at most once a second'),
  last_event_id: z
    .string()
    .optional()
    .describe('Same as the Last-Event-ID header (for clients that cannot set headers)'),
});

/** The closed mark of an event id `<mark>:<n>`; undefined when malformed. */
export function parseEventId(id: string): number | undefined {
  const m = /^(\d{1,16}):[\w.-]*$/.exec(id.trim());
  return m ? Number(m[1]) : undefined;
}

const LivePriceSchema = z.object({
  symbol: z.string(),
  price: z.number(),
  bid: z.number(),
  ask: z.number(),
  pct_from_yesterday: z.number().nullable(),
  timestamp: z.string().describe('Last trade time (ts_recv), ISO 8601 UTC'),
  day_open: z.number(),
  day_high: z.number(),
  day_low: z.number(),
  volume: z.number(),
  trade_count: z.number(),
  vwap: z.number().nullable(),
  prev_close: z.number().nullable(),
});

/** Body of `GET /live`. */
export const LiveResponse = z.object({ prices: z.array(LivePriceSchema) });

/** Body of `GET /leaderboard`. */
export const LeaderboardResponse = z.object({
  direction: z.enum(['up', 'down']),
  sort: z.enum(['pct', 'volume', 'trade_count']),
  as_of: z.string().describe('Newest trade time among the ranked symbols, ISO 8601 UTC'),
  rows: z.array(
    z.object({
      rank: z.number().int(),
      symbol: z.string(),
      price: z.number(),
      pct_from_yesterday: z.number().nullable(),
      volume: z.number(),
      trade_count: z.number(),
      vwap: z.number().nullable(),
      prev_close: z.number().nullable(),
      state: z.string().nullable().optional().describe('TradingView state (TIMED_WORKER_URL set)'),
      htf_score: z.number().nullable().optional(),
      ltf_score: z.number().nullable().optional(),
    }),
  ),
});
