import type { HourlyCoverage, MigrationFacts } from './operations-queries.js';

/** Ids of the seed's success criteria. */
export type CriterionId =
  | 'new_bars_have_volume'
  | 'min_new_bars'
  | 'coverage_per_hour'
  | 'one_screener_alive'
  | 'no_screener_errors_last_hour'
  | 'days_of_new_data'
  | 'no_screener_errors_since_switch';

/** One success criterion of the seed, evaluated: its value, target and pass/fail. */
export interface Criterion {
  id: CriterionId;
  description: string;
  value: number | null;
  target: string;
  pass: boolean;
  details: Record<string, unknown>;
}

/** The seed's "at least 1,000 new bars collected". */
export const MIN_NEW_BARS = 1_000;

/** The seed's "after verifying new data is good for 3+ days" (the default of `minDays`). */
export const MIN_DAYS_OF_NEW_DATA = 3;

/** Options of evaluateCriteria. */
export interface CriteriaOptions {
  /** Days of trades bars the switch must have lasted (default MIN_DAYS_OF_NEW_DATA). */
  minDays?: number;
}

const DAY_MS = 86_400_000;

function perHour(c: HourlyCoverage): number | null {
  if (c.hours.length === 0) return null;
  return c.hours.reduce((n, h) => n + h.bars, 0) / c.hours.length;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Evaluates the seed's success criteria from live facts, each with its value and pass/fail.
 * Coverage compares bars per active UTC hour: new bars over the day ending at the newest new bar,
 * legacy bars over the day ending at the newest legacy bar (legacy collection stopped at the
 * switch, so "the last day" of each kind is the fair comparison).
 */
export function evaluateCriteria(f: MigrationFacts, options: CriteriaOptions = {}): Criterion[] {
  const minDays = options.minDays ?? MIN_DAYS_OF_NEW_DATA;
  const zeroVolume = f.new_bars - f.new_bars_with_volume;
  const newRate = perHour(f.new_coverage);
  const legacyRate = perHour(f.legacy_coverage);
  const alive = f.screeners.filter((s) => s.alive);
  const hourAgo = f.now.getTime() - 3_600_000;
  const erring = f.screeners.filter((s) => s.last_error_at && s.last_error_at.getTime() > hourAgo);
  const sw = f.since_switch;
  // Days from the switch to the newest trades bar: the span of trades data the gates verify.
  // Floored to hundredths, so a value shown as 3 has really reached 3.
  const days =
    sw.switch_at && sw.newest_trades_bar
      ? Math.floor(
          (Math.max(0, sw.newest_trades_bar.getTime() - sw.switch_at.getTime()) / DAY_MS) * 100,
        ) / 100
      : null;
  return [
    {
      id: 'new_bars_have_volume',
      description: 'New bars have volume > 0',
      value: f.new_bars === 0 ? null : round(f.new_bars_with_volume / f.new_bars, 4),
      target: 'share of new bars with volume > 0 = 1',
      pass: f.new_bars > 0 && zeroVolume === 0,
      details: {
        new_bars: f.new_bars,
        with_volume: f.new_bars_with_volume,
        zero_volume: zeroVolume,
      },
    },
    {
      id: 'min_new_bars',
      description: `At least ${MIN_NEW_BARS.toLocaleString('en-US')} new bars collected`,
      value: f.new_bars,
      target: `>= ${MIN_NEW_BARS}`,
      pass: f.new_bars >= MIN_NEW_BARS,
      details: {},
    },
    {
      id: 'coverage_per_hour',
      description: 'New-bar coverage per hour matches or exceeds legacy (MBP-1) coverage',
      value: newRate === null ? null : round(newRate),
      target:
        legacyRate === null
          ? '> 0 new bars per hour (no legacy bars to compare)'
          : `>= ${round(legacyRate)} bars per hour (legacy)`,
      pass: newRate !== null && (legacyRate === null || newRate >= legacyRate),
      details: {
        new_bars_per_hour: newRate === null ? null : round(newRate),
        legacy_bars_per_hour: legacyRate === null ? null : round(legacyRate),
        new_hours: f.new_coverage.hours.length,
        legacy_hours: f.legacy_coverage.hours.length,
        new_window_end: f.new_coverage.newest_bar,
        legacy_window_end: f.legacy_coverage.newest_bar,
      },
    },
    {
      id: 'one_screener_alive',
      description: 'Exactly one screener process running',
      value: alive.length,
      target: '= 1',
      pass: alive.length === 1,
      details: {
        alive: alive.map((s) => ({
          instance_id: s.instance_id,
          host: s.host,
          pid: s.pid,
          dataset: s.dataset,
          schema: s.schema,
        })),
      },
    },
    {
      id: 'no_screener_errors_last_hour',
      description: 'No screener errors in the last hour',
      value: erring.length,
      target: '= 0 screeners reporting an error',
      pass: erring.length === 0,
      details: {
        errors: erring.map((s) => ({
          instance_id: s.instance_id,
          last_error: s.last_error,
          last_error_at: s.last_error_at,
        })),
      },
    },
    {
      id: 'days_of_new_data',
      description: `At least ${minDays} day(s) of trades bars since the switch`,
      value: days,
      target: `>= ${minDays} days from the switch to the newest trades bar`,
      pass: days !== null && days >= minDays,
      details: {
        min_days: minDays,
        switch_at: sw.switch_at,
        switch_source: sw.switch_source,
        first_trades_bar: sw.first_trades_bar,
        newest_trades_bar: sw.newest_trades_bar,
      },
    },
    {
      id: 'no_screener_errors_since_switch',
      description: 'No screener errors since the switch',
      value: sw.errors,
      target: '= 0 errors counted by screeners seen since the switch',
      pass: sw.errors === 0,
      details: { switch_at: sw.switch_at, errors: sw.error_rows },
    },
  ];
}
