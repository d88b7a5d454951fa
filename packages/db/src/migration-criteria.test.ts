import { describe, expect, it } from 'vitest';
import type { MigrationFacts, ScreenerHeartbeat, SinceSwitch } from './index.js';
import { evaluateCriteria } from './migration-criteria.js';

const NOW = new Date('2025-10-27T15:00:00Z');

function screener(id: string, extra: Partial<ScreenerHeartbeat> = {}): ScreenerHeartbeat {
  return {
    instance_id: id,
    host: 'h',
    pid: 1,
    dataset: 'XNAS.ITCH',
    schema: 'trades',
    started_at: NOW,
    last_seen: NOW,
    trades_seen: '10',
    bars_written: '5',
    errors: '0',
    last_error: null,
    last_error_at: null,
    stopped_at: null,
    alive: true,
    ...extra,
  };
}

const DAY = 86_400_000;

function since(extra: Partial<SinceSwitch> = {}): SinceSwitch {
  return {
    switch_at: new Date(NOW.getTime() - 4 * DAY),
    switch_source: 'first trades screener start',
    first_trades_bar: new Date(NOW.getTime() - 4 * DAY),
    newest_trades_bar: NOW,
    errors: 0,
    error_rows: [],
    ...extra,
  };
}

const hours = (n: number, bars: number) =>
  Array.from({ length: n }, (_, i) => ({ hour: new Date(NOW.getTime() - i * 3_600_000), bars }));

function facts(extra: Partial<MigrationFacts> = {}): MigrationFacts {
  return {
    now: NOW,
    new_bars: 2_000,
    new_bars_with_volume: 2_000,
    new_coverage: { newest_bar: NOW, hours: hours(10, 200) },
    legacy_coverage: { newest_bar: NOW, hours: hours(10, 180) },
    last_day_by_hour: [],
    screeners: [screener('a')],
    since_switch: since(),
    ...extra,
  };
}

const verdicts = (f: MigrationFacts) =>
  Object.fromEntries(evaluateCriteria(f).map((c) => [c.id, c.pass]));

describe('evaluateCriteria', () => {
  it('passes everything on good data', () => {
    expect(Object.values(verdicts(facts()))).toEqual([true, true, true, true, true, true, true]);
  });

  it('fails volume when any new bar has none, and when there are no new bars', () => {
    expect(verdicts(facts({ new_bars_with_volume: 1_999 })).new_bars_have_volume).toBe(false);
    expect(verdicts(facts({ new_bars: 0, new_bars_with_volume: 0 })).new_bars_have_volume).toBe(
      false,
    );
  });

  it('needs 1,000 new bars', () => {
    expect(verdicts(facts({ new_bars: 999, new_bars_with_volume: 999 })).min_new_bars).toBe(false);
    expect(verdicts(facts({ new_bars: 1_000, new_bars_with_volume: 1_000 })).min_new_bars).toBe(
      true,
    );
  });

  it('compares bars per active hour with legacy', () => {
    const thin = facts({ new_coverage: { newest_bar: NOW, hours: hours(10, 179) } });
    const c = evaluateCriteria(thin).find((x) => x.id === 'coverage_per_hour')!;
    expect(c).toMatchObject({ pass: false, value: 179 });
    expect(c.details).toMatchObject({ legacy_bars_per_hour: 180 });
    const noLegacy = facts({ legacy_coverage: { newest_bar: null, hours: [] } });
    expect(verdicts(noLegacy).coverage_per_hour).toBe(true);
    const none = facts({ new_coverage: { newest_bar: null, hours: [] } });
    expect(verdicts(none).coverage_per_hour).toBe(false);
  });

  it('wants exactly one live screener', () => {
    expect(verdicts(facts({ screeners: [] })).one_screener_alive).toBe(false);
    expect(verdicts(facts({ screeners: [screener('a'), screener('b')] })).one_screener_alive).toBe(
      false,
    );
    const stoppedSecond = [screener('a'), screener('b', { alive: false, stopped_at: NOW })];
    expect(verdicts(facts({ screeners: stoppedSecond })).one_screener_alive).toBe(true);
  });

  it('fails on a screener error within the last hour only', () => {
    const recent = screener('a', {
      last_error: 'boom',
      last_error_at: new Date(NOW.getTime() - 59 * 60_000),
    });
    const old = screener('a', {
      last_error: 'boom',
      last_error_at: new Date(NOW.getTime() - 61 * 60_000),
    });
    expect(verdicts(facts({ screeners: [recent] })).no_screener_errors_last_hour).toBe(false);
    expect(verdicts(facts({ screeners: [old] })).no_screener_errors_last_hour).toBe(true);
  });

  it('wants 3 days (or minDays) from the switch to the newest trades bar', () => {
    const span = (days: number) =>
      facts({ since_switch: since({ switch_at: new Date(NOW.getTime() - days * DAY) }) });
    const c = evaluateCriteria(span(2.999)).find((x) => x.id === 'days_of_new_data')!;
    // 2.999 days is shown floored (2.99), never rounded up to a passing-looking 3.
    expect(c).toMatchObject({
      pass: false,
      value: 2.99,
      target: expect.stringMatching(/>= 3 days/),
    });
    expect(verdicts(span(3)).days_of_new_data).toBe(true);
    expect(
      evaluateCriteria(span(2), { minDays: 2 }).find((x) => x.id === 'days_of_new_data'),
    ).toMatchObject({ pass: true, value: 2, details: { min_days: 2 } });
    expect(verdicts(span(4.5))).toMatchObject({ days_of_new_data: true });
    const none = facts({
      since_switch: since({ switch_at: null, switch_source: null, newest_trades_bar: null }),
    });
    expect(evaluateCriteria(none).find((x) => x.id === 'days_of_new_data')).toMatchObject({
      pass: false,
      value: null,
    });
    // Trades bars only from before the switch (a backfill): no days yet, never negative.
    const before = facts({
      since_switch: since({ newest_trades_bar: new Date(NOW.getTime() - 5 * DAY) }),
    });
    expect(evaluateCriteria(before).find((x) => x.id === 'days_of_new_data')).toMatchObject({
      pass: false,
      value: 0,
    });
  });

  it('fails on any screener error since the switch, however long ago', () => {
    const row = {
      instance_id: 'a',
      schema: 'trades',
      errors: 2,
      last_error: 'boom',
      last_error_at: new Date(NOW.getTime() - 2 * DAY),
    };
    const f = facts({ since_switch: since({ errors: 2, error_rows: [row] }) });
    const c = evaluateCriteria(f).find((x) => x.id === 'no_screener_errors_since_switch')!;
    expect(c).toMatchObject({ pass: false, value: 2, details: { errors: [row] } });
    // The last-hour criterion does not see a two-day-old error; the cumulative one does.
    expect(verdicts(f).no_screener_errors_last_hour).toBe(true);
  });
});
