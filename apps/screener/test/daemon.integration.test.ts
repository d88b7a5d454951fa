import { type Db, sql } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { EncodableRecord } from '@timed/dbn';
import { type LocalGateway, tradesSource } from '@timed/dbn/gateway';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { LockHeldError } from '../src/errors.js';
import type { DaemonConfig } from '../src/live/daemon.js';
import {
  barsSettle,
  expectedBars,
  gateway,
  openDb,
  type RunningDaemon,
  recentSession,
  startTestDaemon,
  storedBars,
  waitFor,
} from './helpers/harness.js';
import { referenceBars } from './helpers/reference-bars.js';
import { quote, rng, UNDEF_PRICE } from './helpers/session.js';
import { withoutWebAssembly } from './helpers/webassembly.js';

let url: string;
let db: Db;

beforeAll(async () => {
  url = await createTestDatabase(inject('adminUrl'), { prefix: 'screener_daemon' });
  db = openDb(url);
});
afterAll(async () => {
  await db.destroy();
});

type Running = RunningDaemon;

const startDaemon = (gw: LocalGateway, config: Partial<DaemonConfig> = {}): Running =>
  startTestDaemon(gw, { db, url }, config);

function stopAndWait(d: Running): Promise<unknown> {
  d.stop();
  return d.done.catch(() => undefined);
}

/** True while some backend waits for a lock on price_bars (a bar write held back). */
async function writeBlocked(on: Db): Promise<boolean> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_locks
     WHERE relation = 'price_bars'::regclass AND NOT granted`.execute(on);
  return (r.rows[0]?.n ?? 0) > 0;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  await db.deleteFrom('price_bars').execute();
  await db.deleteFrom('screener_instances').execute();
});

async function withGateway(
  seed: number,
  options: Parameters<typeof gateway>[1] = {},
  sessionOptions: Partial<Parameters<typeof recentSession>[0]> = {},
) {
  const s = recentSession({ seed, minutes: 5, minutesAgo: 30, ...sessionOptions });
  const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300, ...options });
  cleanups.push(() => gw.close());
  return { ...s, gw };
}

describe('timed-screener run (in process, local gateway, embedded Postgres)', () => {
  it('writes the bars of a generated session, equal to an independent rebuild', async () => {
    const { session, records, startMinute, gw } = await withGateway(1);
    const d = startDaemon(gw, { coldStartMinute: startMinute });
    cleanups.push(() => stopAndWait(d));
    const expected = expectedBars(session, records);
    expect(expected.length).toBeGreaterThan(100);
    expect(await barsSettle(db, expected)).toEqual(expected);
    // The heartbeat row says who writes and how much.
    const row = await db.selectFrom('screener_instances').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ dataset: 'EQUS.MINI', schema: 'trades', pid: process.pid });
    expect(row.stopped_at).toBeNull();
    await waitFor('heartbeat counters', async () => {
      const r = await db.selectFrom('screener_instances').selectAll().executeTakeFirstOrThrow();
      return Number(r.bars_written) >= expected.length && Number(r.trades_seen) > 0;
    });
    d.stop();
    expect((await d.done).exitCode).toBe(0);
    const after = await db.selectFrom('screener_instances').selectAll().executeTakeFirstOrThrow();
    expect(after.stopped_at).not.toBeNull();
  });

  it('runs without WebAssembly (node --jitless): the live path never needs the scan', async () => {
    const { session, records, startMinute, gw } = await withGateway(8);
    const expected = expectedBars(session, records);
    await withoutWebAssembly(async () => {
      const d = startDaemon(gw, { coldStartMinute: startMinute });
      cleanups.push(() => stopAndWait(d));
      await waitFor('two minutes written', async () => {
        const n = await db.selectFrom('price_bars').select('timestamp').distinct().execute();
        return n.length >= 2;
      });
      d.stop();
      expect((await d.done).exitCode).toBe(0);
    });
    const written = await storedBars(db);
    const minutes = new Set(written.map((b) => b.minute));
    expect(written).toEqual(expected.filter((b) => minutes.has(b.minute)));
  });

  it('a disconnect mid-minute replays from the open minute: no gap, nothing counted twice', async () => {
    const { session, records, startMinute, gw } = await withGateway(2, { rate: 2_000 });
    const d = startDaemon(gw, { coldStartMinute: startMinute });
    cleanups.push(() => stopAndWait(d));
    await waitFor('some records streamed', () => (gw.sessions[0]?.recordsSent ?? 0) > 1_500);
    gw.dropConnections({ midRecord: true });
    await waitFor('a second session', () => gw.sessions.length >= 2 && gw.sessions[1]!.started);
    await waitFor('more records streamed', () => (gw.sessions[1]?.recordsSent ?? 0) > 1_500);
    gw.dropConnections();
    const expected = expectedBars(session, records);
    expect(await barsSettle(db, expected)).toEqual(expected);
    // Each reconnect asked for a replay from a whole minute (minus the 30 s margin).
    const starts = gw.sessions.map((s) => /start=(\d+)/.exec(s.subscriptionLines[0]!)?.[1]);
    expect(starts.length).toBeGreaterThanOrEqual(3);
    for (const st of starts) expect((BigInt(st!) + 30_000_000_000n) % 60_000_000_000n).toBe(0n);
  });

  it('a stalled gateway is dropped after the heartbeat timeout and the replay fills the minute', async () => {
    const { session, records, startMinute, gw } = await withGateway(3, { rate: 2_000 });
    const d = startDaemon(gw, { coldStartMinute: startMinute, heartbeatTimeoutMs: 1_500 });
    cleanups.push(() => stopAndWait(d));
    await waitFor('some records streamed', () => (gw.sessions[0]?.recordsSent ?? 0) > 2_000);
    gw.stall(10_000);
    await waitFor('a reconnect after the timeout', () => gw.sessions.length >= 2, 10_000);
    const expected = expectedBars(session, records);
    expect(await barsSettle(db, expected)).toEqual(expected);
  });

  it('a gateway error closing the session is followed by a resumed session', async () => {
    const { session, records, startMinute, gw } = await withGateway(4, { rate: 2_000 });
    const d = startDaemon(gw, { coldStartMinute: startMinute });
    cleanups.push(() => stopAndWait(d));
    await waitFor('some records streamed', () => (gw.sessions[0]?.recordsSent ?? 0) > 1_000);
    gw.sendError('Internal error', { code: 6 });
    const expected = expectedBars(session, records);
    expect(await barsSettle(db, expected)).toEqual(expected);
    expect(gw.sessions.length).toBeGreaterThanOrEqual(2);
    await waitFor('the error counted in the heartbeat row', async () => {
      const r = await db.selectFrom('screener_instances').selectAll().executeTakeFirstOrThrow();
      return Number(r.errors) >= 1 && (r.last_error ?? '').includes('Internal error');
    });
  });

  it('refuses a second writer for the same dataset whatever its schema, naming the holder', async () => {
    const { startMinute, gw } = await withGateway(5);
    const first = startDaemon(gw, { coldStartMinute: startMinute });
    cleanups.push(() => stopAndWait(first));
    await waitFor('the first daemon registered', async () => {
      const rows = await db.selectFrom('screener_instances').selectAll().execute();
      return rows.length === 1;
    });
    const second = startDaemon(gw, { coldStartMinute: startMinute });
    const err = await second.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    const held = err as LockHeldError;
    expect(held.holder).toMatchObject({ pid: process.pid });
    expect(held.message).toMatch(
      /another screener is already writing EQUS\.MINI trades bars: host \S+, pid \d+, since \d{4}-/,
    );
    // mbp-1 writes the same price_bars rows: one writer per dataset, not per schema.
    const mbp = startDaemon(gw, { coldStartMinute: startMinute, schema: 'mbp-1' });
    const mbpErr = await mbp.done.catch((e: unknown) => e);
    expect(mbpErr).toBeInstanceOf(LockHeldError);
    expect((mbpErr as LockHeldError).holder).toMatchObject({ pid: process.pid, schema: 'trades' });
    expect((mbpErr as Error).message).toMatch(
      /another screener is already writing EQUS\.MINI trades bars: host \S+, pid \d+, since \d{4}-/,
    );
    // Neither refused daemon left a heartbeat row: one live row for the dataset.
    const rows = await db.selectFrom('screener_instances').selectAll().execute();
    expect(rows.map((r) => [r.schema, r.stopped_at === null])).toEqual([['trades', true]]);
  });

  it('a daemon whose shutdown flush times out exits 1 with its bars counted unflushed', async () => {
    const { startMinute, gw } = await withGateway(9);
    // Writes block behind this lock (reads do not): closed bars stay in the daemon's buffer.
    const blocker = openDb(url);
    cleanups.push(() => blocker.destroy());
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const locked = new Promise<void>((ready) => {
      void blocker
        .transaction()
        .execute(async (tx) => {
          await sql`LOCK TABLE price_bars IN EXCLUSIVE MODE`.execute(tx);
          ready();
          await held;
        })
        .catch(() => {});
    });
    cleanups.push(async () => release());
    await locked;
    const d = startDaemon(gw, { coldStartMinute: startMinute, shutdownFlushMs: 300 });
    cleanups.push(() => stopAndWait(d));
    await waitFor('a bar write blocked on the lock', () => writeBlocked(db));
    d.stop();
    const result = await d.done;
    expect(result.exitCode).toBe(1);
    expect(result.unflushed).toBeGreaterThan(0);
    expect(await storedBars(db)).toEqual([]);
    // The one write in flight when the daemon gave up lands once the lock goes.
    release();
    await waitFor('the held-back write', async () => (await storedBars(db)).length > 0);
  });

  it('restarting after a stop resumes from the last written minute and rebuilds it', async () => {
    const { session, records, startMinute, gw } = await withGateway(6, { rate: 1_500 });
    const d1 = startDaemon(gw, { coldStartMinute: startMinute });
    await waitFor('two minutes written', async () => {
      const n = await db.selectFrom('price_bars').select('timestamp').distinct().execute();
      return n.length >= 2;
    });
    d1.stop();
    expect((await d1.done).exitCode).toBe(0);
    // Everything written so far is complete: equal to the rebuild of the same minutes.
    const expectedAll = expectedBars(session, records);
    const partial = await storedBars(db);
    const minutes = new Set(partial.map((b) => b.minute));
    expect(partial).toEqual(expectedAll.filter((b) => minutes.has(b.minute)));
    const d2 = startDaemon(gw, { coldStartMinute: startMinute });
    cleanups.push(() => stopAndWait(d2));
    expect(await barsSettle(db, expectedAll)).toEqual(expectedAll);
    const lastStart = /start=(\d+)/.exec(gw.sessions.at(-1)!.subscriptionLines[0]!)![1]!;
    const lastWritten = [...minutes].sort().at(-1)!;
    expect(Number(BigInt(lastStart) / 1_000_000n) + 30_000).toBe(Date.parse(lastWritten));
  });

  it('mbp-1 (rollback) mode: bars from quote mids, spread filter, volume 0, data_source mbp-1', async () => {
    const startMinute = Math.floor(Date.now() / 60_000) - 20;
    const t0 = BigInt(startMinute) * 60_000_000_000n;
    const r = rng(9);
    const quotes: EncodableRecord[] = [];
    for (let i = 0; i < 3_000; i++) {
      const id = 1 + (i % 3);
      const mid = 50 + id * 10 + r() * 2;
      // Mostly tight spreads; some above 2% of mid; some with an empty side.
      const half = r() < 0.15 ? mid * 0.012 : mid * 0.0005;
      const bid = r() < 0.03 ? UNDEF_PRICE : BigInt(Math.round((mid - half) * 100)) * 10_000_000n;
      const ask = BigInt(Math.round((mid + half) * 100)) * 10_000_000n;
      quotes.push(quote(id, t0 + BigInt(i) * 100_000_000n, bid, ask));
    }
    const names = new Map([
      [1, 'WGRX'],
      [2, 'AAPL'],
      [3, 'BRK.B'],
    ]);
    const gw = await gateway(
      () => ({
        instruments: [...names].map(([instrument_id, symbol]) => ({ instrument_id, symbol })),
        records: quotes,
      }),
      { heartbeatMs: 300 },
    );
    cleanups.push(() => gw.close());
    const d = startDaemon(gw, { coldStartMinute: startMinute, schema: 'mbp-1' });
    cleanups.push(() => stopAndWait(d));
    const expected = referenceBars(quotes, (id) => names.get(id), 'mbp-1');
    expect(expected.length).toBe(15);
    expect(expected.every((b) => b.volume === '0')).toBe(true);
    // The filter is at work: wide spreads and empty sides are not in any bar.
    expect(expected.reduce((n, b) => n + b.trade_count, 0)).toBeLessThan(2_700);
    expect(await barsSettle(db, expected)).toEqual(expected);
    expect(gw.sessions[0]!.subscriptionLines[0]).toMatch(/^schema=mbp-1\|/);
  });
});
