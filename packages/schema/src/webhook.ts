import { z } from 'zod';
import { SemverString } from './semver.js';

/** Largest accepted webhook body, in bytes (UTF-8). */
export const MAX_WEBHOOK_BYTES = 64 * 1024;

/** A ticker as TradingView's `{{ticker}}` gives it, normalised to upper case (`AAPL`, `BRK.B`, `ES1!`). */
export const Ticker = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9][A-Z0-9._!/-]{0,31}$/, {
    message: 'must be 1-32 characters: letters, digits and . _ ! / - (e.g. "AAPL", "BRK.B")',
  });

/**
 * A timestamp as epoch milliseconds or ISO 8601 text (TradingView's `{{timenow}}` / `{{time}}`),
 * normalised to epoch milliseconds.
 */
const EpochMs = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms =
    typeof value === 'number'
      ? value
      : /^\d{10,16}$/.test(value.trim())
        ? Number(value.trim())
        : Date.parse(value);
  // Seconds-since-epoch (10 digits) are recognised and scaled; anything outside 2000..2100 is refused.
  const normalised = Number.isFinite(ms) && ms < 1e11 ? ms * 1000 : ms;
  if (
    !Number.isFinite(normalised) ||
    normalised < 946_684_800_000 ||
    normalised > 4_102_444_800_000
  ) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be epoch milliseconds or an ISO 8601 time between 2000 and 2100',
    });
    return z.NEVER;
  }
  return Math.trunc(normalised);
});

const Score = z.number().finite().min(-1000).max(1000);

/** "Momentum Elite" data the score script may attach; extra fields are kept. */
export const Momentum = z.looseObject({
  elite: z.boolean(),
  score: Score.optional(),
  rank: z.number().int().min(0).optional(),
});
export type Momentum = z.infer<typeof Momentum>;

/**
 * One TradingView alert of the TimedTrading score engine. Required: `script_version`, `ticker`, `ts`.
 * Unknown extra fields are kept (the Worker stores them), bounded by MAX_WEBHOOK_BYTES overall.
 */
export const WebhookPayload = z.looseObject({
  script_version: SemverString,
  ticker: Ticker,
  ts: EpochMs,
  exchange: z.string().trim().max(32).optional(),
  interval: z.string().trim().max(16).optional(),
  price: z.number().finite().positive().optional(),
  /** Higher-timeframe score. */
  htf_score: Score.optional(),
  /** Lower-timeframe score. */
  ltf_score: Score.optional(),
  /** Composite score. */
  score: Score.optional(),
  /** Scoring state (e.g. quadrant "Q1".."Q4" or "bull"/"bear"); transitions are detected on it. */
  state: z.string().trim().min(1).max(32).optional(),
  momentum: Momentum.optional(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;
export type WebhookPayloadInput = z.input<typeof WebhookPayload>;

/** A zod issue list flattened to `path: message` lines that name each offending field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}
