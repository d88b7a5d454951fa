import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createDb,
  type Db,
  LivePublisher,
  type LiveSymbolState,
  previousCloses,
  sql,
  upsertBars,
} from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LiveApi, startLiveApi } from '../../test/live-api.js';
import { liveState } from '../../test/live-state.js';
import { session, walk } from '../../test/seed.js';
import { until } from '../../test/sse.js';
import type { LivePrice } from '../live-format.js';
import type { LeaderboardBody } from '../live-leaderboard.js';
import { WorkerScores } from '../worker-scores.js';

let url: string;
let db: Db;
let api: LiveApi;
let publisher: LivePublisher;
const cleanup: (() => Promise<unknown>)[] = [];

const TODAY = '2025-10-22';
// Symbols with yesterday's session (a previous close) and an hour of today's bars; NEWCO has only
// today's bars, so it never ranks by pct.
const SEEDED = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH'];

beforeAll(async () => {
  url = await createTestDatabase(inject('adminUrl'));
  db = createDb(url);
  const today = Date.parse(`${TODAY}T13:30:00Z`);
  await upsertBars(db, [
    ...SEEDED.flatMap((s, i) => [
      ...session(s, '2025-10-21', 100 + i),
      ...walk(s, today, 60, { seed: 200 + i, base: 100 + (i - 4) * 3 }),
    ]),
    ...walk('NEWCO', today, 60, { seed: 300, base: 50 }),
  ]);
  publisher = new LivePublisher(db);
  api = await startLiveApi(db, url);
  cleanup.push(
    () => api.close(),
    () => publisher.close(),
  );

  // Today's figures as the screener keeps them, built from today's stored bars.
  const symbols = [...SEEDED, 'NEWCO'];
  const prev = await previousCloses(db, symbols, TODAY);
  const bars = await sql<{
    symbol: string;
    open: string;
    high: string;
    low: string;
    close: string;
    volume: string;
    trade_count: number;
  }>`SELECT symbol, open::text, high::text, low::text, close::text, volume::text, trade_count
    FROM price_bars WHERE timestamp >= ${`${TODAY}T08:00:00Z`} ORDER BY symbol, timestamp`.execute(
    db,
  );
  const states = new Map<string, LiveSymbolState>();
  for (const b of bars.rows) {
    const s = states.get(b.symbol);
    const close = Number(b.close);
    if (!s) {
      states.set(
        b.symbol,
        liveState(b.symbol, close, {
          dayOpen: Number(b.open),
          dayHigh: Number(b.high),
          dayLow: Number(b.low),
          volume: Number(b.volume),
          tradeCount: b.trade_count,
          prevClose: prev.get(b.symbol)?.close ?? null,
          sessionDay: TODAY,
        }),
      );
    } else {
      s.price = s.bid = s.ask = close;
      s.dayHigh = Math.max(s.dayHigh, Number(b.high));
      s.dayLow = Math.min(s.dayLow, Number(b.low));
      s.volume += Number(b.volume);
      s.tradeCount += b.trade_count;
    }
  }
  // A symbol of an older session day: stale, it must not rank.
  states.set('OLD', liveState('OLD', 500, { sessionDay: '2025-10-21', volume: 10_000_000 }));
  publisher.publish(states.values());
  await publisher.flush();
  await until(() => api.hub.stats.symbols === symbols.length + 1, 'the hub to hold every symbol');
});
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await db?.destroy();
});

/** The day's figures computed straight from price_bars, independently of the live path. */
async function expected() {
  const r = await sql<{
    symbol: string;
    price: number;
    volume: number;
    trades: number;
    prev: number | null;
  }>`
    WITH today AS (
      SELECT symbol, (array_agg(close ORDER BY timestamp DESC))[1]::float8 AS price,
        sum(volume)::float8 AS volume, sum(trade_count)::float8 AS trades
      FROM price_bars WHERE timestamp >= ${`${TODAY}T08:00:00Z`} GROUP BY symbol),
    prev AS (
      SELECT DISTINCT ON (symbol) symbol, close::float8 AS prev
      FROM price_bars
      WHERE timestamp < ${`${TODAY}T04:00:00Z`}
        AND to_char(timestamp AT TIME ZONE 'America/New_York', 'HH24:MI') BETWEEN '09:30' AND '15:59'
      ORDER BY symbol, timestamp DESC)
    SELECT today.*, prev.prev FROM today LEFT JOIN prev USING (symbol)`.execute(db);
  return r.rows.map((x) => ({
    ...x,
    pct: x.prev === null ? null : ((x.price - x.prev) / x.prev) * 100,
  }));
}

/** Any of the bodies these routes answer (a test reads what it expects). */
interface Answer extends LeaderboardBody {
  prices: LivePrice[];
  error: { code: string; message: string; details: { parameter: string } };
}

async function get(path: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${api.base}${path}`);
  return { status: res.status, body: (await res.json()) as Answer };
}

describe('GET /live', () => {
  it('returns the requested symbols in order with the seed broadcast fields first', async () => {
    const { status, body } = await get('/live?symbols=bbb,NEWCO,NOPE');
    expect(status).toBe(200);
    expect(body.prices.map((p: { symbol: string }) => p.symbol)).toEqual(['BBB', 'NEWCO']);
    const bbb = body.prices[0]!;
    expect(Object.keys(bbb)).toEqual([
      'symbol',
      'price',
      'bid',
      'ask',
      'pct_from_yesterday',
      'timestamp',
      'day_open',
      'day_high',
      'day_low',
      'volume',
      'trade_count',
      'vwap',
      'prev_close',
    ]);
    const want = (await expected()).find((e) => e.symbol === 'BBB')!;
    expect(bbb.price).toBe(want.price);
    expect(bbb.bid).toBe(want.price);
    expect(bbb.volume).toBe(want.volume);
    expect(bbb.prev_close).toBe(want.prev);
    expect(bbb.pct_from_yesterday).toBeCloseTo(want.pct!, 9);
    expect(bbb.timestamp).toBe('2025-10-22T14:00:01.500Z');
    expect(body.prices[1]!.prev_close).toBeNull();
    expect(body.prices[1]!.pct_from_yesterday).toBeNull();
  });

  it('answers 400 naming symbols for a bad one', async () => {
    const { status, body } = await get('/live?symbols=AAPL,DROP%20TABLE');
    expect(status).toBe(400);
    expect(body.error.code).toBe('INVALID_PARAMETER');
    expect(body.error.message).toMatch(/^symbols: "DROP TABLE" must be/);
  });
});

describe('GET /leaderboard', () => {
  const bySymbol = (a: { symbol: string }, b: { symbol: string }) => (a.symbol < b.symbol ? -1 : 1);

  it('ranks gainers and losers by pct_from_yesterday like the stored bars say', async () => {
    const want = (await expected()).filter((e) => e.pct !== null);
    const up = [...want].sort((a, b) => b.pct! - a.pct! || bySymbol(a, b));
    const { status, body } = await get('/leaderboard?direction=up&sort=pct&limit=5');
    expect(status).toBe(200);
    expect(body.direction).toBe('up');
    expect(body.sort).toBe('pct');
    expect(body.as_of).toBe('2025-10-22T14:00:01.500Z');
    expect(body.rows.map((r: { symbol: string }) => r.symbol)).toEqual(
      up.slice(0, 5).map((e) => e.symbol),
    );
    expect(body.rows.map((r: { rank: number }) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(body.rows[0]!.pct_from_yesterday).toBeCloseTo(up[0]!.pct!, 9);
    expect(body.rows[0]).not.toHaveProperty('state');

    const down = (await get('/leaderboard?direction=down')).body;
    expect(down.rows.map((r: { symbol: string }) => r.symbol)).toEqual(
      [...up].reverse().map((e) => e.symbol),
    );
    // NEWCO (no previous close) and OLD (yesterday's state) never rank by pct.
    expect(down.rows).toHaveLength(SEEDED.length);
  });

  it('ranks the most active by volume and by trade count, with volume shown', async () => {
    const want = await expected();
    for (const [sort, key] of [
      ['volume', 'volume'],
      ['trade_count', 'trades'],
    ] as const) {
      const order = [...want]
        .sort((a, b) => b[key] - a[key] || bySymbol(a, b))
        .map((e) => e.symbol);
      const { body } = await get(`/leaderboard?sort=${sort}&limit=20`);
      expect(body.rows.map((r: { symbol: string }) => r.symbol)).toEqual(order);
      expect(order).toContain('NEWCO');
      expect(body.rows.every((r: { volume: number }) => r.volume > 0)).toBe(true);
    }
  });

  it('filters by min_price and min_volume', async () => {
    const want = await expected();
    const { body } = await get('/leaderboard?sort=volume&min_price=100&min_volume=150000');
    const order = want
      .filter((e) => e.price >= 100 && e.volume >= 150_000)
      .sort((a, b) => b.volume - a.volume || bySymbol(a, b))
      .map((e) => e.symbol);
    expect(order.length).toBeGreaterThan(0);
    expect(order.length).toBeLessThan(want.length);
    expect(body.rows.map((r: { symbol: string }) => r.symbol)).toEqual(order);
  });

  it.each([
    ['direction=sideways', 'direction'],
    ['sort=price', 'sort'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['min_price=-1', 'min_price'],
    ['min_volume=lots', 'min_volume'],
  ])('answers 400 for %s naming %s', async (query, parameter) => {
    const { status, body } = await get(`/leaderboard?${query}`);
    expect(status).toBe(400);
    expect(body.error.details.parameter).toBe(parameter);
    expect(body.error.message.startsWith(`${parameter}: `)).toBe(true);
  });
});

describe('GET /leaderboard with the Worker (TIMED_WORKER_URL)', () => {
  let worker: Server;
  let mode: 'ok' | 'slow' = 'ok';
  const held: ServerResponse[] = [];
  let workerUrl: string;

  beforeAll(async () => {
    worker = createServer((req, res) => {
      if (!req.url?.startsWith('/timed/all')) return res.writeHead(404).end();
      if (mode === 'slow') {
        held.push(res);
        return;
      }
      // Two pages, as the Worker pages its index (cursor = the last ticker of the page before).
      const second = new URL(req.url, 'http://x').searchParams.get('cursor') === 'AAA';
      const page = second
        ? { ticker: 'bbb', version: '2', data: { state: 'Q3', htf_score: -10, ltf_score: 7.5 } }
        : { ticker: 'aaa', version: '2', data: { state: 'Q1', htf_score: 42.5, ltf_score: -3 } };
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, data: [page], next_cursor: second ? null : 'AAA' }));
    });
    await new Promise<void>((r) => worker.listen(0, '127.0.0.1', r));
    workerUrl = `http://127.0.0.1:${(worker.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const r of held) r.destroy();
    worker.closeAllConnections();
    await new Promise((r) => worker.close(r));
  });

  async function leaderboardWith(scores: WorkerScores) {
    const a = await startLiveApi(db, url, { workerScores: scores });
    try {
      return (await (await fetch(`${a.base}/leaderboard?sort=volume&limit=20`)).json()) as Answer;
    } finally {
      await a.close();
    }
  }

  it("adds the Worker's state and scores to each row", async () => {
    mode = 'ok';
    const body = await leaderboardWith(new WorkerScores({ url: workerUrl, waitMs: 10_000 }));
    const aaa = body.rows.find((r: { symbol: string }) => r.symbol === 'AAA');
    expect(aaa).toMatchObject({ state: 'Q1', htf_score: 42.5, ltf_score: -3 });
    const bbb = body.rows.find((r: { symbol: string }) => r.symbol === 'BBB');
    expect(bbb).toMatchObject({ state: 'Q3', htf_score: -10, ltf_score: 7.5 });
    const ccc = body.rows.find((r: { symbol: string }) => r.symbol === 'CCC');
    expect(ccc).toMatchObject({ state: null, htf_score: null, ltf_score: null });
  });

  it('answers without scores when the Worker is slow', async () => {
    mode = 'slow';
    const scores = new WorkerScores({ url: workerUrl, waitMs: 50, timeoutMs: 60_000 });
    const body = await leaderboardWith(scores);
    expect(held.length).toBeGreaterThan(0);
    expect(body.rows.length).toBe(SEEDED.length + 1);
    expect(body.rows.every((r) => r.state === null)).toBe(true);
  });

  it('answers without scores when the Worker is down', async () => {
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const port = (down.address() as AddressInfo).port;
    await new Promise((r) => down.close(r));
    const scores = new WorkerScores({ url: `http://127.0.0.1:${port}`, waitMs: 10_000 });
    const body = await leaderboardWith(scores);
    expect(scores.failures).toBe(1);
    expect(body.rows.length).toBe(SEEDED.length + 1);
    expect(body.rows[0]).toMatchObject({ state: null, htf_score: null });
  });
});
