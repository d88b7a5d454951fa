import { createDb, type Db, sql, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { ApiBar, BarInput } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { prng } from '../../test/seed.js';
import { buildApp } from '../app.js';

let db: Db;
let app: FastifyInstance;
const T = (iso: string) => Date.parse(iso);

/** Trades of a minute (price, size), the raw material the VWAP is rebuilt from independently. */
type Trade = { price: number; size: number };
const tradesByMinute = new Map<number, Trade[]>();

/** A bar built from its trades the plain way, VWAP = sum(price*size)/sum(size). */
function barFromTrades(symbol: string, ms: number, trades: Trade[], vwap = true): BarInput {
  const prices = trades.map((t) => t.price);
  const volume = trades.reduce((n, t) => n + t.size, 0);
  const pv = trades.reduce((n, t) => n + t.price * t.size, 0);
  return {
    symbol,
    timestamp: new Date(ms),
    open: prices[0]!.toFixed(2),
    high: Math.max(...prices).toFixed(2),
    low: Math.min(...prices).toFixed(2),
    close: prices.at(-1)!.toFixed(2),
    volume,
    trade_count: trades.length,
    vwap: vwap ? (pv / volume).toFixed(9) : null,
  };
}

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl')), { applicationName: 'timed-api' });
  const rnd = prng(42);
  const bars: BarInput[] = [];
  // VWAP: 30 minutes of trades from 14:00; 14:17 was written before the column (no VWAP).
  for (let i = 0; i < 30; i++) {
    const ms = T('2025-10-22T14:00:00Z') + i * 60_000;
    const trades = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => ({
      price: Math.round((100 + rnd() * 2) * 100) / 100,
      size: 1 + Math.floor(rnd() * 500),
    }));
    tradesByMinute.set(ms, trades);
    bars.push(barFromTrades('VW', ms, trades, i !== 17));
  }
  // A legacy bar (volume 0, no VWAP) in the 14:05 bucket: weighs nothing.
  bars.push({
    symbol: 'VW',
    timestamp: new Date(T('2025-10-22T13:59:00Z')),
    open: 100,
    high: 100,
    low: 100,
    close: 100,
    volume: 0,
    trade_count: 0,
    is_legacy: true,
    data_source: 'mbp-1',
  });
  // Many symbols: three bars each.
  for (const symbol of ['AAA', 'BBB', 'CCC']) {
    for (let i = 0; i < 3; i++) {
      const ms = T('2025-10-22T14:00:00Z') + i * 60_000;
      bars.push(barFromTrades(symbol, ms, [{ price: 10 + i, size: 5 }]));
    }
  }
  // Sessions across the DST change (2025-03-09): every minute 12:00-22:00 UTC on Fri 7 and Mon 10.
  for (const day of ['2025-03-07', '2025-03-10']) {
    for (let m = 0; m < 600; m++) {
      bars.push(barFromTrades('DST', T(`${day}T12:00:00Z`) + m * 60_000, [{ price: 50, size: 1 }]));
    }
  }
  // Gap fill: 14:00, 14:03, 14:04, then 19:58 and the next day 13:31 (EDT).
  for (const [iso, price] of [
    ['2025-10-22T14:00:00Z', 20],
    ['2025-10-22T14:03:00Z', 21],
    ['2025-10-22T14:04:00Z', 22],
    ['2025-10-22T19:58:00Z', 23],
    ['2025-10-23T13:31:00Z', 24],
  ] as const) {
    bars.push(barFromTrades('GAP', T(iso), [{ price, size: 3 }]));
  }
  await upsertBars(db, bars);
  app = await buildApp({ db, rateLimit: false });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
});

async function get<B>(url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url, headers });
  const json =
    res.statusCode === 200 && /^application\/json/.test(String(res.headers['content-type']));
  return { res, body: json ? res.json<B>() : undefined };
}
type Page = { symbol: string; bars: ApiBar[]; next_cursor: string | null };
type Multi = { bars: Record<string, ApiBar[]>; next_cursor: string | null };

describe('VWAP', () => {
  const expected = (fromMs: number, toMs: number) => {
    let pv = 0;
    let v = 0;
    for (const [ms, trades] of tradesByMinute) {
      if (ms < fromMs || ms >= toMs) continue;
      if (ms === T('2025-10-22T14:17:00Z')) return null;
      for (const t of trades) {
        pv += t.price * t.size;
        v += t.size;
      }
    }
    return v === 0 ? null : pv / v;
  };

  it('returns each bar its VWAP, rebuilt from the trades, null when it was never written', async () => {
    const { body } = await get<Page>('/bars/VW?start=2025-10-22T14:00Z&end=2025-10-22T14:29Z');
    expect(body!.bars).toHaveLength(30);
    for (const b of body!.bars) {
      const ms = Date.parse(b.timestamp);
      const want = expected(ms, ms + 60_000);
      if (want === null) expect(b.vwap).toBeNull();
      else expect(Math.abs(b.vwap! - want) / want).toBeLessThan(1e-6);
    }
  });

  it('weighs resampled buckets by volume; a bucket holding a bar without VWAP has none', async () => {
    for (const [interval, step] of [
      ['5m', 300_000],
      ['15m', 900_000],
    ] as const) {
      const { body } = await get<Page>(
        `/bars/VW?start=2025-10-22T13:59Z&end=2025-10-22T14:29Z&interval=${interval}&include_legacy=true`,
      );
      expect(body!.bars.length).toBeGreaterThan(1);
      for (const b of body!.bars) {
        const ms = Date.parse(b.timestamp);
        const want = expected(ms, ms + step);
        if (want === null) expect(b.vwap, b.timestamp).toBeNull();
        else expect(Math.abs(b.vwap! - want) / want, b.timestamp).toBeLessThan(1e-6);
      }
      expect(body!.bars.some((b) => b.vwap === null)).toBe(true);
    }
  });

  it('writes vwap as the last CSV column, empty when unknown', async () => {
    const { res } = await get(
      '/bars/VW?start=2025-10-22T14:16Z&end=2025-10-22T14:17Z&format=csv&limit=10',
    );
    const [head, a, b] = res.body.trim().split('\n');
    expect(head!.split(',').at(-1)).toBe('vwap');
    expect(Number(a!.split(',').at(-1))).toBeCloseTo(
      expected(T('2025-10-22T14:16Z'), T('2025-10-22T14:17Z'))!,
      6,
    );
    expect(b!.split(',').at(-1)).toBe('');
  });
});

describe('GET /bars?symbols= (many symbols)', () => {
  it("answers Alpaca's shape, one cursor across symbol boundaries, every bar once", async () => {
    const url = '/bars?symbols=ccc,AAA,BBB,NONE&limit=4';
    const p1 = (await get<Multi>(url)).body!;
    expect(Object.keys(p1.bars)).toEqual(['AAA', 'BBB']);
    expect(p1.bars.AAA).toHaveLength(3);
    expect(p1.bars.BBB).toHaveLength(1);
    const p2 = (await get<Multi>(`${url}&cursor=${p1.next_cursor}`)).body!;
    expect(Object.keys(p2.bars)).toEqual(['BBB', 'CCC']);
    expect(p2.bars.BBB!.map((b) => b.timestamp)).toEqual([
      '2025-10-22T14:01:00.000Z',
      '2025-10-22T14:02:00.000Z',
    ]);
    const p3 = (await get<Multi>(`${url}&cursor=${p2.next_cursor}`)).body!;
    expect(p3.bars.CCC).toHaveLength(1);
    expect(p3.next_cursor).toBeNull();
    for (const symbol of ['AAA', 'BBB', 'CCC']) {
      const single = (await get<Page>(`/bars/${symbol}`)).body!.bars;
      const paged = [p1, p2, p3].flatMap((p) => p.bars[symbol] ?? []);
      expect(paged).toEqual(single);
    }
  });

  it('streams NDJSON with the symbol on each line, and refuses bad symbol lists', async () => {
    const { res } = await get('/bars?symbols=AAA,BBB&format=ndjson');
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.symbol)).toEqual(['AAA', 'AAA', 'AAA', 'BBB', 'BBB', 'BBB']);
    const many = Array.from({ length: 101 }, (_, i) => `S${i}`).join(',');
    for (const q of [`symbols=${many}`, 'symbols=AAA,b$d', '']) {
      const bad = await app.inject({ method: 'GET', url: `/bars?${q}` });
      expect(bad.statusCode, q).toBe(400);
      expect(bad.json().error.details.parameter).toBe('symbols');
    }
    const single = (await get<Page>('/bars/AAA?limit=1')).body!;
    const wrong = await app.inject({
      method: 'GET',
      url: `/bars?symbols=AAA&cursor=${single.next_cursor}`,
    });
    expect(wrong.json().error.details.parameter).toBe('cursor');
  });
});

describe('session', () => {
  it('regular is 09:30-16:00 New York on both sides of the DST change', async () => {
    const bounds = async (day: string, session: string) => {
      const bars = (await get<Page>(`/bars/DST?start=${day}&end=${day}&session=${session}`)).body!
        .bars;
      return [bars.length, bars[0]!.timestamp.slice(11, 16), bars.at(-1)!.timestamp.slice(11, 16)];
    };
    expect(await bounds('2025-03-07', 'regular')).toEqual([390, '14:30', '20:59']); // EST
    expect(await bounds('2025-03-10', 'regular')).toEqual([390, '13:30', '19:59']); // EDT
    expect(await bounds('2025-03-10', 'extended')).toEqual([210, '12:00', '21:59']);
    expect((await bounds('2025-03-10', 'all'))[0]).toBe(600);
  });

  it('filters before resampling', async () => {
    const bars = (
      await get<Page>('/bars/DST?start=2025-03-07&end=2025-03-07&session=regular&interval=1h')
    ).body!.bars;
    expect(bars[0]).toMatchObject({ timestamp: '2025-03-07T14:00:00.000Z', trade_count: 30 });
    expect(bars.at(-1)).toMatchObject({ timestamp: '2025-03-07T20:00:00.000Z', trade_count: 60 });
  });
});

describe('fill=previous', () => {
  it('fills missing minutes between the first and last bar, never past the range edges', async () => {
    const bars = (
      await get<Page>('/bars/GAP?start=2025-10-22T13:58Z&end=2025-10-22T14:10Z&fill=previous')
    ).body!.bars;
    expect(bars.map((b) => [b.timestamp.slice(11, 16), b.close, b.filled ?? false])).toEqual([
      ['14:00', 20, false],
      ['14:01', 20, true],
      ['14:02', 20, true],
      ['14:03', 21, false],
      ['14:04', 22, false],
    ]);
    expect(bars[1]).toMatchObject({
      open: 20,
      high: 20,
      low: 20,
      volume: 0,
      trade_count: 0,
      vwap: null,
    });
    expect('filled' in bars[0]!).toBe(false);
  });

  it('fills only inside the session, and pages through fills with the same bars', async () => {
    const q =
      '/bars/GAP?start=2025-10-22T19:57Z&end=2025-10-23T13:40Z&session=regular&fill=previous';
    const bars = (await get<Page>(q)).body!.bars;
    expect(bars.map((b) => b.timestamp.slice(5, 16))).toEqual([
      '10-22T19:58',
      '10-22T19:59',
      '10-23T13:30',
      '10-23T13:31',
    ]);
    const paged: ApiBar[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = (await get<Page>(`${q}&limit=1${cursor ? `&cursor=${cursor}` : ''}`))
        .body!;
      paged.push(...page.bars);
      cursor = page.next_cursor;
    } while (cursor);
    expect(paged).toEqual(bars);
  });
});

describe('HTTP caching', () => {
  it('a closed range has an ETag and answers 304 to If-None-Match; a rewrite changes it', async () => {
    const url = '/bars/AAA?start=2025-10-22&end=2025-10-22';
    const first = await app.inject({ method: 'GET', url });
    expect(first.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    await upsertBars(db, [
      barFromTrades('AAA', T('2025-10-22T14:00:00Z'), [{ price: 11, size: 9 }]),
    ]);
    const rewritten = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } });
    expect(rewritten.statusCode).toBe(200);
    expect(rewritten.headers.etag).not.toBe(etag);
  });

  it('a range that includes the open minute is no-store, without ETag', async () => {
    for (const url of [
      '/bars/AAA',
      `/bars/AAA?end=${new Date(Date.now() + 3_600_000).toISOString()}`,
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.headers['cache-control'], url).toBe('no-store');
      expect(res.headers.etag).toBeUndefined();
    }
  });
});

describe('streamed exports of 1M rows', () => {
  beforeAll(async () => {
    await sql`
      INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count,
        is_legacy, data_source, vwap)
      SELECT 'BULK', TIMESTAMPTZ '2020-01-01 00:00:00+00' + i * interval '1 minute',
        100, 101, 99, 100.5, 10, 1, false, 'trades', 100.25
      FROM generate_series(0, 999999) AS i`.execute(db);
  }, 300_000);

  it('streams every row as NDJSON and CSV with memory bounded far below the body', async () => {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const format of ['ndjson', 'csv']) {
      const before = process.memoryUsage().rss;
      let peak = before;
      const res = await fetch(`${base}/bars/BULK?format=${format}`);
      let lines = 0;
      let bytes = 0;
      let last = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
        last = Buffer.from(chunk).toString().trimEnd().split('\n').at(-1) || last;
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(lines).toBe(format === 'csv' ? 1_000_001 : 1_000_000);
      expect(bytes).toBeGreaterThan(50_000_000);
      // Server and client share this process: together they hold a few chunks. A server that
      // built the body first would hold more than the body's size (text and bytes); pnpm bench
      // measures the server alone (+5 MB over 1M rows).
      expect(peak - before, format).toBeLessThan(bytes);
      expect(last).toContain(new Date(T('2020-01-01T00:00:00Z') + 999_999 * 60_000).toISOString());
    }
  }, 300_000);

  it('a client that goes away cancels the query (nothing left in pg_stat_activity)', async () => {
    const base = await app
      .listen({ port: 0, host: '127.0.0.1' })
      .catch(() => `http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
    const abort = new AbortController();
    const res = await fetch(`${base}/bars/BULK?format=ndjson`, { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const active = () =>
      sql<{ n: string }>`SELECT count(*) AS n FROM pg_stat_activity
        WHERE query LIKE 'COPY (SELECT%' AND state = 'active' AND pid <> pg_backend_pid()`
        .execute(db)
        .then((r) => Number(r.rows[0]!.n));
    expect(await active()).toBe(1);
    abort.abort();
    // Wait for the condition: the COPY is gone from the server.
    while ((await active()) > 0) await new Promise((r) => setTimeout(r, 20));
    expect(await active()).toBe(0);
  }, 120_000);
});
