import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../src/testing/index.js';
import * as seed from './helpers/seed-sql.js';

const adminUrl = inject('adminUrl');
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: await createTestDatabase(adminUrl) });
  await client.connect();
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  // Legacy quote bars from before the switch, then trades bars through the seed's own upsert.
  for (let i = 1; i <= 5; i++) {
    await client.query(
      `INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count, is_legacy, data_source) VALUES ('WGRX', $1, 1.20, 1.25, 1.15, 1.18, 0, 0, true, 'mbp-1')`,
      [new Date(now - i * 120_000)],
    );
  }
  for (let i = 1; i <= 5; i++) {
    await client.query(seed.SEED_UPSERT, [
      'WGRX',
      new Date(now - i * 60_000),
      1.2,
      1.25,
      1.15,
      1.18,
      1847,
      9,
      false,
      'trades',
    ]);
  }
});
afterAll(() => client?.end());

describe("the seed's SQL runs unchanged against the migrated schema", () => {
  it('upsert statement: replaces the legacy bar of the same minute', async () => {
    const r = await client.query(
      `SELECT count(*)::int AS n FROM price_bars WHERE is_legacy = false`,
    );
    expect(r.rows[0].n).toBe(5);
    // Minutes 2 and 4 held legacy bars and were overwritten by trades bars.
    const legacy = await client.query(
      `SELECT count(*)::int AS n FROM price_bars WHERE is_legacy = true`,
    );
    expect(legacy.rows[0].n).toBe(3);
  });

  it('Phase 1 verification', async () => {
    const r = await client.query(seed.PHASE1_VERIFY);
    const bySource = Object.fromEntries(r.rows.map((x) => [x.data_source, x]));
    expect(bySource['mbp-1']).toMatchObject({ total_bars: '3', legacy_bars: '3', new_bars: '0' });
    expect(bySource.trades).toMatchObject({ total_bars: '5', legacy_bars: '0', new_bars: '5' });
  });

  it('Phase 3 API query', async () => {
    const r = await client.query(seed.API_QUERY_NO_LEGACY, [
      'WGRX',
      new Date(0),
      new Date(Date.now() + 86_400_000),
    ]);
    expect(r.rows).toHaveLength(5);
    expect(r.rows.every((x) => x.is_legacy === false)).toBe(true);
  });

  it('Phase 5 tests 1 and 2', async () => {
    const t1 = await client.query(seed.PHASE5_TEST1);
    expect(t1.rows).toHaveLength(5);
    expect(t1.rows.every((x) => x.volume === '1847' && x.data_source === 'trades')).toBe(true);
    const t2 = await client.query(seed.PHASE5_TEST2);
    expect(t2.rows.map((x) => [x.data_source, x.is_legacy, x.bar_count, x.total_volume])).toEqual([
      ['mbp-1', true, '3', '0'],
      ['trades', false, '5', '9235'],
    ]);
  });

  it('Phase 6 monitor', async () => {
    const r = await client.query(seed.PHASE6_MONITOR);
    expect(r.rows[0]).toMatchObject({ new_bars: '5', total_volume: '9235' });
  });

  it('success-criteria queries', async () => {
    const vol = await client.query(seed.CRITERIA_VOLUME);
    expect(vol.rows).toEqual([
      expect.objectContaining({ symbol: 'WGRX', bars: '5', max_volume: '1847' }),
    ]);
    const cov = await client.query(seed.CRITERIA_COVERAGE);
    const legacy = cov.rows.reduce((s, x) => s + Number(x.legacy_bars), 0);
    const fresh = cov.rows.reduce((s, x) => s + Number(x.new_bars), 0);
    expect([legacy, fresh]).toEqual([3, 5]);
  });

  it('cleanup Options A, B, C and the rollback delete', async () => {
    for (const s of seed.OPTION_A) await client.query(s);
    expect(
      (await client.query('SELECT count(*)::int AS n FROM price_bars WHERE deleted_at IS NOT NULL'))
        .rows[0].n,
    ).toBe(3);
    await client.query(seed.OPTION_A_RESTORE);
    expect(
      (await client.query('SELECT count(*)::int AS n FROM price_bars WHERE deleted_at IS NOT NULL'))
        .rows[0].n,
    ).toBe(0);

    for (const s of seed.OPTION_B) await client.query(s);
    const [archived, remaining] = await Promise.all(
      seed.OPTION_B_VERIFY.map((s) => client.query(s)),
    );
    expect([archived?.rows[0].count, remaining?.rows[0].count]).toEqual(['3', '5']);
    await client.query(seed.OPTION_B_RESTORE);
    expect(
      (await client.query('SELECT count(*)::int AS n FROM price_bars WHERE is_legacy')).rows[0].n,
    ).toBe(3);

    for (const s of seed.OPTION_C.slice(0, 2)) await client.query(s);
    const c = await client.query(seed.OPTION_C[2]!);
    expect(c.rows).toEqual([expect.objectContaining({ data_source: 'trades', bars: '5' })]);

    await client.query(seed.ROLLBACK_DELETE);
    expect((await client.query('SELECT count(*)::int AS n FROM price_bars')).rows[0].n).toBe(0);
  });
});
