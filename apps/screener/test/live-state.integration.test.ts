import {
  type Db,
  type LiveEvent,
  LiveListener,
  type LiveStateRow,
  pctFromYesterday,
  readClosedThrough,
  readLiveState,
  sql,
} from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import { trade } from '@timed/dbn';
import type { GatewaySource } from '@timed/dbn/gateway';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DaemonConfig } from '../src/live/daemon.js';
import {
  gateway,
  openDb,
  type RunningDaemon,
  startTestDaemon,
  waitFor,
} from './helpers/harness.js';
import { quote, rng } from './helpers/session.js';

let url: string;
let db: Db;

beforeAll(async () => {
  url = await createTestDatabase(inject('adminUrl'), { prefix: 'screener_live_state' });
  db = openDb(url);
});
afterAll(async () => {
  await db.destroy();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  await sql`TRUNCATE price_bars, screener_instances, live_state, live_feed`.execute(db);
});

const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD'];
const INSTRUMENTS = SYMBOLS.map((symbol, k) => ({ instrument_id: 10 + k, symbol }));
const MINUTE_MS = 60_000;
const ms = (iso: string) => Date.parse(iso);
const toNs = (t: number) => BigInt(t) * 1_000_000n;

/** `n` random trades of SYMBOLS from `startMs` to before `endMs`, in ts_recv order. */
function makeTrades(seed: number, startMs: number, endMs: number, n: number) {
  const r = rng(seed);
  const times = Array.from({ length: n }, () => startMs + r() * (endMs - startMs)).sort(
    (a, b) => a - b,
  );
  const base = SYMBOLS.map(() => 20 + r() * 80);
  return times.map((t) => {
    const k = Math.floor(r() * SYMBOLS.length);
    const ts = BigInt(Math.floor(t * 1e3)) * 1_000n;
    return trade({
      instrument_id: 10 + k,
      ts_event: ts - 2_000n,
      ts_recv: ts,
      price: BigInt(Math.round((base[k]! + (r() - 0.5) * 4) * 100)) * 10_000_000n,
      size: 1 + Math.floor(r() * 900),
      publisher_id: 95,
    });
  });
}

type Trade = ReturnType<typeof makeTrades>[number];

/** A gateway source streaming `records` from the requested replay start. */
function source(records: ReadonlyArray<{ ts_event: bigint }>): GatewaySource {
  return (req) => ({
    instruments: INSTRUMENTS,
    records: records.filter((r) => req.start === undefined || r.ts_event >= req.start) as Trade[],
  });
}

interface Figures {
  open: number;
  high: number;
  low: number;
  price: number;
  lastSize: number;
  lastTs: number;
  volume: number;
  count: number;
  pv: number;
}

/** Day figures straight from the trades with ts_recv >= fromMs (the independent computation). */
function dayFigures(records: Trade[], fromMs: number): Map<string, Figures> {
  const out = new Map<string, Figures>();
  for (const rec of records) {
    const t = Number(rec.ts_recv / 1_000_000n);
    if (t < fromMs) continue;
    const symbol = SYMBOLS[rec.instrument_id - 10]!;
    const px = Number(rec.price) / 1e9;
    const f = out.get(symbol) ?? {
      open: px,
      high: px,
      low: px,
      price: px,
      lastSize: 0,
      lastTs: 0,
      volume: 0,
      count: 0,
      pv: 0,
    };
    f.high = Math.max(f.high, px);
    f.low = Math.min(f.low, px);
    f.price = px;
    f.lastSize = rec.size;
    f.lastTs = t;
    f.volume += rec.size;
    f.count += 1;
    f.pv += px * rec.size;
    out.set(symbol, f);
  }
  return out;
}

function expectFigures(row: LiveStateRow | undefined, f: Figures) {
  expect(row).toBeDefined();
  const s = row!;
  expect(s.volume).toBe(f.volume);
  expect(s.tradeCount).toBe(f.count);
  expect(s.dayOpen).toBeCloseTo(f.open, 9);
  expect(s.dayHigh).toBeCloseTo(f.high, 9);
  expect(s.dayLow).toBeCloseTo(f.low, 9);
  expect(s.price).toBeCloseTo(f.price, 9);
  expect(s.bid).toBe(s.price);
  expect(s.ask).toBe(s.price);
  expect(s.lastSize).toBe(f.lastSize);
  expect(s.lastTs).toBe(f.lastTs);
  expect(s.vwap!).toBeCloseTo(f.pv / f.volume, 6);
}

/** A LiveListener keeping the newest state per symbol, every state seen, and the closed mark. */
async function listen() {
  const latest = new Map<string, LiveStateRow>();
  const seen: LiveStateRow[] = [];
  const doorbells: number[] = [];
  let closedThrough = 0;
  const apply = (rows: LiveStateRow[]) => {
    for (const r of rows) {
      seen.push(r);
      const old = latest.get(r.symbol);
      if (!old || r.version > old.version) latest.set(r.symbol, r);
    }
  };
  const listener = new LiveListener({
    url,
    onEvent: (e: LiveEvent) => {
      if (e.type === 'states') apply(e.rows);
      else if (e.type === 'synced') apply(e.rows);
      else if (e.type === 'closed') {
        doorbells.push(e.closedThrough);
        closedThrough = Math.max(closedThrough, e.closedThrough);
      }
    },
  });
  await listener.start();
  cleanups.push(() => listener.close());
  return { latest, seen, doorbells, closed: () => closedThrough };
}

async function startGateway(
  records: ReadonlyArray<{ ts_event: bigint }>,
  nowMs: number,
  rate?: number,
) {
  // The gateway's clock (its heartbeats) is the feed's time: after the last trade, so heartbeats
  // close the last minute, and on the session's date, so they roll no day over.
  const gw = await gateway(source(records), { heartbeatMs: 1_000, nowNs: () => toNs(nowMs), rate });
  cleanups.push(() => gw.close());
  return gw;
}

function startDaemon(gw: Awaited<ReturnType<typeof gateway>>, config: Partial<DaemonConfig>) {
  const d: RunningDaemon = startTestDaemon(
    gw,
    { db, url },
    {
      liveState: { intervalMs: 50, snapshotIntervalMs: 200 },
      // Synthetic dates: the stored minutes count for the restart's replay.
      maxReplayAgeMs: 10 * 365 * 86_400_000,
      ...config,
    },
  );
  cleanups.push(() => {
    d.stop();
    return d.done.catch(() => undefined);
  });
  return d;
}

/** A stored bar for previous-close tests. */
async function storeBar(symbol: string, iso: string, close: number, legacy: boolean) {
  await db
    .insertInto('price_bars')
    .values({
      symbol,
      timestamp: new Date(iso),
      open: close,
      high: close,
      low: close,
      close,
      volume: legacy ? 0 : 100,
      trade_count: 1,
      is_legacy: legacy,
      data_source: legacy ? 'mbp-1' : 'trades',
    })
    .execute();
}

async function tableRows(): Promise<{ rows: LiveStateRow[]; closed: number | null }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return { rows: await readLiveState(client), closed: await readClosedThrough(client) };
  } finally {
    await client.end();
  }
}

const allMatch = (latest: Map<string, LiveStateRow>, want: Map<string, Figures>) =>
  [...want].every(([s, f]) => latest.get(s)?.tradeCount === f.count);

describe('live state published by the daemon (local gateway, real Postgres)', () => {
  it('day figures equal the trades, previous closes across a weekend, table and listener agree, doorbells after the bars', async () => {
    // Tuesday 2026-03-10, 10:30 New York (EDT).
    const start = ms('2026-03-10T14:30:00Z');
    const end = start + 5 * MINUTE_MS;
    const records = makeTrades(1, start, end, 3_000);
    // AAA: Monday's last regular-session bar (15:59 EDT) counts, its after-hours bar does not.
    await storeBar('AAA', '2026-03-09T19:59:00Z', 20, true);
    await storeBar('AAA', '2026-03-09T20:30:00Z', 99, true);
    // BBB: no bar on Monday: Friday's (15:59 EST), across the weekend, legacy.
    await storeBar('BBB', '2026-03-06T20:59:00Z', 30, true);
    const live = await listen();
    const bars: Promise<number>[] = [];
    const gw = await startGateway(records, end + 2 * MINUTE_MS);
    startDaemon(gw, { coldStartMinute: start / MINUTE_MS });
    const want = dayFigures(records, 0);
    expect(want.size).toBe(4);
    const lastMinute = end - MINUTE_MS;
    await waitFor('every trade in the published state and the last minute closed', () => {
      for (const m of live.doorbells.splice(0)) {
        // At each doorbell, that minute's bars are already in price_bars.
        bars.push(
          db
            .selectFrom('price_bars')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('timestamp', '=', new Date(m))
            .where('data_source', '=', 'trades')
            .executeTakeFirstOrThrow()
            .then((r) => Number(r.n)),
        );
      }
      return allMatch(live.latest, want) && live.closed() >= lastMinute;
    });
    for (const [symbol, f] of want) {
      const s = live.latest.get(symbol)!;
      expectFigures(s, f);
      expect(s.sessionDay).toBe('2026-03-10');
    }
    expect(live.closed()).toBe(lastMinute);
    expect(bars.length).toBeGreaterThan(0);
    for (const n of await Promise.all(bars)) expect(n).toBeGreaterThan(0);
    await waitFor('previous closes loaded', () => live.latest.get('AAA')?.prevClose === 20);
    const aaa = live.latest.get('AAA')!;
    expect(live.latest.get('BBB')!.prevClose).toBe(30);
    expect(live.latest.get('CCC')!.prevClose).toBeNull();
    expect(pctFromYesterday(aaa.price, aaa.prevClose)).toBeCloseTo(((aaa.price - 20) / 20) * 100);
    expect(pctFromYesterday(0, live.latest.get('CCC')!.prevClose)).toBeNull();
    // The table (what a replica reads when it connects) catches up with the notifications.
    await waitFor('live_state equal to the newest notifications', async () => {
      const { rows } = await tableRows();
      return (
        rows.length === 4 && rows.every((r) => r.version === live.latest.get(r.symbol)?.version)
      );
    });
    const table = await tableRows();
    expect(table.closed).toBe(lastMinute);
    for (const r of table.rows) expect(r).toEqual(live.latest.get(r.symbol));
  });

  it('the session day rolls over at 04:00 New York by ts_recv: figures restart, previous close moves a day', async () => {
    // 03:50 to 04:05 New York on Tuesday 2026-03-10 (EDT: 04:00 = 08:00 UTC).
    const start = ms('2026-03-10T07:50:00Z');
    const fourAm = ms('2026-03-10T08:00:00Z');
    const end = ms('2026-03-10T08:05:00Z');
    const records = makeTrades(2, start, end, 6_000);
    // Session day Monday (before 04:00): previous close is Friday's; Tuesday's is Monday's.
    await storeBar('AAA', '2026-03-06T20:59:00Z', 50, true);
    await storeBar('AAA', '2026-03-09T19:59:00Z', 60, true);
    const live = await listen();
    const gw = await startGateway(records, end + 2 * MINUTE_MS, 1_500);
    startDaemon(gw, { coldStartMinute: start / MINUTE_MS });
    await waitFor('a Monday state with Friday’s close', () =>
      live.seen.some(
        (r) => r.symbol === 'AAA' && r.sessionDay === '2026-03-09' && r.prevClose === 50,
      ),
    );
    const want = dayFigures(records, fourAm);
    await waitFor('the day rolled over and every trade since 04:00 published', () => {
      const aaa = live.latest.get('AAA');
      return (
        aaa?.sessionDay === '2026-03-10' && aaa.prevClose === 60 && allMatch(live.latest, want)
      );
    });
    for (const [symbol, f] of want) {
      expectFigures(live.latest.get(symbol), f);
      expect(live.latest.get(symbol)!.sessionDay).toBe('2026-03-10');
    }
    // No AAA state went out without its previous close, which was always known or being loaded:
    // not its first (a new symbol), nor the new day's before Monday's close was loaded.
    const aaa = live.seen.filter((r) => r.symbol === 'AAA');
    expect(aaa.filter((r) => r.sessionDay === '2026-03-10' && r.prevClose !== 60)).toEqual([]);
    expect(aaa.filter((r) => r.sessionDay === '2026-03-09' && r.prevClose !== 50)).toEqual([]);
    // Before the rollover the figures covered Monday's session day (from 03:50 on: the feed).
    const monday = live.seen.filter((r) => r.symbol === 'AAA' && r.sessionDay === '2026-03-09');
    const mondayMax = Math.max(...monday.map((r) => r.tradeCount));
    expect(mondayMax).toBeLessThanOrEqual(dayFigures(records, 0).get('AAA')!.count);
    expect(mondayMax).toBeGreaterThan(0);
  });

  it('a restart mid-day keeps today’s figures (stored bars + replay): nothing drops to zero', async () => {
    const start = ms('2026-03-10T14:30:00Z');
    const cut = start + 3 * MINUTE_MS;
    const end = start + 6 * MINUTE_MS;
    const records = makeTrades(3, start, end, 3_000);
    const live = await listen();
    // First run: the feed up to 14:33, its heartbeats close 14:32.
    const first = records.filter((r) => Number(r.ts_recv / 1_000_000n) < cut);
    const gw1 = await startGateway(first, cut + 30_000);
    const d1 = startDaemon(gw1, { coldStartMinute: start / MINUTE_MS });
    await waitFor('14:32 closed', () => live.closed() >= cut - MINUTE_MS);
    await waitFor('the first run’s trades published', () =>
      allMatch(live.latest, dayFigures(first, 0)),
    );
    d1.stop();
    expect((await d1.done).exitCode).toBe(0);
    const before = new Map([...live.latest].map(([s, r]) => [s, r.volume]));
    const seenBefore = live.seen.length;
    await gw1.close();

    // Second run: the whole feed; it resumes from the newest stored minute.
    const gw2 = await startGateway(records, end + 2 * MINUTE_MS);
    startDaemon(gw2, { coldStartMinute: start / MINUTE_MS });
    const want = dayFigures(records, 0);
    await waitFor('every trade of the day published after the restart', () =>
      allMatch(live.latest, want),
    );
    for (const [symbol, f] of want) expectFigures(live.latest.get(symbol), f);
    const after = live.seen.slice(seenBefore);
    expect(after.length).toBeGreaterThan(0);
    for (const r of after) expect(r.volume).toBeGreaterThanOrEqual(before.get(r.symbol) ?? 0);
  });

  it('mbp-1 mode: bid/ask are the real top of book, price the mid, no volume or VWAP', async () => {
    const start = ms('2026-03-10T14:30:00Z');
    const r = rng(5);
    const quotes = [];
    const last = new Map<number, { bid: number; ask: number }>();
    const counts = new Map<number, number>();
    for (let k = 0; k < 400; k++) {
      const id = 10 + (k % 4);
      const bidCents = 2_000 + Math.floor(r() * 100);
      const askCents = bidCents + 1 + Math.floor(r() * 5);
      const ts = toNs(start) + BigInt(k) * 300_000_000n;
      quotes.push(quote(id, ts, BigInt(bidCents) * 10_000_000n, BigInt(askCents) * 10_000_000n));
      last.set(id, { bid: bidCents / 100, ask: askCents / 100 });
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const live = await listen();
    const gw = await startGateway(quotes, start + 4 * MINUTE_MS);
    startDaemon(gw, { coldStartMinute: start / MINUTE_MS, schema: 'mbp-1' });
    await waitFor('every quote published', () =>
      [...counts].every(([id, n]) => live.latest.get(SYMBOLS[id - 10]!)?.tradeCount === n),
    );
    for (const [id, top] of last) {
      const s = live.latest.get(SYMBOLS[id - 10]!)!;
      expect(s.bid).toBe(top.bid);
      expect(s.ask).toBe(top.ask);
      expect(s.price).toBeCloseTo((top.bid + top.ask) / 2, 9);
      expect(s).toMatchObject({ volume: 0, vwap: null, lastSize: 0 });
    }
  });
});
