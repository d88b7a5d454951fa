import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bar } from '../test/helpers/index.js';
import {
  barCountsBySource,
  createDb,
  type Db,
  migrationFacts,
  newestBarPerSource,
  pingDb,
  screenerHeartbeats,
  upsertBars,
} from './index.js';
import { sinceSwitch } from './operations-queries.js';
import { createTestDatabase } from './testing/index.js';

const adminUrl = inject('adminUrl');
let db: Db;

const nowMinute = Math.floor(Date.now() / 60_000);

beforeAll(async () => {
  db = createDb(await createTestDatabase(adminUrl));
  await upsertBars(db, [
    // Legacy: 3 bars two days ago in one hour.
    ...[0, 1, 2].map((i) =>
      bar('OPS', nowMinute - 2 * 1440 + i, 10, {
        volume: 0,
        is_legacy: true,
        data_source: 'mbp-1',
      }),
    ),
    // New: 4 bars within the last hour, one of them without volume.
    ...[5, 4, 3].map((ago) => bar('OPS', nowMinute - ago, 10, { volume: 100 })),
    bar('OPS', nowMinute - 10, 10, { volume: 0 }),
  ]);
  await sql`INSERT INTO screener_instances (instance_id, host, pid, dataset, schema, last_seen,
      errors, last_error, last_error_at, stopped_at)
    VALUES ('live', 'h1', 1, 'XNAS.ITCH', 'trades', now(), 0, NULL, NULL, NULL),
           ('stale', 'h2', 2, 'XNAS.ITCH', 'trades', now() - interval '5 minutes', 3, 'boom',
             now() - interval '10 minutes', NULL),
           ('gone', 'h3', 3, 'XNAS.ITCH', 'mbp-1', now(), 0, NULL, NULL, now())`.execute(db);
});
afterAll(() => db?.destroy());

describe('operations queries', () => {
  it('pings with the server clock', async () => {
    const t = await pingDb(db);
    expect(Math.abs(t.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('reports the newest bar per data_source', async () => {
    const rows = await newestBarPerSource(db);
    const bySource = Object.fromEntries(rows.map((r) => [r.data_source, r.newest_bar?.getTime()]));
    expect(bySource).toEqual({
      trades: (nowMinute - 3) * 60_000,
      'mbp-1': (nowMinute - 2 * 1440 + 2) * 60_000,
    });
  });

  it('computes liveness of screener heartbeats on the database clock', async () => {
    const rows = await screenerHeartbeats(db);
    const alive = Object.fromEntries(rows.map((r) => [r.instance_id, r.alive]));
    expect(alive).toEqual({ live: true, stale: false, gone: false });
    expect(rows.find((r) => r.instance_id === 'stale')).toMatchObject({
      errors: '3',
      last_error: 'boom',
    });
  });

  it('counts bars per data_source and is_legacy as the seed does', async () => {
    const rows = await barCountsBySource(db);
    expect(rows.map((r) => [r.data_source, r.is_legacy, r.bar_count, r.total_volume])).toEqual([
      ['mbp-1', true, '3', '0'],
      ['trades', false, '4', '300'],
    ]);
  });

  it('gathers the migration facts', async () => {
    const f = await migrationFacts(db);
    expect(f.new_bars).toBe(4);
    expect(f.new_bars_with_volume).toBe(3);
    expect(f.legacy_coverage.hours.reduce((n, h) => n + h.bars, 0)).toBe(3);
    expect(f.new_coverage.hours.reduce((n, h) => n + h.bars, 0)).toBe(4);
    expect(f.last_day_by_hour.reduce((n, h) => n + h.new_bars, 0)).toBe(4);
    expect(f.last_day_by_hour.reduce((n, h) => n + h.legacy_bars, 0)).toBe(0);
    expect(f.screeners).toHaveLength(3);
  });

  it('dates the switch by the first trades screener and sums the errors of screeners seen since', async () => {
    const other = createDb(await createTestDatabase(adminUrl));
    try {
      const day = 1440;
      // A backfill wrote trades bars from six days ago; the trades daemon first started four days
      // ago. An mbp-1 screener that stopped before the switch had errors: they do not count.
      await upsertBars(other, [
        bar('SW', nowMinute - 6 * day, 10),
        bar('SW', nowMinute - 3 * day, 10),
        bar('SW', nowMinute - 1, 10),
      ]);
      await sql`INSERT INTO screener_instances (instance_id, host, pid, dataset, schema, started_at,
          last_seen, errors, last_error, last_error_at, stopped_at)
        VALUES ('old-mbp', 'h', 1, 'XNAS.ITCH', 'mbp-1', now() - interval '10 days',
                  now() - interval '5 days', 7, 'quote gap', now() - interval '6 days', now() - interval '5 days'),
               ('first', 'h', 2, 'XNAS.ITCH', 'trades', now() - interval '4 days',
                  now() - interval '2 days', 2, 'gateway closed', now() - interval '3 days', now() - interval '2 days'),
               ('now', 'h', 3, 'XNAS.ITCH', 'trades', now() - interval '2 days', now(), 0, NULL, NULL, NULL)`.execute(
        other,
      );
      const s = await sinceSwitch(other);
      const started = await sql<{ t: Date }>`
        SELECT started_at AS t FROM screener_instances WHERE instance_id = 'first'`.execute(other);
      expect(s).toMatchObject({
        switch_at: started.rows[0]!.t,
        switch_source: 'first trades screener start',
        first_trades_bar: new Date((nowMinute - 6 * day) * 60_000),
        newest_trades_bar: new Date((nowMinute - 1) * 60_000),
        errors: 2,
        error_rows: [
          { instance_id: 'first', schema: 'trades', errors: 2, last_error: 'gateway closed' },
        ],
      });
      // Without any heartbeat row, the first trades bar is the switch, and nothing has erred.
      await sql`DELETE FROM screener_instances`.execute(other);
      expect(await sinceSwitch(other)).toMatchObject({
        switch_at: new Date((nowMinute - 6 * day) * 60_000),
        switch_source: 'first trades bar',
        errors: 0,
        error_rows: [],
      });
    } finally {
      await other.destroy();
    }
  });

  it('gathers the switch with the other migration facts', async () => {
    const f = await migrationFacts(db);
    // The 'live' trades screener of this file's data started at insert time, after its bars.
    expect(f.since_switch.switch_source).toBe('first trades screener start');
    expect(f.since_switch.newest_trades_bar?.getTime()).toBe((nowMinute - 3) * 60_000);
  });
});
