import type { BarInput } from '@timed/schema';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bar } from '../test/helpers/index.js';
import { createDb, type Db, previousCloses, upsertBars } from './index.js';
import { createTestDatabase } from './testing/index.js';

let db: Db;
/** Epoch minute of a UTC time. */
const at = (iso: string) => Date.parse(iso) / 60_000;
/** A bar at `iso` that closes at `close` (flat, so it is valid whatever the price). */
const closing = (symbol: string, iso: string, close: number, extra: Partial<BarInput> = {}) =>
  bar(symbol, at(iso), close, { open: close, high: close, low: close, close, ...extra });

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl')));
  await upsertBars(db, [
    // WKND: Friday 2025-10-17 (EDT) closes at 19:59 UTC = 15:59 New York; an after-hours bar
    // (16:00 New York) must not count. Nothing on the weekend.
    bar('WKND', at('2025-10-17T13:30:00Z'), 10),
    closing('WKND', '2025-10-17T19:59:00Z', 11.5),
    closing('WKND', '2025-10-17T20:00:00Z', 99),
    // GAP: a Wednesday of bars, a Thursday with none, asked for Friday.
    closing('GAP', '2025-10-15T19:58:00Z', 20.25),
    // Thursday has only pre-market bars: not a regular session, so not a trading day here.
    closing('GAP', '2025-10-16T12:00:00Z', 55),
    // LEG: only legacy bars on the previous day.
    closing('LEG', '2025-10-16T19:59:00Z', 30.5, {
      volume: 0,
      is_legacy: true,
      data_source: 'mbp-1',
    }),
    // MIX: legacy until 15:59 but trades bars that day end at 15:00: trades are preferred.
    closing('MIX', '2025-10-16T19:00:00Z', 40.75),
    closing('MIX', '2025-10-16T19:59:00Z', 41, {
      volume: 0,
      is_legacy: true,
      data_source: 'mbp-1',
    }),
    // WINTER: EST (UTC-5): 15:59 New York is 20:59 UTC; 21:00 UTC is after the close.
    closing('WINTER', '2025-12-05T20:59:00Z', 50.5),
    closing('WINTER', '2025-12-05T21:00:00Z', 77),
    // TODAY: only bars of the session day asked for: no previous close.
    bar('TODAY', at('2025-10-20T14:00:00Z'), 60),
    // DEL: the previous day's last bar is soft-deleted; the one before it counts.
    closing('DEL', '2025-10-17T19:58:00Z', 70.1),
    closing('DEL', '2025-10-17T19:59:00Z', 70.2),
  ]);
  await sql`UPDATE price_bars SET deleted_at = now()
    WHERE symbol = 'DEL' AND timestamp = '2025-10-17T19:59:00Z'`.execute(db);
});
afterAll(() => db?.destroy());

describe('previousCloses', () => {
  it('takes Friday 15:59 New York across a weekend, not the after-hours bar', async () => {
    const pc = await previousCloses(db, ['WKND'], '2025-10-20');
    expect(pc.get('WKND')).toMatchObject({ close: 11.5, day: '2025-10-17', isLegacy: false });
    expect(pc.get('WKND')?.barTimestamp.toISOString()).toBe('2025-10-17T19:59:00.000Z');
  });

  it('skips a day with no (regular-session) bars', async () => {
    const pc = await previousCloses(db, ['GAP'], '2025-10-17');
    expect(pc.get('GAP')).toMatchObject({ close: 20.25, day: '2025-10-15' });
  });

  it('uses legacy bars when the day has no trades bars, and prefers trades bars when it has', async () => {
    const pc = await previousCloses(db, ['LEG', 'MIX'], '2025-10-17');
    expect(pc.get('LEG')).toMatchObject({ close: 30.5, isLegacy: true });
    expect(pc.get('MIX')).toMatchObject({ close: 40.75, isLegacy: false });
  });

  it('follows New York standard time in winter', async () => {
    const pc = await previousCloses(db, ['WINTER'], '2025-12-08');
    expect(pc.get('WINTER')?.close).toBe(50.5);
  });

  it('has nothing for a symbol without an earlier day, or unknown, and ignores soft-deleted bars', async () => {
    const pc = await previousCloses(db, ['TODAY', 'NOPE', 'DEL'], '2025-10-20');
    expect(pc.has('TODAY')).toBe(false);
    expect(pc.has('NOPE')).toBe(false);
    expect(pc.get('DEL')?.close).toBe(70.1);
    // The session day itself never counts: asked for the day after, TODAY has one.
    expect((await previousCloses(db, ['TODAY'], '2025-10-21')).get('TODAY')?.close).toBe(60.5);
  });

  it('refuses a malformed session day', async () => {
    await expect(previousCloses(db, ['WKND'], '20/10/2025')).rejects.toThrow(/YYYY-MM-DD/);
  });
});
