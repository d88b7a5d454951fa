import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bar } from '../test/helpers/index.js';
import { createDb, type Db, queryBarsAtInterval, upsertBars } from './index.js';
import { createTestDatabase } from './testing/index.js';

const adminUrl = inject('adminUrl');
let db: Db;

// Minute 29_160_000 is 2025-06-11T00:00Z (a UTC midnight, so 1d buckets start there).
const DAY = 29_160_000;

beforeAll(async () => {
  db = createDb(await createTestDatabase(adminUrl));
  await upsertBars(db, [
    bar('AGG', DAY + 0, 10, { open: 10, high: 12, low: 9, close: 11, volume: 5, trade_count: 1 }),
    bar('AGG', DAY + 1, 10, { open: 11, high: 15, low: 10, close: 14, volume: 7, trade_count: 2 }),
    bar('AGG', DAY + 4, 10, { open: 14, high: 14, low: 8, close: 9, volume: 1, trade_count: 3 }),
    bar('AGG', DAY + 5, 10, {
      open: 20,
      high: 21,
      low: 19,
      close: 20.5,
      volume: 2,
      trade_count: 4,
    }),
    bar('AGG', DAY + 7, 10, {
      open: 30,
      high: 31,
      low: 29,
      close: 30,
      volume: 0,
      trade_count: 0,
      is_legacy: true,
      data_source: 'mbp-1',
    }),
    bar('AGG', DAY + 1440 + 3, 50, { volume: 100 }),
  ]);
});
afterAll(() => db?.destroy());

describe('queryBarsAtInterval', () => {
  it('aggregates 5-minute buckets: first open, max high, min low, last close, sums', async () => {
    const { bars, nextCursor } = await queryBarsAtInterval(db, {
      symbol: 'AGG',
      interval: '5m',
      limit: 10,
    });
    expect(nextCursor).toBeNull();
    expect(bars.map((b) => b.timestamp.getTime() / 60_000)).toEqual([DAY, DAY + 5, DAY + 1440]);
    expect(bars[0]).toMatchObject({
      symbol: 'AGG',
      open: '10',
      high: '15',
      low: '8',
      close: '9',
      volume: '13',
      trade_count: 6,
      is_legacy: false,
      data_source: 'trades',
    });
    // The legacy bar at DAY+7 is hidden by default.
    expect(bars[1]).toMatchObject({ open: '20', close: '20.5', volume: '2', trade_count: 4 });
  });

  it('marks a bucket legacy (and mbp-1) when it includes a legacy bar', async () => {
    const { bars } = await queryBarsAtInterval(db, {
      symbol: 'AGG',
      interval: '5m',
      limit: 10,
      includeLegacy: true,
    });
    expect(bars[1]).toMatchObject({
      open: '20',
      high: '31',
      close: '30',
      is_legacy: true,
      data_source: 'mbp-1',
    });
  });

  it('builds UTC-day buckets and applies start/end to the minute bars', async () => {
    const { bars } = await queryBarsAtInterval(db, {
      symbol: 'AGG',
      interval: '1d',
      limit: 10,
      start: new Date((DAY + 1) * 60_000),
      end: new Date((DAY + 1440 + 3) * 60_000),
    });
    expect(bars.map((b) => b.timestamp.toISOString())).toEqual([
      '2025-06-11T00:00:00.000Z',
      '2025-06-12T00:00:00.000Z',
    ]);
    expect(bars[0]).toMatchObject({ open: '11', low: '8', volume: '10' });
  });

  it('pages bucket by bucket with the cursor', async () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryBarsAtInterval(db, {
        symbol: 'AGG',
        interval: '5m',
        limit: 1,
        cursor,
      });
      seen.push(...page.bars.map((b) => b.timestamp.getTime() / 60_000));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([DAY, DAY + 5, DAY + 1440]);
  });

  it('reads stored bars unchanged for 1m', async () => {
    const { bars } = await queryBarsAtInterval(db, { symbol: 'AGG', interval: '1m', limit: 10 });
    expect(bars).toHaveLength(5);
  });
});

describe('queryBarsAtInterval and soft-deleted bars', () => {
  it('leaves soft-deleted bars out of every bucket, even with legacy included', async () => {
    await upsertBars(db, [
      bar('SOFT', DAY, 10, {
        open: 10,
        high: 11,
        low: 9,
        close: 10,
        volume: 0,
        trade_count: 1,
        is_legacy: true,
        data_source: 'mbp-1',
      }),
      bar('SOFT', DAY + 1, 10, {
        open: 12,
        high: 13,
        low: 11,
        close: 12,
        volume: 4,
        trade_count: 1,
      }),
    ]);
    await db
      .updateTable('price_bars')
      .set({ deleted_at: new Date() })
      .where('symbol', '=', 'SOFT')
      .where('is_legacy', '=', true)
      .execute();
    const { bars } = await queryBarsAtInterval(db, {
      symbol: 'SOFT',
      interval: '5m',
      limit: 10,
      includeLegacy: true,
    });
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatchObject({
      open: '12',
      low: '11',
      volume: '4',
      trade_count: 1,
      is_legacy: false,
      data_source: 'trades',
    });
  });
});
