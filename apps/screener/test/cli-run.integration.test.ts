import { existsSync } from 'node:fs';
import { createTestDatabase, type Db, upsertBars } from '@timed/db';
import { tradesSource } from '@timed/dbn/gateway';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BIN, plainLines, runCli, spawnCli } from './helpers/cli.js';
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

// The live daemon as the built CLI, against @timed/dbn's local gateway and a fresh database.
let url: string;
let db: Db;

beforeAll(async () => {
  if (!existsSync(BIN.replace('bin/timed-screener.js', 'dist/main.js'))) {
    throw new Error('build the screener first: pnpm --filter @timed/screener build');
  }
  url = await createTestDatabase(inject('adminUrl'), { prefix: 'screener_run' });
  db = openDb(url);
});
afterAll(async () => {
  await db.destroy();
});

const baseEnv = () => ({ DATABASE_URL: url, LOG_LEVEL: 'info' });

describe('timed-screener run (spawned)', () => {
  const runEnv = (address: string) => ({
    ...baseEnv(),
    DATABENTO_API_KEY: TEST_API_KEY,
    DATABENTO_LIVE_GATEWAY: address,
    SCREENER_SYMBOLS: 'ALL_SYMBOLS',
  });

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

  it('a second daemon for the same dataset and schema exits 3 naming the holder', async () => {
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
