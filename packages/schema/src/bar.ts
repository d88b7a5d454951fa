import { z } from 'zod';

/** Where a bar came from: `trades` (executions, real volume) or `mbp-1` (quote mids, volume 0). */
export const DataSource = z.enum(['trades', 'mbp-1']);
export type DataSource = z.infer<typeof DataSource>;

/** A price as a JS number or an exact decimal string (e.g. from DBN's 1e-9 fixed point). */
export type PriceInput = number | string;

/** A 1-minute bar to store in `price_bars` (bar OPEN time on a whole minute, UTC). */
export interface BarInput {
  symbol: string;
  timestamp: Date;
  open: PriceInput;
  high: PriceInput;
  low: PriceInput;
  close: PriceInput;
  volume: number | bigint;
  trade_count: number;
  is_legacy?: boolean;
  data_source?: DataSource;
  /** Volume-weighted average price of the bar's trades; absent or null = unknown (stored NULL). */
  vwap?: PriceInput | null;
}

/** A bar as the API returns it: ISO timestamp, prices and volume as JSON numbers. */
export const ApiBar = z.object({
  timestamp: z.string(),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number(),
  trade_count: z.number().int(),
  is_legacy: z.boolean(),
  data_source: DataSource,
  vwap: z
    .number()
    .nullable()
    .describe(
      'Volume-weighted average price; null for legacy bars and bars stored before it existed',
    ),
  filled: z
    .literal(true)
    .optional()
    .describe('Present (true) only on bars made up by fill=previous'),
});
export type ApiBar = z.infer<typeof ApiBar>;

const DECIMAL_RE = /^-?\d{1,20}(?:\.\d{1,18})?$/;

/** Why a bar is not storable, or undefined when it is. */
export function barProblem(bar: BarInput): string | undefined {
  if (typeof bar.symbol !== 'string' || !/^[A-Z0-9][A-Z0-9._/-]{0,31}$/.test(bar.symbol)) {
    return 'symbol must be 1-32 upper-case letters, digits or . _ / -';
  }
  const t = bar.timestamp instanceof Date ? bar.timestamp.getTime() : Number.NaN;
  if (!Number.isFinite(t)) return 'timestamp is not a valid Date';
  if (t % 60_000 !== 0) return 'timestamp is not on a whole minute';
  const o = Number(bar.open);
  const h = Number(bar.high);
  const l = Number(bar.low);
  const c = Number(bar.close);
  for (const name of ['open', 'high', 'low', 'close'] as const) {
    const raw = bar[name];
    if (typeof raw === 'string' && !DECIMAL_RE.test(raw)) return `${name} is not a decimal number`;
    if (!Number.isFinite(Number(raw)) || (typeof raw !== 'string' && typeof raw !== 'number')) {
      return `${name} is not a finite price`;
    }
  }
  if (bar.vwap !== undefined && bar.vwap !== null) {
    const raw = bar.vwap;
    if (typeof raw === 'string' && !DECIMAL_RE.test(raw)) return 'vwap is not a decimal number';
    const v = Number(raw);
    if (!Number.isFinite(v) || (typeof raw !== 'string' && typeof raw !== 'number')) {
      return 'vwap is not a finite price';
    }
    if (v < l || v > h) return `vwap ${bar.vwap} is outside [low ${bar.low}, high ${bar.high}]`;
  }
  if (h < l) return `high ${bar.high} is below low ${bar.low}`;
  if (o < l || o > h) return `open ${bar.open} is outside [low ${bar.low}, high ${bar.high}]`;
  if (c < l || c > h) return `close ${bar.close} is outside [low ${bar.low}, high ${bar.high}]`;
  const vol = typeof bar.volume === 'bigint' ? bar.volume : Number(bar.volume);
  if (typeof vol === 'number' && !Number.isSafeInteger(vol)) return 'volume is not a whole number';
  if (vol < 0) return 'volume is negative';
  if (!Number.isSafeInteger(bar.trade_count)) return 'trade_count is not a whole number';
  if (bar.trade_count < 0) return 'trade_count is negative';
  if (bar.data_source !== undefined && !DataSource.options.includes(bar.data_source)) {
    return `data_source must be one of ${DataSource.options.join(', ')}`;
  }
  return undefined;
}
