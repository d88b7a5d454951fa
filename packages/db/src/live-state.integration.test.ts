import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDb,
  type Db,
  type LiveEvent,
  LiveListener,
  LivePublisher,
  type LiveStateRow,
  type LiveSymbolState,
  MAX_PAYLOAD_BYTES,
  pctFromYesterday,
  sql,
} from './index.js';
import { createTestDatabase } from './testing/index.js';

let url: string;
let db: Db;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  url = await createTestDatabase(inject('adminUrl'));
  db = createDb(url);
});
afterAll(async () => {
  for (const o of open.reverse()) await o.close();
  await db?.destroy();
});

/** Waits until `check` holds, polling the event loop (no fixed sleeps). */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function state(
  symbol: string,
  price: number,
  extra: Partial<LiveSymbolState> = {},
): LiveSymbolState {
  return {
    symbol,
    sessionDay: '2025-10-20',
    price,
    bid: price,
    ask: price,
    lastSize: 100,
    lastTs: Date.parse('2025-10-20T14:00:01.250Z'),
    dayOpen: price - 1,
    dayHigh: price + 1,
    dayLow: price - 2,
    volume: 12_345,
    tradeCount: 67,
    vwap: price - 0.5,
    prevClose: 100,
    barTimestamp: Date.parse('2025-10-20T14:00:00Z'),
    barOpen: price,
    barHigh: price,
    barLow: price,
    barClose: price,
    barVolume: 100,
    barTradeCount: 1,
    barVwap: price,
    ...extra,
  };
}

/** A listener that keeps the newest row per symbol (by version), like the API's hub. */
function follow(reconnectMinMs = 20) {
  const latest = new Map<string, LiveStateRow>();
  const events: LiveEvent[] = [];
  let closedThrough: number | null = null;
  const apply = (rows: LiveStateRow[]) => {
    for (const r of rows) {
      const cur = latest.get(r.symbol);
      if (!cur || cur.version <= r.version) latest.set(r.symbol, r);
    }
  };
  const listener = new LiveListener({
    url,
    reconnectMinMs,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'states' || e.type === 'synced') apply(e.rows);
      if (e.type === 'closed') closedThrough = Math.max(closedThrough ?? 0, e.closedThrough);
      if (e.type === 'synced' && e.closedThrough !== null) {
        closedThrough = Math.max(closedThrough ?? 0, e.closedThrough);
      }
    },
  });
  open.push(listener);
  return { listener, latest, events, closed: () => closedThrough };
}

describe('live state through Postgres', () => {
  it('delivers published states to a listener, all fields intact', async () => {
    const f = follow();
    await f.listener.start();
    expect(f.events[0]).toMatchObject({ type: 'synced', rows: [], reconnect: false });
    const publisher = new LivePublisher(db);
    open.push(publisher);
    const s = state('AAPL', 101.25, { bid: 101.2, ask: 101.3, vwap: null, barVwap: null });
    publisher.publish([s]);
    await until(() => f.latest.has('AAPL'), 'AAPL');
    const { version, ...got } = f.latest.get('AAPL')!;
    expect(got).toEqual(s);
    expect(version).toBeGreaterThan(0);
    expect(pctFromYesterday(got.price, got.prevClose)).toBeCloseTo(1.25, 10);
    expect(pctFromYesterday(5, null)).toBeNull();
    // Rows travel as UTF-8 bytes: a symbol JSON must escape, non-ASCII, prices of any form.
    const odd = state('Ü€"\\x', 0.000_123, { dayHigh: 1e21, dayLow: 1 / 3, vwap: -0.5 });
    publisher.publish([odd]);
    await until(() => f.latest.has(odd.symbol), 'the odd symbol');
    const { version: v2, ...gotOdd } = f.latest.get(odd.symbol)!;
    expect(gotOdd).toEqual(odd);
    await publisher.flush();
    const table = await sql<{ symbol: string; day_high: number; day_low: number }>`
      SELECT symbol, day_high, day_low FROM live_state WHERE version = ${v2}`.execute(db);
    expect(table.rows).toEqual([{ symbol: odd.symbol, day_high: 1e21, day_low: 1 / 3 }]);
  });

  it('splits thousands of symbols into payloads under 8,000 bytes and coalesces per symbol', async () => {
    const f = follow();
    await f.listener.start();
    const publisher = new LivePublisher(db);
    open.push(publisher);
    const symbols = Array.from({ length: 3_000 }, (_, i) => `S${i}`);
    // Three rounds for every symbol before anything can go out: only the last must matter.
    for (const round of [1, 2, 3]) publisher.publish(symbols.map((s) => state(s, round)));
    await publisher.flush();
    await until(
      () => symbols.every((s) => f.latest.get(s)?.price === 3),
      'round 3 of every symbol',
    );
    expect(publisher.stats.published).toBe(9_000);
    expect(publisher.stats.coalesced).toBeGreaterThan(0);
    expect(publisher.stats.notifications).toBeGreaterThan(10);
    expect(publisher.stats.largestPayloadBytes).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(publisher.stats.largestPayloadBytes).toBeGreaterThan(MAX_PAYLOAD_BYTES - 400);
    expect(publisher.stats.errors).toBe(0);
    // Every symbol's final state is in the table too.
    const rows = await sql<{ n: string }>`SELECT count(*)::text AS n FROM live_state
      WHERE symbol LIKE 'S%' AND price = 3`.execute(db);
    expect(rows.rows[0]?.n).toBe('3000');
  });

  it('never lets an older version replace a newer row in the table', async () => {
    const early = new LivePublisher(db, { now: () => Date.parse('2020-01-01T00:00:00Z') });
    const late = new LivePublisher(db);
    open.push(early, late);
    late.publish([state('VER', 2)]);
    await late.flush();
    early.publish([state('VER', 1)]);
    await early.flush();
    const r = await sql<{
      price: number;
    }>`SELECT price FROM live_state WHERE symbol = 'VER'`.execute(db);
    expect(r.rows[0]?.price).toBe(2);
  });

  it('rings the closed-minute doorbell and keeps the mark in live_feed (never backwards)', async () => {
    const f = follow();
    await f.listener.start();
    const publisher = new LivePublisher(db);
    open.push(publisher);
    const m = Date.parse('2025-10-20T14:05:00Z');
    expect(await publisher.barsClosed(m)).toBe(true);
    await until(() => f.closed() === m, 'closed event');
    await publisher.barsClosed(m - 60_000);
    const r = await sql<{ t: Date }>`SELECT closed_through AS t FROM live_feed`.execute(db);
    expect(r.rows[0]?.t.getTime()).toBe(m);
  });

  it('rings a doorbell only after the states queued before it, even while a round is in flight', async () => {
    const f = follow();
    await f.listener.start();
    const publisher = new LivePublisher(db);
    open.push(publisher);
    const m = Date.parse('2025-10-20T14:06:00Z');
    // The first publish starts a NOTIFY round at once; the second state and the doorbell are
    // queued while it is in flight.
    publisher.publish([state('ORD1', 10)]);
    publisher.publish([state('ORD2', 20)]);
    const rung = publisher.barsClosed(m);
    expect(await rung).toBe(true);
    await until(() => f.closed() === m, 'closed event');
    const order = f.events.flatMap((e) =>
      e.type === 'states'
        ? e.rows.filter((r) => r.symbol.startsWith('ORD')).map((r) => r.symbol)
        : e.type === 'closed' && e.closedThrough === m
          ? ['closed']
          : [],
    );
    expect(order).toEqual(['ORD1', 'ORD2', 'closed']);
  });

  it('catches up from the table when its LISTEN connection is killed', async () => {
    // Reconnects a second later: the new state below reaches it through the table, not NOTIFY.
    const f = follow(1_000);
    await f.listener.start();
    const publisher = new LivePublisher(db, { snapshotIntervalMs: 50 });
    open.push(publisher);
    publisher.publish([state('KILL', 10)]);
    await until(() => f.latest.get('KILL')?.price === 10, 'KILL 10');

    const pid = f.listener.backendPid!;
    await sql`SELECT pg_terminate_backend(${pid})`.execute(db);
    await until(() => f.events.some((e) => e.type === 'disconnected'), 'disconnect');
    // While it is gone: a new state and a closed minute; their notifications are lost to it.
    publisher.publish([state('KILL', 11, { volume: 99_999 })]);
    const m = Date.parse('2025-10-20T14:30:00Z');
    await publisher.barsClosed(m);
    await publisher.flush();

    await until(() => f.events.some((e) => e.type === 'synced' && e.reconnect), 'resync');
    expect(f.listener.reconnects).toBe(1);
    const resync = f.events.find((e) => e.type === 'synced' && e.reconnect);
    expect(resync?.type === 'synced' && resync.rows.find((r) => r.symbol === 'KILL')).toMatchObject(
      { price: 11, volume: 99_999 },
    );
    expect(f.latest.get('KILL')).toMatchObject({ price: 11, volume: 99_999 });
    expect(f.closed()).toBe(m);
    expect(f.listener.backendPid).not.toBe(pid);
  });

  it('keeps retrying a listener whose server refuses connections, without throwing', async () => {
    const events: LiveEvent[] = [];
    const listener = new LiveListener({
      url: 'postgres://nobody@127.0.0.1:1/none',
      reconnectMinMs: 10,
      reconnectMaxMs: 20,
      onEvent: (e) => events.push(e),
    });
    open.push(listener);
    await listener.start();
    await until(() => events.filter((e) => e.type === 'disconnected').length >= 3, 'retries');
    expect(listener.connected).toBe(false);
    expect(events.some((e) => e.type === 'synced')).toBe(false);
  });

  it('counts what it cannot write while Postgres is away, keeps the snapshot, and closes cleanly', async () => {
    const nowhere = createDb('postgres://nobody@127.0.0.1:1/none');
    const failures: string[] = [];
    const publisher = new LivePublisher(nowhere, { onError: (_err, what) => failures.push(what) });
    publisher.publish([state('AWAY', 1)]);
    await until(() => failures.includes('notify'), 'the failed NOTIFY');
    await publisher.flush();
    expect(failures).toContain('snapshot');
    // The doorbell is retried until it is sent; closing gives up on it (false, never a rejection).
    const bell = publisher.barsClosed(Date.parse('2025-10-20T15:00:00Z'));
    await until(() => failures.filter((f) => f === 'closed').length >= 2, 'two doorbell attempts');
    await publisher.close();
    expect(await bell).toBe(false);
    expect(await publisher.barsClosed(0)).toBe(false);
    expect(publisher.stats.errors).toBeGreaterThanOrEqual(4);
    expect(() => publisher.publish([state('AWAY', 2)])).toThrow(/after close/);
    await nowhere.destroy();
  });
});
