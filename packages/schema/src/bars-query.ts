import { z } from 'zod';
import { ApiBar } from './bar.js';

/** Most bars one page may hold. */
export const MAX_BARS_LIMIT = 50_000;
/**
 * Bars per page when `limit` is absent: a week of extended-hours minutes (5 x 16 h x 60 = 4,800)
 * fits in one page, so a client that ignores `next_cursor` still gets a whole week.
 */
export const DEFAULT_BARS_LIMIT = 10_000;
/** Most symbols one `GET /bars?symbols=` request may name. */
export const MAX_SYMBOLS = 100;

/** Bar sizes `/bars/:symbol` can aggregate to, with their length in seconds. */
export const BAR_INTERVALS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86_400 } as const;
export const BarInterval = z.enum(['1m', '5m', '15m', '1h', '1d']);
export type BarInterval = z.infer<typeof BarInterval>;

/** A raw symbol in a path: case-insensitive, normalised to upper case. */
export const SymbolParam = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9][A-Z0-9._/-]{0,31}$/, {
    message: 'must be 1-32 letters, digits or . _ / - (e.g. "AAPL", "BRK.B")',
  });

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Parses an ISO 8601 instant. A date alone means that UTC day: its first millisecond for a start,
 * its last for an (inclusive) end. A time without zone is taken as UTC.
 */
export function parseIsoBound(text: string, bound: 'start' | 'end'): Date | undefined {
  const s = text.trim();
  if (!ISO_8601.test(s)) return undefined;
  if (DATE_ONLY.test(s)) {
    const day = Date.parse(`${s}T00:00:00Z`);
    if (!Number.isFinite(day) || new Date(day).toISOString().slice(0, 10) !== s) return undefined;
    return new Date(bound === 'start' ? day : day + 86_400_000 - 1);
  }
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/.test(s);
  const ms = Date.parse(hasZone ? s.replace(' ', 'T') : `${s.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

const isoBound = (bound: 'start' | 'end') =>
  z.string().transform((s, ctx) => {
    const d = parseIsoBound(s, bound);
    if (!d) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be an ISO 8601 date or time, e.g. 2025-10-24 or 2025-10-24T14:30:00Z',
      });
      return z.NEVER;
    }
    return d;
  });

/** Which minutes of the day: all, the regular session (09:30-16:00 New York), or outside it. */
export const BarSession = z.enum(['all', 'regular', 'extended']);
export type BarSession = z.infer<typeof BarSession>;
/** Gap filling: none, or minutes without trades as bars at the previous close. */
export const BarFill = z.enum(['none', 'previous']);
export type BarFill = z.infer<typeof BarFill>;
/** Response formats: a JSON page, or streamed NDJSON / CSV (whole range when limit is absent). */
export const BarFormat = z.enum(['json', 'ndjson', 'csv']);
export type BarFormat = z.infer<typeof BarFormat>;

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
  .transform((v) => v === 'true' || v === '1');

const barsQueryFields = {
  start: isoBound('start').optional(),
  end: isoBound('end').optional(),
  include_legacy: booleanFlag.default(false),
  limit: z.coerce
    .number({ message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
    .int({ message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
    .min(1, { message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
    .max(MAX_BARS_LIMIT, { message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
    .optional()
    .describe(
      `Bars per page, 1 to ${MAX_BARS_LIMIT}; JSON default ${DEFAULT_BARS_LIMIT}. ` +
        'Without it, ndjson and csv stream the whole range.',
    ),
  cursor: z.string().max(200).optional(),
  interval: BarInterval.default('1m'),
  format: BarFormat.default('json'),
  session: BarSession.default('all').describe(
    'regular: 09:30-16:00 America/New_York (DST-aware); extended: outside it; applied before interval',
  ),
  fill: BarFill.default('none').describe(
    'previous: minutes (buckets) without trades between the first and last bar become bars at the previous close, volume 0, filled: true',
  ),
};

function startBeforeEnd(q: { start?: Date; end?: Date }, ctx: z.RefinementCtx): void {
  if (q.start && q.end && q.start.getTime() > q.end.getTime()) {
    ctx.addIssue({ code: 'custom', path: ['start'], message: 'start is after end' });
  }
}

/** Query string of `GET /bars/:symbol`. */
export const BarsQuery = z.object(barsQueryFields).superRefine(startBeforeEnd);
export type BarsQuery = z.infer<typeof BarsQuery>;

/** `symbols=AAPL,msft,...`: 1 to MAX_SYMBOLS raw symbols, upper-cased, duplicates dropped. */
export const SymbolsParam = z.string().transform((text, ctx) => {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > MAX_SYMBOLS) {
    ctx.addIssue({
      code: 'custom',
      message: `at most ${MAX_SYMBOLS} symbols, got ${parts.length}`,
    });
    return z.NEVER;
  }
  const out = new Set<string>();
  for (const part of parts) {
    const r = SymbolParam.safeParse(part);
    if (!r.success) {
      ctx.addIssue({
        code: 'custom',
        message: `"${part.slice(0, 40)}" ${r.error.issues[0]?.message ?? 'is not a symbol'}`,
      });
      return z.NEVER;
    }
    out.add(r.data);
  }
  return [...out];
});

/** Query string of `GET /bars` (many symbols). */
export const MultiBarsQuery = z
  .object({
    symbols: SymbolsParam.describe(
      `Comma-separated raw symbols, 1 to ${MAX_SYMBOLS} (e.g. AAPL,MSFT,BRK.B)`,
    ),
    ...barsQueryFields,
  })
  .superRefine(startBeforeEnd);
export type MultiBarsQuery = z.infer<typeof MultiBarsQuery>;

/** Response body of `GET /bars/:symbol`. */
export const BarsResponse = z.object({
  symbol: z.string(),
  bars: z.array(ApiBar),
  next_cursor: z.string().nullable(),
});
export type BarsResponse = z.infer<typeof BarsResponse>;

/** Response body of `GET /bars?symbols=` (Alpaca's shape): symbols without bars are absent. */
export const MultiBarsResponse = z.object({
  bars: z.record(z.string(), z.array(ApiBar)),
  next_cursor: z.string().nullable(),
});
export type MultiBarsResponse = z.infer<typeof MultiBarsResponse>;

/** The one HTTP error shape of every service. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
