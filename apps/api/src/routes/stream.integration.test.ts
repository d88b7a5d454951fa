import { connect } from 'node:net';
import { createDb, type Db, LivePublisher, sql, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { BarInput } from '@timed/schema';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LiveApi, startLiveApi } from '../../test/live-api.js';
import { liveState } from '../../test/live-state.js';
import { SseClient, type SseEvent, until } from '../../test/sse.js';

let url: string;
let db: Db;
let publisher: LivePublisher;
const apis: LiveApi[] = [];
const clients: SseClient[] = [];

const T0 = Date.parse('2025-10-22T14:00:00Z');
const minute = (n: number) => T0 + n * 60_000;

beforeAll(async () => {
  url = await createTestDatabase(inject('adminUrl'));
  db = createDb(url);
  publisher = new LivePublisher(db);
  // The screener has closed minutes before T0: streams start from there.
  await publisher.barsClosed(minute(-1));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const a of apis.splice(0)) await a.close();
});
afterAll(async () => {
  await publisher?.close();
  await db?.destroy();
});

async function api(options: Parameters<typeof startLiveApi>[2] = {}): Promise<LiveApi> {
  const a = await startLiveApi(db, url, options);
  apis.push(a);
  return a;
}

async function stream(a: LiveApi, query: string, headers: Record<string, string> = {}) {
  const c = await new SseClient(`${a.base}/stream?${query}`, headers).open();
  clients.push(c);
  return c;
}

/** A closed bar as the screener writes it, then its doorbell. */
async function closeMinute(n: number, symbols: string[], close = 100 + n): Promise<void> {
  const bars: BarInput[] = symbols.map((symbol) => ({
    symbol,
    timestamp: new Date(minute(n)),
    open: close - 0.25,
    high: close + 0.5,
    low: close - 0.5,
    close,
    volume: 1_000 + n,
    trade_count: 10 + n,
    is_legacy: false,
    data_source: 'trades',
  }));
  await upsertBars(db, bars);
  await publisher.barsClosed(minute(n));
}

const finals = (c: SseClient, symbol = 'AAA') =>
  c
    .of('bar')
    .map((e) => e.data as { symbol: string; timestamp: string; final: boolean })
    .filter((b) => b.final && b.symbol === symbol)
    .map((b) => Date.parse(b.timestamp));

const priceOf = (c: SseClient, symbol: string) =>
  c
    .of('price')
    .map((e) => e.data as { symbol: string; price: number })
    .filter((p) => p.symbol === symbol)
    .at(-1)?.price;

describe('GET /stream', () => {
  it('sends price, the open minute as bar final=false, and the closed bar as final=true', async () => {
    const a = await api();
    const c = await stream(a, 'symbols=AAA,BBB');
    expect(c.status).toBe(200);
    publisher.publish([liveState('AAA', 101.5, { barTimestamp: minute(0), barClose: 101.5 })]);
    await until(() => c.of('bar').length === 1, 'the provisional bar');
    const price = c.of('price')[0]!.data as Record<string, unknown>;
    expect(price).toMatchObject({ symbol: 'AAA', price: 101.5, pct_from_yesterday: 1.5 });
    expect(Object.keys(price)[0]).toBe('symbol');
    expect(c.of('bar')[0]!.data).toMatchObject({
      symbol: 'AAA',
      timestamp: new Date(minute(0)).toISOString(),
      close: 101.5,
      final: false,
    });

    await closeMinute(0, ['AAA']);
    await until(() => finals(c).length === 1, 'the closed bar');
    expect(c.of('bar').at(-1)!.data).toEqual({
      symbol: 'AAA',
      timestamp: new Date(minute(0)).toISOString(),
      open: 99.75,
      high: 100.5,
      low: 99.5,
      close: 100,
      volume: 1_000,
      trade_count: 10,
      is_legacy: false,
      data_source: 'trades',
      vwap: null,
      final: true,
    });
    // A late provisional state of the closed minute is not sent as open again.
    publisher.publish([liveState('AAA', 102, { barTimestamp: minute(0) })]);
    publisher.publish([liveState('BBB', 7, { barTimestamp: minute(1) })]);
    await until(() => priceOf(c, 'BBB') === 7, 'BBB');
    expect(c.of('bar').filter((e) => (e.data as { final: boolean }).final === false)).toHaveLength(
      2,
    );
    expect(c.events.every((e) => /^\d+:\d+$/.test(e.id ?? ''))).toBe(true);
  });

  it('resumes after an API restart with Last-Event-ID and misses no closed bar', async () => {
    const first = await api();
    const c1 = await stream(first, 'symbols=AAA');
    await closeMinute(10, ['AAA']);
    await until(() => finals(c1).includes(minute(10)), 'minute 10');
    const lastId = c1.lastId()!;
    c1.close();
    await first.close();
    apis.splice(apis.indexOf(first), 1);

    // While no API runs: two minutes close and the price moves.
    await closeMinute(11, ['AAA']);
    await closeMinute(12, ['AAA']);
    publisher.publish([liveState('AAA', 123.25, { barTimestamp: minute(13) })]);
    await publisher.flush();

    const second = await api();
    const c2 = await stream(second, 'symbols=AAA', { 'last-event-id': lastId });
    await until(() => priceOf(c2, 'AAA') === 123.25, 'the current price');
    const seen = new Set([...finals(c1), ...finals(c2)]);
    for (const n of [10, 11, 12]) expect(seen.has(minute(n)), `minute ${n}`).toBe(true);
    // Missed bars come first, in time order, then the current state.
    expect(finals(c2).slice(-2)).toEqual([minute(11), minute(12)]);
    const firstPrice = c2.events.findIndex((e) => e.event === 'price');
    const lastFinal = c2.events.findLastIndex((e) => (e.data as { final?: boolean }).final);
    expect(lastFinal).toBeLessThan(firstPrice);

    // A new client without Last-Event-ID gets the current state only.
    const fresh = await stream(second, 'symbols=AAA');
    await until(() => priceOf(fresh, 'AAA') === 123.25, 'the fresh client');
    expect(finals(fresh)).toEqual([]);
  });

  it('catches up closed bars and live state after its LISTEN connection is killed', async () => {
    // Reconnects a second later, so what follows happens while it is not listening.
    const a = await api({ reconnectMinMs: 1_000 });
    const c = await stream(a, 'symbols=AAA');
    await until(() => c.status === 200, 'the stream');
    const pid = a.hub.listenerPid!;
    await sql`SELECT pg_terminate_backend(${pid})`.execute(db);
    await until(() => !a.hub.stats.listenerConnected, 'the LISTEN connection to drop');

    await closeMinute(20, ['AAA']);
    publisher.publish([liveState('AAA', 140.5, { barTimestamp: minute(21) })]);
    await publisher.flush();

    await until(() => finals(c).includes(minute(20)), 'minute 20 after the reconnect');
    await until(() => priceOf(c, 'AAA') === 140.5, 'the live state from the table');
    expect(a.hub.stats.listenerReconnects).toBe(1);
    expect(a.hub.listenerPid).not.toBe(pid);
  });

  it('two API processes on one database deliver the same events', async () => {
    const [x, y] = [await api(), await api()];
    const cx = await stream(x, 'symbols=AAA,BBB');
    const cy = await stream(y, 'symbols=AAA,BBB');
    // Each round reaches both before the next: a burst would be coalesced as each flush finds it.
    for (let i = 0; i < 5; i++) {
      publisher.publish([
        liveState('AAA', 150 + i, { barTimestamp: minute(30) }),
        liveState('BBB', 50 + i, { barTimestamp: minute(30) }),
      ]);
      await until(
        () => priceOf(cx, 'BBB') === 50 + i && priceOf(cy, 'BBB') === 50 + i,
        `round ${i} at both`,
      );
    }
    await closeMinute(30, ['AAA', 'BBB']);
    publisher.publish([liveState('AAA', 999, { barTimestamp: minute(31) })]);
    await until(() => priceOf(cx, 'AAA') === 999 && priceOf(cy, 'AAA') === 999, 'both clients');
    const view = (events: SseEvent[]) =>
      events.map((e) => `${e.id} ${e.event} ${JSON.stringify(e.data)}`);
    expect(cx.events.length).toBeGreaterThan(6);
    expect(finals(cx)).toEqual([minute(30)]);
    expect(view(cy.events)).toEqual(view(cx.events));
  });

  it('drops a client that stops reading; the others keep getting everything', async () => {
    const a = await api({ maxBufferBytes: 64 * 1024 });
    const symbols = Array.from({ length: 100 }, (_, i) => `Q${i}`);
    const good = await stream(a, `symbols=${symbols.join(',')}`);
    // A client that sends its request and never reads a byte.
    const bad = connect(Number(new URL(a.base).port), '127.0.0.1');
    bad.pause();
    bad.write(`GET /stream?symbols=${symbols.join(',')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => a.hub.stats.streams === 2, 'both streams');

    let round = 0;
    while (a.hub.stats.droppedClients === 0) {
      round++;
      if (round > 2_000) throw new Error('the client that does not read was never dropped');
      const r = round;
      publisher.publish(symbols.map((s) => liveState(s, r, { barTimestamp: minute(40) })));
      await until(() => priceOf(good, 'Q99') === r, `round ${r} at the reading client`);
    }
    expect(a.hub.stats.droppedClients).toBe(1);
    expect(a.hub.stats.streams).toBe(1);
    publisher.publish([liveState('Q0', 0.5)]);
    await until(() => priceOf(good, 'Q0') === 0.5, 'the reading client after the drop');
    expect(good.ended).toBe(false);
    bad.destroy();
  });

  it('sends comment heartbeats', async () => {
    const a = await api({ heartbeatMs: 20 });
    const c = await stream(a, 'symbols=AAA');
    await until(() => c.comments.filter((x) => x === 'heartbeat').length >= 2, 'heartbeats');
  });

  it('sends the leaderboard with leaderboard=up, again when it changes', async () => {
    const a = await api({ leaderboardIntervalMs: 20 });
    // A later session day than the other tests' states: only these two rank.
    const day = { sessionDay: '2025-10-23' };
    publisher.publish([
      liveState('LB1', 110, { volume: 5_000, ...day }),
      liveState('LB2', 90, day),
    ]);
    await until(() => a.hub.prices(['LB1', 'LB2']).length === 2, 'state');
    const c = await stream(a, 'symbols=LB1&leaderboard=up');
    await until(() => c.of('leaderboard').length >= 1, 'the first leaderboard');
    const first = c.of('leaderboard')[0]!.data as {
      direction: string;
      rows: { symbol: string; volume: number }[];
    };
    expect(first.direction).toBe('up');
    expect(first.rows[0]).toMatchObject({ symbol: 'LB1', volume: 5_000 });
    publisher.publish([liveState('LB2', 130, { volume: 7_000, ...day })]);
    await until(
      () =>
        (c.of('leaderboard').at(-1)!.data as { rows: { symbol: string }[] }).rows[0]!.symbol ===
        'LB2',
      'the new leader',
    );
  });

  it('refuses bad parameters and too many symbols or streams with clear errors', async () => {
    const a = await api({ maxSymbolsPerStream: 3, maxStreams: 2 });
    const refused = async (query: string, headers: Record<string, string> = {}) => {
      const c = await stream(a, query, headers);
      await until(() => c.ended, 'the error body');
      return {
        status: c.status,
        error: (JSON.parse(c.body) as { error: { message: string } }).error,
      };
    };
    expect(await refused('symbols=A,B,C,D')).toMatchObject({
      status: 400,
      error: { message: 'symbols: at most 3 symbols per stream, got 4' },
    });
    expect((await refused('')).error.message).toMatch(/^symbols: /);
    expect((await refused('symbols=A;B')).error.message).toMatch(/^symbols: "A;B" must be/);
    expect((await refused('symbols=A&leaderboard=sideways')).error.message).toMatch(
      /^leaderboard: must be up or down/,
    );
    expect(await refused('symbols=A', { 'last-event-id': 'yesterday' })).toMatchObject({
      status: 400,
      error: { message: 'Last-Event-ID: is not an id this API sent: yesterday' },
    });

    const one = await stream(a, 'symbols=A');
    await stream(a, 'symbols=B');
    const third = await refused('symbols=C');
    expect(third.status).toBe(429);
    expect(third.error.message).toMatch(/already serves 2 streams/);
    one.close();
    await until(() => a.hub.stats.streams === 1, 'the closed stream to be forgotten');
    expect((await stream(a, 'symbols=C')).status).toBe(200);
  });

  it('coalesces a burst: one price per symbol as it stands at the flush, every closed bar in order', async () => {
    // Flushes run only when the test says, so the burst is certain to land in one.
    const flushes: (() => void)[] = [];
    const flush = () => {
      for (const run of flushes.splice(0)) run();
    };
    const a = await api({ scheduleFlush: (run) => flushes.push(run) });
    publisher.publish([liveState('CO1', 100, { barTimestamp: minute(50) })]);
    await until(() => a.hub.prices(['CO1']).length === 1, 'the first state');
    const c = await stream(a, 'symbols=CO1,CO2');
    await until(() => flushes.length > 0, 'the resume');
    flush();
    // Both events of the resume (price, open bar), which may reach the client in two reads.
    await until(() => priceOf(c, 'CO1') === 100 && c.of('bar').length === 1, 'the current state');
    const before = c.events.length;

    for (let i = 1; i <= 10; i++) {
      publisher.publish([liveState('CO1', 100 + i, { barTimestamp: minute(50) })]);
    }
    await closeMinute(50, ['CO1', 'CO2']);
    for (let i = 11; i <= 20; i++) {
      publisher.publish([liveState('CO1', 100 + i, { barTimestamp: minute(51) })]);
    }
    await closeMinute(51, ['CO1', 'CO2']);
    publisher.publish([liveState('CO2', 7, { barTimestamp: minute(52) })]);
    await publisher.flush();
    await until(
      () => a.hub.stats.closedThrough === minute(51) && a.hub.prices(['CO2']).length === 1,
      'the hub to take the burst in',
    );
    flush();
    await until(() => priceOf(c, 'CO2') === 7, 'the burst');

    const burst = c.events.slice(before).map((e) => {
      const d = e.data as { symbol: string; price?: number; close?: number; final?: boolean };
      return `${e.event} ${d.symbol} ${d.price ?? d.close} ${d.final ?? ''}`;
    });
    // Each closed-minute catch-up first flushes the states before its doorbell, so CO1's 20
    // states go out at most once per flush (3: the two doorbells and the test's), the latest
    // last. Usually [110, 120]: the publisher may ring a doorbell before states queued while a
    // NOTIFY was in flight, which moves where the cut falls but not what must hold.
    const co1 = burst.filter((e) => e.startsWith('price CO1')).map((e) => Number(e.split(' ')[2]));
    expect(co1.length).toBeLessThanOrEqual(3);
    expect(co1.at(-1)).toBe(120);
    expect([...co1].sort((x, y) => x - y)).toEqual(co1);
    // Every closed bar exactly once, in order; no open bar of a minute after its final bar.
    expect(burst.filter((e) => e.endsWith(' true'))).toEqual([
      'bar CO1 150 true',
      'bar CO2 150 true',
      'bar CO1 151 true',
      'bar CO2 151 true',
    ]);
    const closed50 = burst.indexOf('bar CO1 150 true');
    const closed51 = burst.indexOf('bar CO1 151 true');
    const open = (e: SseEvent) => (e.data as { final?: boolean }).final === false;
    const openAfter = (i: number, m: number) =>
      c.events
        .slice(before + i)
        .filter((e) => open(e) && Date.parse((e.data as { timestamp: string }).timestamp) === m);
    expect(openAfter(closed50, minute(50))).toEqual([]);
    expect(openAfter(closed51, minute(51))).toEqual([]);
    expect(burst.slice(-2)).toEqual(['price CO2 7 ', 'bar CO2 7 false']);
  });

  it('lets a slow reader skip stale states: the latest once it drains, and every closed bar', async () => {
    const a = await api({ maxBufferBytes: 64 << 20 });
    const symbols = Array.from({ length: 100 }, (_, i) => `SL${i}`);
    const good = await stream(a, `symbols=${symbols.join(',')}`);
    const slow = await stream(a, `symbols=${symbols.join(',')}`);
    slow.pause();
    let round = 0;
    const publishRound = async () => {
      round++;
      const r = round;
      publisher.publish(symbols.map((s) => liveState(s, r, { barTimestamp: minute(60) })));
      await until(() => priceOf(good, 'SL99') === r, `round ${r} at the reading client`);
    };
    while (a.hub.stats.waitingStreams === 0) {
      if (round > 2_000) throw new Error('the paused stream never had to wait');
      await publishRound();
    }
    const blockedAt = round;
    for (let i = 0; i < 20; i++) await publishRound();
    await closeMinute(60, ['SL0']);
    await until(() => finals(good, 'SL0').length === 1, 'the closed bar at the reading client');

    slow.resume();
    await until(
      () => priceOf(slow, 'SL99') === round && finals(slow, 'SL0').length === 1,
      'the slow client to catch up',
    );
    // What reached the socket before it backed up, then one state per symbol: not 20 stale rounds.
    const prices = slow.of('price').filter((e) => (e.data as { symbol: string }).symbol === 'SL0');
    expect(prices.length).toBeLessThan(blockedAt + 5);
    expect(finals(slow, 'SL0')).toEqual([minute(60)]);
    expect(a.hub.stats).toMatchObject({ droppedClients: 0, waitingStreams: 0, streams: 2 });
  });
});
