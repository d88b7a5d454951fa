import { createDb, type Db, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import { type ApiBar, BAR_INTERVALS } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { session, walk } from '../../test/seed.js';
import { buildApp } from '../app.js';

let db: Db;
let app: FastifyInstance;

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl')));
  await upsertBars(db, [
    ...session('AAPL', '2025-10-21', 11, true),
    // Pre-market legacy bars share the 13:00 hour with the session's first trades bars.
    ...walk('AAPL', Date.parse('2025-10-22T13:00:00Z'), 30, { seed: 5, legacy: true }),
    ...session('AAPL', '2025-10-22', 12),
    ...session('AAPL', '2025-10-23', 13),
    ...session('AAPL', '2025-10-24', 14),
    ...walk('BRK.B', Date.parse('2025-10-22T15:00:00Z'), 5, { seed: 3, base: 480 }),
  ]);
  app = await buildApp({ db });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
});

type BarsBody = { symbol: string; bars: ApiBar[]; next_cursor: string | null };

async function getBars(path: string): Promise<BarsBody> {
  const res = await app.inject({ method: 'GET', url: path });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<BarsBody>();
}

/** Every bar of `path`'s query, following next_cursor. */
async function allPages(path: string): Promise<ApiBar[]> {
  const bars: ApiBar[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await getBars(cursor ? `${path}${sep}cursor=${cursor}` : path);
    bars.push(...page.bars);
    cursor = page.next_cursor;
  } while (cursor);
  return bars;
}

const minutesOf = (bars: ApiBar[]) => bars.map((b) => b.timestamp.slice(11, 16));

describe('GET /bars/:symbol', () => {
  it('returns a session of trades bars ascending, prices and volume as JSON numbers', async () => {
    const body = await getBars('/bars/AAPL?start=2025-10-22&end=2025-10-22');
    expect(body.symbol).toBe('AAPL');
    expect(body.next_cursor).toBeNull();
    expect(body.bars).toHaveLength(390);
    expect(body.bars[0]!.timestamp).toBe('2025-10-22T13:30:00.000Z');
    expect(body.bars.at(-1)!.timestamp).toBe('2025-10-22T19:59:00.000Z');
    const stored = session('AAPL', '2025-10-22', 12)[0]!;
    expect(body.bars[0]).toEqual({
      timestamp: '2025-10-22T13:30:00.000Z',
      open: Number(stored.open),
      high: Number(stored.high),
      low: Number(stored.low),
      close: Number(stored.close),
      volume: Number(stored.volume),
      trade_count: stored.trade_count,
      is_legacy: false,
      data_source: 'trades',
      vwap: null,
    });
    const times = body.bars.map((b) => Date.parse(b.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('writes prices as the stored decimal text, byte for byte the same in JSON pages and exports', async () => {
    const url = '/bars/BRK.B?start=2025-10-22&end=2025-10-22';
    const json = (await app.inject({ method: 'GET', url })).body;
    const ndjson = (await app.inject({ method: 'GET', url: `${url}&format=ndjson` })).body;
    const csv = (await app.inject({ method: 'GET', url: `${url}&format=csv` })).body;
    const stored = walk('BRK.B', Date.parse('2025-10-22T15:00:00Z'), 5, { seed: 3, base: 480 });
    const prices = stored.map((b) => [b.open, b.high, b.low, b.close].map(String));
    // walk() writes four decimals, trailing zeros included (e.g. 480.0000): kept as stored.
    expect(prices.flat().some((p) => /\.\d*0$/.test(p))).toBe(true);
    expect(json.match(/"open":[^,]+,"high":[^,]+,"low":[^,]+,"close":[^,]+/g)).toEqual(
      prices.map(([o, h, l, c]) => `"open":${o},"high":${h},"low":${l},"close":${c}`),
    );
    expect(ndjson.match(/"open":[^,]+,"high":[^,]+,"low":[^,]+,"close":[^,]+/g)).toEqual(
      prices.map(([o, h, l, c]) => `"open":${o},"high":${h},"low":${l},"close":${c}`),
    );
    expect(
      csv
        .split('\n')
        .slice(1, -1)
        .map((line) => line.split(',').slice(1, 5)),
    ).toEqual(prices);
  });

  it('treats the symbol case-insensitively, dots included', async () => {
    expect(await getBars('/bars/aapl?start=2025-10-22&end=2025-10-22')).toEqual(
      await getBars('/bars/AAPL?start=2025-10-22&end=2025-10-22'),
    );
    const brk = await getBars('/bars/brk.b');
    expect(brk.symbol).toBe('BRK.B');
    expect(brk.bars).toHaveLength(5);
  });

  it('hides legacy bars by default and shows them, flagged, with include_legacy', async () => {
    const day = '/bars/AAPL?start=2025-10-22&end=2025-10-22';
    for (const off of ['', '&include_legacy=false', '&include_legacy=0']) {
      const body = await getBars(day + off);
      expect(body.bars).toHaveLength(390);
      expect(body.bars.every((b) => !b.is_legacy && b.data_source === 'trades')).toBe(true);
    }
    for (const on of ['&include_legacy=true', '&include_legacy=1']) {
      const body = await getBars(day + on);
      expect(body.bars).toHaveLength(420);
      const legacy = body.bars.filter((b) => b.is_legacy);
      expect(minutesOf(legacy)).toEqual(minutesOf(body.bars.slice(0, 30)));
      expect(legacy.every((b) => b.data_source === 'mbp-1' && b.volume === 0)).toBe(true);
    }
    expect((await getBars('/bars/AAPL?start=2025-10-21&end=2025-10-21')).bars).toEqual([]);
  });

  it('treats start and end as inclusive instants, in any ISO 8601 offset', async () => {
    const a = await getBars('/bars/AAPL?start=2025-10-22T14:00:00Z&end=2025-10-22T14:04:00Z');
    expect(minutesOf(a.bars)).toEqual(['14:00', '14:01', '14:02', '14:03', '14:04']);
    const b = await getBars(
      `/bars/AAPL?start=${encodeURIComponent('2025-10-22T10:00:00-04:00')}&end=2025-10-22T14:04`,
    );
    expect(b.bars).toEqual(a.bars);
    const c = await getBars('/bars/AAPL?start=2025-10-22T14:00:30Z&end=2025-10-22T14:03:59.999Z');
    expect(minutesOf(c.bars)).toEqual(['14:01', '14:02', '14:03']);
  });

  it('without a range serves every bar; an unknown symbol is an empty list', async () => {
    expect((await getBars('/bars/AAPL?limit=50000')).bars).toHaveLength(3 * 390);
    expect(await getBars('/bars/ZZZZ')).toEqual({ symbol: 'ZZZZ', bars: [], next_cursor: null });
  });

  it('pages with limit and next_cursor, every bar once, null on the last page', async () => {
    const whole = (await getBars('/bars/AAPL?limit=50000&include_legacy=true')).bars;
    const first = await getBars('/bars/AAPL?limit=100&include_legacy=true');
    expect(first.bars).toHaveLength(100);
    expect(typeof first.next_cursor).toBe('string');
    expect(await allPages('/bars/AAPL?limit=100&include_legacy=true')).toEqual(whole);
    expect((await getBars('/bars/AAPL?limit=1000')).bars).toHaveLength(1000);
  });
});

/** Aggregates 1-minute API bars in plain JS: the reference the SQL aggregation must match. */
function rebuild(minuteBars: ApiBar[], seconds: number): ApiBar[] {
  const step = seconds * 1000;
  const buckets = new Map<number, ApiBar[]>();
  for (const b of minuteBars) {
    const key = Math.floor(Date.parse(b.timestamp) / step) * step;
    buckets.set(key, [...(buckets.get(key) ?? []), b]);
  }
  return [...buckets.entries()]
    .sort(([x], [y]) => x - y)
    .map(([key, group]) => ({
      timestamp: new Date(key).toISOString(),
      open: group[0]!.open,
      high: Math.max(...group.map((b) => b.high)),
      low: Math.min(...group.map((b) => b.low)),
      close: group.at(-1)!.close,
      volume: group.reduce((n, b) => n + b.volume, 0),
      trade_count: group.reduce((n, b) => n + b.trade_count, 0),
      is_legacy: group.some((b) => b.is_legacy),
      data_source: group.every((b) => b.data_source === 'trades') ? 'trades' : 'mbp-1',
      // These bars carry no VWAP (written without one): neither does their bucket.
      vwap: null,
    }));
}

describe('interval aggregation', () => {
  const range = 'start=2025-10-21&end=2025-10-24';
  for (const interval of ['5m', '15m', '1h', '1d'] as const) {
    for (const legacy of [false, true]) {
      it(`${interval} bars (include_legacy=${legacy}) equal a rebuild from the 1-minute bars`, async () => {
        const q = `${range}&include_legacy=${legacy}`;
        const minutes = (await getBars(`/bars/AAPL?${q}&limit=50000`)).bars;
        const expected = rebuild(minutes, BAR_INTERVALS[interval]);
        const got = (await getBars(`/bars/AAPL?${q}&interval=${interval}&limit=50000`)).bars;
        expect(got).toEqual(expected);
        expect(got.length).toBeGreaterThan(0);
        // Paged in small pages, the buckets are the same.
        expect(await allPages(`/bars/AAPL?${q}&interval=${interval}&limit=7`)).toEqual(expected);
      });
    }
  }

  it('marks the 13:00 hour legacy when legacy bars are included, trades otherwise', async () => {
    const q = '/bars/AAPL?start=2025-10-22T13:00Z&end=2025-10-22T13:59Z&interval=1h';
    const [withLegacy] = (await getBars(`${q}&include_legacy=true`)).bars;
    const [without] = (await getBars(q)).bars;
    expect(withLegacy).toMatchObject({ is_legacy: true, data_source: 'mbp-1' });
    expect(without).toMatchObject({ is_legacy: false, data_source: 'trades' });
    expect(withLegacy!.trade_count).toBe(without!.trade_count);
  });
});

/** Parses the CSV variant back into API bars. */
function parseCsv(text: string): { header: string[]; bars: ApiBar[] } {
  const [head, ...lines] = text.trimEnd().split('\n');
  const header = head!.split(',');
  const bars = lines.map((line) => {
    const v = line.split(',');
    return {
      timestamp: v[0]!,
      open: Number(v[1]),
      high: Number(v[2]),
      low: Number(v[3]),
      close: Number(v[4]),
      volume: Number(v[5]),
      trade_count: Number(v[6]),
      is_legacy: v[7] === 'true',
      data_source: v[8] as ApiBar['data_source'],
      vwap: v[9] === '' ? null : Number(v[9]),
    };
  });
  return { header, bars };
}

describe('format=csv', () => {
  for (const q of [
    'start=2025-10-22&end=2025-10-23&include_legacy=true',
    'start=2025-10-21&end=2025-10-24&include_legacy=true&interval=15m',
    'limit=250',
  ]) {
    it(`equals the JSON answer (${q})`, async () => {
      const json = await getBars(`/bars/AAPL?${q}`);
      const res = await app.inject({ method: 'GET', url: `/bars/AAPL?${q}&format=csv` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      const csv = parseCsv(res.body);
      expect(csv.header).toEqual(Object.keys(json.bars[0]!));
      expect(csv.bars).toEqual(json.bars);
      expect(res.headers['x-next-cursor']).toBe(json.next_cursor ?? undefined);
    });
  }
});

describe('bad input', () => {
  const cases: [string, string][] = [
    ['start=2025-13-01', 'start'],
    ['start=yesterday', 'start'],
    ['start=2025-02-30', 'start'],
    ['end=2025-10-24T25:00:00Z', 'end'],
    ['end=', 'end'],
    ['start=2025-10-24&end=2025-10-23', 'start'],
    ['limit=0', 'limit'],
    ['limit=50001', 'limit'],
    ['limit=-5', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=ten', 'limit'],
    ['interval=2m', 'interval'],
    ['interval=1M', 'interval'],
    ['include_legacy=yes', 'include_legacy'],
    ['format=xml', 'format'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${'A'.repeat(300)}`, 'cursor'],
  ];
  for (const [query, parameter] of cases) {
    it(`answers 400 naming ${parameter} for ?${query.slice(0, 40)}`, async () => {
      const res = await app.inject({ method: 'GET', url: `/bars/AAPL?${query}` });
      expect(res.statusCode).toBe(400);
      const body = res.json<{ error: { code: string; message: string; details: unknown } }>();
      expect(body.error.code).toBe('INVALID_PARAMETER');
      expect(body.error.message.startsWith(`${parameter}: `)).toBe(true);
      expect(body.error.details).toMatchObject({ parameter });
    });
  }

  const symbols = [
    "AAPL'; DROP TABLE price_bars; --",
    "' OR '1'='1",
    'AAPL OR 1=1',
    'AAPL"',
    '$(reboot)',
    '<script>alert(1)</script>',
    '.hidden',
    '',
    'A\u0000B',
    'X'.repeat(33),
    'ＡＡＰＬ',
  ];
  for (const symbol of symbols) {
    it(`refuses the symbol ${JSON.stringify(symbol).slice(0, 30)} with 400 naming symbol`, async () => {
      const res = await app.inject({
        method: 'GET',
        url: `/bars/${encodeURIComponent(symbol)}?include_legacy=true`,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        error: { code: 'INVALID_PARAMETER', details: { parameter: 'symbol' } },
      });
    });
  }

  it('left the table intact after all of that', async () => {
    const row = await db
      .selectFrom('price_bars')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(row.n)).toBe(4 * 390 + 30 + 5);
  });

  it('answers unknown routes with a JSON 404 in the same shape', async () => {
    for (const url of ['/nope', '/bars/AAPL/extra', '/health/x']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });
});

describe('micro-cache (BARS_CACHE_TTL_MS)', () => {
  it('serves a query asked again within the TTL from memory, byte for byte, other queries fresh', async () => {
    const cached = await buildApp({ db, barsCacheTtlMs: 60_000 });
    try {
      const url = '/bars/CACHE?start=2025-10-22';
      await upsertBars(db, walk('CACHE', Date.parse('2025-10-22T14:00:00Z'), 2, { seed: 8 }));
      // Asked once, the page is not kept; asked again within the TTL, it is.
      await cached.inject({ method: 'GET', url });
      const kept = await cached.inject({ method: 'GET', url });
      await upsertBars(db, walk('CACHE', Date.parse('2025-10-22T14:02:00Z'), 1, { seed: 9 }));
      const third = await cached.inject({ method: 'GET', url });
      expect(third.body).toBe(kept.body);
      expect(kept.json<BarsBody>().bars).toHaveLength(2);
      const other = await cached.inject({ method: 'GET', url: `${url}&limit=10` });
      expect(other.json<BarsBody>().bars).toHaveLength(3);
      const csv = await cached.inject({ method: 'GET', url: `${url}&limit=10&format=csv` });
      expect(parseCsv(csv.body).bars).toEqual(other.json<BarsBody>().bars);
    } finally {
      await cached.close();
    }
  });
});
