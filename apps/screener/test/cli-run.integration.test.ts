import { type Db, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import { tradesSource } from '@timed/dbn/gateway';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { plainLines, requireBuiltCli, runCli, spawnCli } from './helpers/cli.js';
import {
  barsSettle,
  expectedBars,
  gateway,
  openDb,
  recentSession,
  storedBars,
  TEST_API_KEY,
  waitFor,
} from './helpers/harness.js';
import { referenceBars } from './helpers/reference-bars.js';
import { quote, UNDEF_PRICE } from './helpers/session.js';

// The live daemon as the built CLI, against @timed/dbn's local gateway and a fresh database.
let url: string;
let db: Db;

beforeAll(async () => {
  requireBuiltCli();
  url = await createTestDatabase(inject('adminUrl'), { prefix: 'screener_run' });
  db = openDb(url);
});
afterAll(async () => {
  await db.destroy();
});

const baseEnv = () => ({ DATABASE_URL: url, LOG_LEVEL: 'info' });

const runEnv = (address: string) => ({
  ...baseEnv(),
  DATABENTO_API_KEY: TEST_API_KEY,
  DATABENTO_LIVE_GATEWAY: address,
  SCREENER_SYMBOLS: 'ALL_SYMBOLS',
});

describe('timed-screener run (spawned)', () => {
  it('SIGTERM mid-minute writes every closed bar and exits 0; a restart rebuilds the rest', async () => {
    await db.deleteFrom('price_bars').execute();
    await db.deleteFrom('screener_instances').execute();
    const s = recentSession({ seed: 41, minutes: 6, minutesAgo: 20 });
    const expected = expectedBars(s.session, s.records);
    // A bar already stored for the session's first minute: the daemon resumes from there.
    const seedBar = expected[0]!;
    await upsertBars(db, [
      {
        symbol: seedBar.symbol,
        timestamp: new Date(seedBar.minute),
        open: 1,
        high: 1,
        low: 1,
        close: 1,
        volume: 1,
        trade_count: 1,
        is_legacy: false,
        data_source: 'trades',
      },
    ]);
    const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300, rate: 1_500 });
    try {
      const first = spawnCli(['run'], runEnv(gw.address));
      await waitFor('two minutes written', async () => {
        const minutes = new Set((await storedBars(db)).map((b) => b.minute));
        return minutes.size >= 3;
      });
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const written = await storedBars(db);
      const minutes = new Set(written.map((b) => b.minute));
      // Every stored bar is complete (equal to the rebuild); the open minute was not written.
      expect(written).toEqual(expected.filter((b) => minutes.has(b.minute)));
      expect(minutes.size).toBeLessThan(new Set(expected.map((b) => b.minute)).size);
      const row = await db.selectFrom('screener_instances').selectAll().executeTakeFirstOrThrow();
      expect(row.stopped_at).not.toBeNull();
      expect(row.pid).toBe(first.child.pid);

      const second = spawnCli(['run'], runEnv(gw.address));
      expect(await barsSettle(db, expected)).toEqual(expected);
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
      expect(second.stdout()).toMatch(
        /"msg":"replaying from the oldest minute not known complete"/,
      );
    } finally {
      await gw.close();
    }
  });

  it('a second daemon for the same dataset exits 3 naming the holder', async () => {
    await db.deleteFrom('screener_instances').execute();
    const s = recentSession({ seed: 42, minutes: 3, minutesAgo: 20 });
    const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300 });
    const first = spawnCli(['run'], runEnv(gw.address));
    try {
      await waitFor('the first daemon registered', async () => {
        const rows = await db.selectFrom('screener_instances').selectAll().execute();
        return rows.length === 1;
      });
      const r = await runCli(['run'], runEnv(gw.address));
      expect(r.code).toBe(3);
      const lines = plainLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^timed-screener: another screener is already writing EQUS\\.MINI trades bars: host \\S+, pid ${first.child.pid}, since \\d{4}-\\d\\d-\\d\\dT`,
        ),
      );
    } finally {
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      await gw.close();
    }
  });
});

describe('the seed rollback drill (one writer per dataset, spawned CLI)', () => {
  it('trades -> mbp-1 -> trades: each refuses while the other runs (exit 3 naming it), then takes over', async () => {
    await db.deleteFrom('price_bars').execute();
    await db.deleteFrom('screener_instances').execute();
    const s = recentSession({ seed: 44, minutes: 5, minutesAgo: 20 });
    const names = new Map(s.session.instruments.map((i) => [i.instrument_id, i.symbol]));
    // Quotes around every trade of the even instruments (odd ones keep only trades bars, so the
    // trades daemon has its own newest minute to resume from when it comes back).
    const quotes = s.records.flatMap((r) =>
      r.kind === 'TradeMsg' && r.instrument_id % 2 === 0 && r.price !== UNDEF_PRICE
        ? [quote(r.instrument_id, r.ts_recv, r.price - 10_000_000n, r.price + 10_000_000n)]
        : [],
    );
    const trades = tradesSource(s.session);
    const gw = await gateway(
      (req) =>
        req.subscriptions[0]?.schema === 'mbp-1'
          ? {
              instruments: s.session.instruments,
              records: quotes.filter((q) => req.start === undefined || q.ts_event >= req.start),
            }
          : trades(req),
      { heartbeatMs: 300 },
    );
    const expectedTrades = expectedBars(s.session, s.records);
    const expectedMbp = referenceBars(quotes, (id) => names.get(id), 'mbp-1');
    // Where each daemon resumes: a bar of its own source in the session's first minute.
    const first = new Date(s.startMinute * 60_000);
    await upsertBars(db, [
      { ...seedBar('ZZTRD', first), data_source: 'trades' },
      { ...seedBar('ZZMBP', first), data_source: 'mbp-1' },
    ]);
    const env = (schema: string) => ({ ...runEnv(gw.address), SCREENER_SCHEMA: schema });
    const bySource = async (source: string) =>
      (await storedBars(db)).filter((b) => b.data_source === source && !b.symbol.startsWith('ZZ'));
    const refusedBy = async (schema: string, holderSchema: string, pid: number | undefined) => {
      const r = await runCli(['run'], env(schema));
      expect(r.code).toBe(3);
      const lines = plainLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^timed-screener: another screener is already writing EQUS\\.MINI ${holderSchema} bars: host \\S+, pid ${pid}, since \\d{4}-.*one writer per dataset`,
        ),
      );
    };
    try {
      // 1. The trades daemon runs; an mbp-1 daemon is refused while it does.
      const tradesDaemon = spawnCli(['run'], env('trades'));
      await waitFor('trades bars', async () => (await bySource('trades')).length > 0);
      await refusedBy('mbp-1', 'trades', tradesDaemon.child.pid);
      // 2. Rollback: stop trades, start mbp-1; now a trades daemon is refused.
      tradesDaemon.child.kill('SIGTERM');
      expect(await tradesDaemon.exited).toBe(0);
      const mbpDaemon = spawnCli(['run'], env('mbp-1'));
      await waitFor('every mbp-1 bar', async () => {
        const got = await bySource('mbp-1');
        return got.length === expectedMbp.length;
      });
      expect(await bySource('mbp-1')).toEqual(expectedMbp);
      await refusedBy('trades', 'mbp-1', mbpDaemon.child.pid);
      // 3. Back: stop mbp-1, start trades; it resumes from its newest minute and rebuilds it.
      mbpDaemon.child.kill('SIGTERM');
      expect(await mbpDaemon.exited).toBe(0);
      const back = spawnCli(['run'], env('trades'));
      const lastMinute = expectedTrades.at(-1)!.minute;
      const tradesOfLast = expectedTrades.filter((b) => b.minute === lastMinute);
      await waitFor('the last minute rebuilt from trades', async () => {
        const got = (await storedBars(db)).filter((b) => b.minute === lastMinute);
        return JSON.stringify(got) === JSON.stringify(tradesOfLast);
      });
      back.child.kill('SIGTERM');
      expect(await back.exited).toBe(0);
      // One writer at a time: three heartbeat rows, in turn, each stopped; the refused wrote none.
      const rows = await db
        .selectFrom('screener_instances')
        .selectAll()
        .orderBy('started_at')
        .execute();
      expect(rows.map((r) => [r.schema, r.pid, r.stopped_at !== null])).toEqual([
        ['trades', tradesDaemon.child.pid, true],
        ['mbp-1', mbpDaemon.child.pid, true],
        ['trades', back.child.pid, true],
      ]);
    } finally {
      await gw.close();
    }
  });
});

function seedBar(symbol: string, timestamp: Date) {
  return {
    symbol,
    timestamp,
    open: 1,
    high: 1,
    low: 1,
    close: 1,
    volume: 1,
    trade_count: 1,
    is_legacy: false,
  };
}
