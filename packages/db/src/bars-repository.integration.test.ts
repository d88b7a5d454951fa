import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bar } from '../test/helpers/index.js';
import {
  createDb,
  type Db,
  type DbError,
  InvalidBarError,
  queryBars,
  readBarRows,
  upsertBars,
} from './index.js';
import { createTestDatabase } from './testing/index.js';

const adminUrl = inject('adminUrl');
let db: Db;

beforeAll(async () => {
  db = createDb(await createTestDatabase(adminUrl));
});
afterAll(() => db?.destroy());

async function all(symbol: string) {
  return db
    .selectFrom('price_bars')
    .selectAll()
    .where('symbol', '=', symbol)
    .orderBy('timestamp')
    .execute();
}

describe('upsertBars', () => {
  it('writes every value column exactly (numeric prices, bigint volume)', async () => {
    await upsertBars(db, [
      bar('EXACT', 1000, 100, {
        open: '123.456789012',
        high: '124.000000001',
        low: '99.999999999',
        close: '100.5',
        volume: 9_007_199_254_740_993n,
      }),
    ]);
    const [row] = await all('EXACT');
    expect(row).toMatchObject({
      open: '123.456789012',
      high: '124.000000001',
      low: '99.999999999',
      close: '100.5',
      volume: '9007199254740993',
      trade_count: 10,
      is_legacy: false,
      data_source: 'trades',
    });
    expect(row?.timestamp.toISOString()).toBe(new Date(1000 * 60_000).toISOString());
  });

  it('replaces a legacy bar of the same minute with the trades bar (ON CONFLICT DO UPDATE)', async () => {
    await upsertBars(db, [
      bar('REPL', 5, 10, { volume: 0, is_legacy: true, data_source: 'mbp-1' }),
    ]);
    await upsertBars(db, [bar('REPL', 5, 20, { volume: 777 })]);
    const rows = await all('REPL');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      open: '20',
      volume: '777',
      is_legacy: false,
      data_source: 'trades',
    });
  });

  it('is idempotent: the same batch twice gives the same rows, never doubled volume', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => bar('IDEM', 100 + i));
    await upsertBars(db, batch);
    const once = await all('IDEM');
    await upsertBars(db, batch);
    expect(await all('IDEM')).toEqual(once);
  });

  it('lets the last bar win when a batch repeats a key', async () => {
    await upsertBars(db, [bar('DUP', 1, 10), bar('DUP', 1, 30)]);
    expect((await all('DUP')).map((r) => r.open)).toEqual(['30']);
  });

  it('writes batches larger than one statement in one transaction', async () => {
    const batch = Array.from({ length: 25_000 }, (_, i) => bar('BIG', i));
    expect(await upsertBars(db, batch)).toBe(25_000);
    const n = await db
      .selectFrom('price_bars')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('symbol', '=', 'BIG')
      .executeTakeFirst();
    expect(Number(n?.n)).toBe(25_000);
  });

  const bad: Array<[string, Partial<Parameters<typeof bar>[3]>, RegExp]> = [
    ['high below low', { high: 90, low: 95, open: 92, close: 92 }, /high 90 is below low 95/],
    ['open above high', { open: 200 }, /open 200 is outside/],
    ['close below low', { close: 1 }, /close 1 is outside/],
    [
      'timestamp off the minute',
      { timestamp: new Date(60_000 * 7 + 1_500) },
      /not on a whole minute/,
    ],
    ['negative volume', { volume: -1 }, /volume is negative/],
    ['negative trade_count', { trade_count: -3 }, /trade_count is negative/],
    ['NaN price', { open: Number.NaN }, /open is not a finite price/],
    ['infinite price', { high: Number.POSITIVE_INFINITY }, /high is not a finite price/],
    ['lower-case symbol', { symbol: 'aapl' }, /symbol must be/],
    ['invalid date', { timestamp: new Date(Number.NaN) }, /timestamp is not a valid Date/],
  ];
  for (const [label, patch, message] of bad) {
    it(`rejects a batch with ${label}, naming the bar, and writes nothing of it`, async () => {
      const symbol = `BAD${bad.findIndex((b) => b[0] === label)}`;
      const good = [bar(symbol, 1), bar(symbol, 2)];
      const err = await upsertBars(db, [...good, bar(symbol, 3, 100, patch)]).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidBarError);
      expect((err as DbError).code).toBe('INVALID_BAR');
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain('bar #2');
      expect(await all(symbol)).toEqual([]);
    });
  }
});

describe('queryBars', () => {
  beforeAll(async () => {
    await upsertBars(db, [
      ...Array.from({ length: 10 }, (_, i) => bar('QRY', 1_000 + i)),
      bar('QRY', 995, 50, { is_legacy: true, data_source: 'mbp-1', volume: 0 }),
      bar('QRYX', 1_000),
    ]);
  });

  it('returns bars ascending, hides legacy by default, shows it on request', async () => {
    const plain = await queryBars(db, { symbol: 'QRY', limit: 100 });
    expect(plain.bars.map((b) => b.timestamp.getTime() / 60_000)).toEqual(
      Array.from({ length: 10 }, (_, i) => 1_000 + i),
    );
    expect(plain.nextCursor).toBeNull();
    const withLegacy = await queryBars(db, { symbol: 'QRY', limit: 100, includeLegacy: true });
    expect(withLegacy.bars[0]).toMatchObject({ is_legacy: true, data_source: 'mbp-1' });
    expect(withLegacy.bars).toHaveLength(11);
  });

  it('treats start and end as inclusive', async () => {
    const r = await queryBars(db, {
      symbol: 'QRY',
      start: new Date(1_002 * 60_000),
      end: new Date(1_004 * 60_000),
      limit: 100,
    });
    expect(r.bars.map((b) => b.timestamp.getTime() / 60_000)).toEqual([1_002, 1_003, 1_004]);
  });

  it('pages with an opaque cursor, every bar exactly once', async () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryBars(db, { symbol: 'QRY', limit: 3, cursor });
      seen.push(...page.bars.map((b) => b.timestamp.getTime() / 60_000));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => 1_000 + i));
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(
      queryBars(db, { symbol: 'QRY', limit: 3, cursor: 'bm9wZQ' }),
    ).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
  });
});

describe('vwap', () => {
  it('stores the VWAP given, NULL when absent or null, and a rewrite replaces it', async () => {
    await upsertBars(db, [
      bar('VWAP', 1, 100, { vwap: '100.123456789' }),
      bar('VWAP', 2, 100),
      bar('VWAP', 3, 100, { vwap: null }),
    ]);
    expect((await all('VWAP')).map((r) => r.vwap)).toEqual(['100.123456789', null, null]);
    await upsertBars(db, [bar('VWAP', 1, 100), bar('VWAP', 2, 100, { vwap: 100.25 })]);
    expect((await all('VWAP')).map((r) => r.vwap)).toEqual([null, '100.25', null]);
  });

  it('refuses a VWAP outside the bar, naming it, and writes nothing of the call', async () => {
    const err = await upsertBars(db, [
      bar('VWAPBAD', 1, 100, { vwap: '100.2' }),
      bar('VWAPBAD', 2, 100, { vwap: '150' }),
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidBarError);
    expect((err as Error).message).toMatch(/vwap 150 is outside/);
    expect(await all('VWAPBAD')).toEqual([]);
  });

  it('reads it back through readBarRows, and as null in resampled buckets missing one', async () => {
    const rows = await readBarRows(db, { symbols: ['VWAP'], interval: '1m', limit: 10 });
    expect(rows.map((r) => r[10])).toEqual([null, '100.25', null]);
    const fives = await readBarRows(db, { symbols: ['VWAP'], interval: '5m', limit: 10 });
    expect(fives).toHaveLength(1);
    expect(fives[0]![10]).toBeNull();
  });
});
