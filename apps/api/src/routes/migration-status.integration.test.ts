import { createDb, type Db, LivePublisher, sql, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LiveApi, startLiveApi } from '../../test/live-api.js';
import { liveState } from '../../test/live-state.js';
import { walk } from '../../test/seed.js';
import { until } from '../../test/sse.js';
import { buildApp } from '../app.js';
import type { Criterion, MigrationStatusResponse } from '../schemas.js';

// Criteria 4 (the API returns correct data) and 5 (the leaderboard shows volume).
let url: string;
let db: Db;
let plain: FastifyInstance;
let publisher: LivePublisher;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  url = await createTestDatabase(inject('adminUrl'), { prefix: 'api_migration_status' });
  db = createDb(url);
  publisher = new LivePublisher(db);
  plain = await buildApp({ db, rateLimit: false });
  cleanup.push(
    () => plain.close(),
    () => publisher.close(),
  );
});
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await db?.destroy();
});

async function criterion(app: FastifyInstance, id: Criterion['id']): Promise<Criterion> {
  const res = await app.inject({ method: 'GET', url: '/migration/status' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<MigrationStatusResponse>().criteria.find((c) => c.id === id)!;
}

const MIN = 60_000;
// An hour of trades bars ending ten minutes ago: every one settled.
const from = Math.floor(Date.now() / MIN) * MIN - 70 * MIN;

describe('criterion 4: api_returns_correct_data', () => {
  it('fails with a reason while there is no trades bar', async () => {
    const c = await criterion(plain, 'api_returns_correct_data');
    expect(c).toMatchObject({ value: null, pass: false });
    expect(c.details.reason).toBe('no settled trades bar yet');
  });

  it('reads the newest settled trades bar through GET /bars and finds the table figures', async () => {
    await upsertBars(db, [
      ...walk('AAA', from, 60, { seed: 4 }),
      ...walk('BBB', from, 59, { seed: 5 }),
    ]);
    const c = await criterion(plain, 'api_returns_correct_data');
    const newest = new Date(from + 59 * MIN).toISOString();
    expect(c).toMatchObject({ value: 1, pass: true });
    expect(c.details).toMatchObject({ symbol: 'AAA', timestamp: newest, differing: [] });
    const { rows } = await sql<{ close: string; volume: string }>`
      SELECT close::text, volume::text FROM price_bars
      WHERE symbol = 'AAA' AND timestamp = ${newest}`.execute(db);
    expect(c.details.table).toMatchObject({
      close: Number(rows[0]!.close),
      volume: Number(rows[0]!.volume),
    });
    expect(c.details.api).toMatchObject({ timestamp: newest, close: Number(rows[0]!.close) });
  });

  it('fails, naming the figures, when the API serves something else than the table', async () => {
    // A bars cache that outlives a rewrite of the bar: the API answers the old figures.
    const cached = await buildApp({ db, rateLimit: false, barsCacheTtlMs: 3_600_000 });
    cleanup.push(() => cached.close());
    // Asked twice: the micro-cache keeps a page once its query repeats.
    expect((await criterion(cached, 'api_returns_correct_data')).pass).toBe(true);
    expect((await criterion(cached, 'api_returns_correct_data')).pass).toBe(true);
    await sql`UPDATE price_bars SET volume = volume + 7, trade_count = trade_count + 1
      WHERE symbol = 'AAA' AND timestamp = ${new Date(from + 59 * MIN)}`.execute(db);
    const c = await criterion(cached, 'api_returns_correct_data');
    expect(c).toMatchObject({ value: 0, pass: false });
    expect(c.details.differing).toEqual(['volume', 'trade_count']);
    // The uncached API reads the new figures: it passes.
    expect((await criterion(plain, 'api_returns_correct_data')).pass).toBe(true);
  });
});

describe('criterion 5: leaderboard_shows_volume', () => {
  let live: LiveApi;
  beforeAll(async () => {
    live = await startLiveApi(db, url);
    cleanup.push(() => live.close());
  });

  it('fails with a reason while nothing ranks', async () => {
    for (const app of [plain, live.app]) {
      const c = await criterion(app, 'leaderboard_shows_volume');
      expect(c).toMatchObject({ value: null, pass: false });
      expect(c.details.reason).toMatch(/no symbol with a previous close/);
    }
  });

  it('fails when a top row has no volume, passes once every top row has', async () => {
    publisher.publish([
      liveState('AAA', 105, { prevClose: 100, volume: 12_000 }),
      liveState('BBB', 102, { prevClose: 100, volume: 0 }),
      // No previous close: never ranks by pct, so its missing volume does not count.
      liveState('NEWCO', 50, { prevClose: null, volume: 0 }),
    ]);
    await publisher.flush();
    await until(() => live.hub.prices(['BBB']).length === 1, 'the hub to hold BBB');
    for (const app of [plain, live.app]) {
      const c = await criterion(app, 'leaderboard_shows_volume');
      expect(c).toMatchObject({ value: 1, pass: false });
      expect(c.details).toMatchObject({
        rows: 2,
        with_volume: 1,
        top: [
          { symbol: 'AAA', volume: 12_000 },
          { symbol: 'BBB', volume: 0 },
        ],
      });
    }
    expect((await criterion(live.app, 'leaderboard_shows_volume')).details.source).toBe('live hub');
    expect((await criterion(plain, 'leaderboard_shows_volume')).details.source).toBe(
      'live_state table',
    );

    publisher.publish([liveState('BBB', 102, { prevClose: 100, volume: 300 })]);
    await publisher.flush();
    await until(() => live.hub.prices(['BBB'])[0]?.volume === 300, 'the hub to see BBB volume');
    for (const app of [plain, live.app]) {
      expect(await criterion(app, 'leaderboard_shows_volume')).toMatchObject({
        value: 2,
        pass: true,
      });
    }
  });
});
