import { z } from 'zod';
import { ApiBar } from './bar.js';

/** Most bars one page may hold. */
export const MAX_BARS_LIMIT = 50_000;
/** Bars per page when `limit` is absent. */
export const DEFAULT_BARS_LIMIT = 1_000;

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

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
  .transform((v) => v === 'true' || v === '1');

/** Query string of `GET /bars/:symbol`. */
export const BarsQuery = z
  .object({
    start: isoBound('start').optional(),
    end: isoBound('end').optional(),
    include_legacy: booleanFlag.default(false),
    limit: z.coerce
      .number({ message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
      .int({ message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
      .min(1, { message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
      .max(MAX_BARS_LIMIT, { message: `must be a whole number from 1 to ${MAX_BARS_LIMIT}` })
      .default(DEFAULT_BARS_LIMIT),
    cursor: z.string().max(200).optional(),
    interval: BarInterval.default('1m'),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .superRefine((q, ctx) => {
    if (q.start && q.end && q.start.getTime() > q.end.getTime()) {
      ctx.addIssue({ code: 'custom', path: ['start'], message: 'start is after end' });
    }
  });
export type BarsQuery = z.infer<typeof BarsQuery>;

/** Response body of `GET /bars/:symbol`. */
export const BarsResponse = z.object({
  symbol: z.string(),
  bars: z.array(ApiBar),
  next_cursor: z.string().nullable(),
});
export type BarsResponse = z.infer<typeof BarsResponse>;

/** The one HTTP error shape of every service. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
