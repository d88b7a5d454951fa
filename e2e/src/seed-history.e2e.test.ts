// The local stack's seeded history (scripts/seed-history.mjs): the days, the switch as the
// migration status dates it, the previous close the screener loads, and no second seeding.
import { createDb, type Db, migrationFacts, previousCloses, sql, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import { generateTradesSession } from '@timed/dbn/gateway';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  generateHistory,
  nyTime,
  SEED_INSTANCES,
  SESSION_MINUTES,
  seedHistory,
  weekdaysBefore,
} from '../../scripts/seed-history.mjs';

// Wednesday 2025-10-22, 11:00 New York: the five weekdays before are Wed 15 to Tue 21.
const NOW = Date.parse('2025-10-22T15:00:00Z');
const instruments = generateTradesSession({
  symbols: 12,
  start: BigInt(NOW) * 1_000_000n,
  end: BigInt(NOW + 3_600_000) * 1_000_000n,
  seed: 1,
}).instruments;

let db: Db;
beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl'), { prefix: 'e2e_seed_history' }));
});
afterAll(async () => {
  await db?.destroy();
});

async function countsByDay() {
  const { rows } = await sql<{
    day: string;
    source: string;
    legacy: boolean;
    bars: string;
    volume: string;
  }>`
    SELECT to_char(timestamp AT TIME ZONE 'America/New_York', 'YYYY-MM-DD') AS day,
      data_source AS source, is_legacy AS legacy, count(*)::text AS bars, sum(volume)::text AS volume
    FROM price_bars GROUP BY 1, 2, 3 ORDER BY 1`.execute(db);
  return rows;
}

describe('the calendar', () => {
  it('counts weekdays and New York times, DST-aware', () => {
    expect(weekdaysBefore('2025-10-22', 5)).toEqual([
      '2025-10-15',
      '2025-10-16',
      '2025-10-17',
      '2025-10-20',
      '2025-10-21',
    ]);
    // 09:30 New York is 13:30 UTC in summer time, 14:30 UTC in winter.
    expect(new Date(nyTime('2025-10-22', 9, 30)).toISOString()).toBe('2025-10-22T13:30:00.000Z');
    expect(new Date(nyTime('2025-12-01', 9, 30)).toISOString()).toBe('2025-12-01T14:30:00.000Z');
  });

  it('generates the same plausible bars from the same seed', () => {
    const days = ['2025-10-20', '2025-10-21'];
    const a = generateHistory({ instruments, days, legacyDays: 1, seed: 7 });
    expect(generateHistory({ instruments, days, legacyDays: 1, seed: 7 })).toEqual(a);
    expect(generateHistory({ instruments, days, legacyDays: 1, seed: 8 }).close).not.toEqual(
      a.close,
    );
    expect(a.symbol).toHaveLength(instruments.length * 2 * SESSION_MINUTES);
    for (let k = 0; k < a.symbol.length; k++) {
      const [o, h, l, c] = [a.open[k], a.high[k], a.low[k], a.close[k]].map(Number) as number[];
      expect(h).toBeGreaterThanOrEqual(Math.max(o!, c!));
      expect(l).toBeLessThanOrEqual(Math.min(o!, c!));
      expect(l).toBeGreaterThan(0);
      if (a.legacy[k] === 'f') expect(Number(a.volume[k])).toBeGreaterThan(0);
      else expect(a.volume[k]).toBe('0');
    }
  });
});

describe('seedHistory', () => {
  it('seeds three legacy days, the switch, two trades days, ending near the live open', async () => {
    const r = await seedHistory(db, { instruments, now: NOW, seed: 1 });
    expect(r).toMatchObject({
      seeded: true,
      legacyDays: ['2025-10-15', '2025-10-16', '2025-10-17'],
      tradesDays: ['2025-10-20', '2025-10-21'],
      bars: instruments.length * 5 * SESSION_MINUTES,
    });
    const rows = await countsByDay();
    expect(rows.map((x) => [x.day, x.source, x.legacy, Number(x.bars)])).toEqual([
      ['2025-10-15', 'mbp-1', true, 12 * 390],
      ['2025-10-16', 'mbp-1', true, 12 * 390],
      ['2025-10-17', 'mbp-1', true, 12 * 390],
      ['2025-10-20', 'trades', false, 12 * 390],
      ['2025-10-21', 'trades', false, 12 * 390],
    ]);
    expect(rows.filter((x) => x.legacy).every((x) => x.volume === '0')).toBe(true);
    expect(rows.filter((x) => !x.legacy).every((x) => Number(x.volume) > 0)).toBe(true);

    // The screener's previous close: the last regular-session bar of Tuesday, a small gap from
    // the live session's opening price.
    const prev = await previousCloses(
      db,
      instruments.map((i) => i.symbol),
      '2025-10-22',
    );
    for (const i of instruments) {
      const p = prev.get(i.symbol)!;
      expect(p.barTimestamp.toISOString()).toBe('2025-10-21T19:59:00.000Z');
      expect(Math.abs(p.close / i.openPrice - 1)).toBeLessThan(0.05);
    }

    // The switch as /migration/status and the cleanup gates date it: the seeded trades
    // screener's start, Monday 09:25 New York; no errors since.
    const sw = (await migrationFacts(db)).since_switch;
    expect(sw).toMatchObject({
      switch_at: new Date('2025-10-20T13:25:00Z'),
      switch_source: 'first trades screener start',
      first_trades_bar: new Date('2025-10-20T13:30:00Z'),
      errors: 0,
    });
    const { rows: hb } = await sql<{ instance_id: string; stopped: boolean }>`
      SELECT instance_id, stopped_at IS NOT NULL AS stopped FROM screener_instances
      ORDER BY started_at`.execute(db);
    expect(hb).toEqual([
      { instance_id: SEED_INSTANCES.legacy, stopped: true },
      { instance_id: SEED_INSTANCES.trades, stopped: true },
    ]);
  });

  it('seeds once: a second run writes nothing and leaves every bar as it was', async () => {
    const before = await sql<{
      sum: string;
    }>`SELECT sum(close * volume + open)::text AS sum FROM price_bars`.execute(db);
    const r = await seedHistory(db, { instruments, now: NOW + 86_400_000, seed: 2 });
    expect(r).toMatchObject({ seeded: false, reason: 'already seeded', bars: 0 });
    const after = await sql<{
      sum: string;
    }>`SELECT sum(close * volume + open)::text AS sum FROM price_bars`.execute(db);
    expect(after.rows).toEqual(before.rows);
    expect((await countsByDay()).length).toBe(5);
  });

  it('refuses nothing to seed, naming it', async () => {
    await expect(seedHistory(db, { instruments: [] })).rejects.toThrow(
      'seedHistory: no instruments to seed',
    );
  });

  it('never mixes made-up bars with a database that holds real history', async () => {
    const other = createDb(
      await createTestDatabase(inject('adminUrl'), { prefix: 'e2e_seed_real' }),
    );
    try {
      await upsertBars(other, [
        {
          symbol: 'REAL',
          timestamp: new Date('2025-10-21T14:00:00Z'),
          open: '10',
          high: '11',
          low: '9',
          close: '10.5',
          volume: 100,
          trade_count: 3,
          is_legacy: false,
          data_source: 'trades',
        },
      ]);
      const r = await seedHistory(other, { instruments, now: NOW });
      expect(r).toMatchObject({
        seeded: false,
        reason: 'the database already holds bars before today',
      });
      const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM price_bars`.execute(
        other,
      );
      expect(rows[0]!.n).toBe('1');
    } finally {
      await other.destroy();
    }
  });
});
