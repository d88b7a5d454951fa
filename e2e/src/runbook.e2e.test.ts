// The seed's migration runbook end to end, each step checked through the API: legacy mbp-1 bars
// before 0002 -> migrate -> the screener replays trades -> the API hides legacy by default ->
// /migration/status passes -> Option A, restore, Option B, unarchive, Option C -> rollback ->
// the screener in mbp-1 mode writes mbp-1 bars again.
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMigrationsDir, migrate } from '@timed/db';
import { createTestDatabase, freePort } from '@timed/db/testing';
import { type LocalGateway, startLocalGateway, tradesSource } from '@timed/dbn/gateway';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API, type App, eventually, SCREENER, spawnApp, timedDb } from './processes.js';
import { pastSession, quotesFromTrades, sessionFeedClock, sessionFile } from './sessions.js';

const KEY = 'db-e2etestkey0000000000000000000';
const adminUrl = inject('adminUrl');
const work = mkdtempSync(join(tmpdir(), 'timed-e2e-runbook-'));
// An hour of trades that ended at least 30 minutes ago, wholly inside one session day (they start
// at 04:00 New York) whatever the hour the test runs at: see pastSessionWindow.
const session = pastSession({
  minutes: 60,
  endedMinutesAgo: 30,
  symbols: 40,
  tradesPerSecond: 60,
  seed: 7,
});
const trades = [...session.records()];
const SYMBOL = session.instruments[0]!.symbol;
const sessionStartMs = Number(session.start / 1_000_000n);
const LEGACY_SYMBOLS = 20;
const LEGACY_SHIFT_MS = 2 * 3_600_000;
// The trades data here is an hour old, not the seed's 3+ days: the cleanup gates run for real with
// the days criterion at 0 (every other criterion as the seed has it).
const GATES = { TIMED_CLEANUP_MIN_DAYS: '0' };

let url: string;
let apiBase: string;
let api: App | undefined;
let daemon: App | undefined;
let gateway: LocalGateway | undefined;

interface BarsBody {
  symbol: string;
  bars: Array<{ timestamp: string; volume: number; is_legacy: boolean; data_source: string }>;
  next_cursor: string | null;
}

async function bars(query = ''): Promise<BarsBody> {
  const res = await fetch(`${apiBase}/bars/${SYMBOL}?limit=50000${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as BarsBody;
}
const legacyCount = async () =>
  (await bars('&include_legacy=true')).bars.filter((b) => b.is_legacy).length;

async function replay(file: string, env: Record<string, string> = {}) {
  const app = spawnApp(SCREENER, ['replay', file], { DATABASE_URL: url, ...env });
  const code = await app.exited;
  expect(code, app.output.join('\n')).toBe(0);
  return app.output.join('\n');
}

beforeAll(async () => {
  url = await createTestDatabase(adminUrl, { migrate: false });
  // The database as it was before the switch: only 0001, holding MBP-1 quote bars (volume 0).
  const before = mkdtempSync(join(tmpdir(), 'timed-e2e-mig-'));
  cpSync(
    join(findMigrationsDir(), '0001_create_price_bars.sql'),
    join(before, '0001_create_price_bars.sql'),
  );
  await migrate({ url, dir: before });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const inst of session.instruments.slice(0, LEGACY_SYMBOLS)) {
    const p = inst.openPrice.toFixed(2);
    // An hour of quote bars two hours before the session, like the old scanner's.
    await client.query(
      `INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count)
       SELECT $1, to_timestamp($2 / 1000.0) + make_interval(mins => m), $3, $3, $3, $3, 0, 5 FROM generate_series(0, 59) AS m`,
      [inst.symbol, sessionStartMs - LEGACY_SHIFT_MS, p],
    );
  }
  // And a few legacy bars inside the session window: trades bars must replace them.
  await client.query(
    `INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count)
     SELECT $1, to_timestamp($2 / 1000.0) + make_interval(mins => m), 1, 1, 1, 1, 0, 5 FROM generate_series(0, 4) AS m`,
    [SYMBOL, sessionStartMs],
  );
  await client.end();
  await migrate({ url });
  // A close a week earlier (15:59 New York, a regular-session minute) for every symbol but
  // SYMBOL, whose bars the steps below count: the live state then has a previous close, so the
  // leaderboard ranks by pct_from_yesterday as in production (criterion 5).
  const after = new pg.Client({ connectionString: url });
  await after.connect();
  for (const inst of session.instruments.slice(1)) {
    const p = (inst.openPrice * 0.98).toFixed(2);
    await after.query(
      `INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count, is_legacy, data_source)
       VALUES ($1, ((to_timestamp($2 / 1000.0) AT TIME ZONE 'America/New_York')::date - 7 + time '15:59')
                     AT TIME ZONE 'America/New_York', $3, $3, $3, $3, 100, 1, false, 'trades')`,
      [inst.symbol, sessionStartMs, p],
    );
  }
  await after.end();

  const port = await freePort();
  apiBase = `http://127.0.0.1:${port}`;
  api = spawnApp(API, [], {
    DATABASE_URL: url,
    PORT: String(port),
    HOST: '127.0.0.1',
    BARS_CACHE_TTL_MS: '0',
    RATE_LIMIT_MAX: '0',
  });
  await eventually(
    async () => (await fetch(`${apiBase}/health`)).status > 0,
    60_000,
    'the API to listen',
  );
});

afterAll(async () => {
  await daemon?.stop('SIGTERM');
  await api?.stop('SIGTERM');
  await gateway?.close();
});

describe("the seed's migration runbook, checked through the API", () => {
  it('0002 marked the pre-existing mbp-1 bars legacy; the API hides them by default', async () => {
    const all = await bars('&include_legacy=true');
    expect(all.bars).toHaveLength(65);
    expect(all.bars.every((b) => b.is_legacy && b.data_source === 'mbp-1' && b.volume === 0)).toBe(
      true,
    );
    expect((await bars()).bars).toEqual([]);
  });

  it('the screener replays trades: bars with real volume replace legacy bars of the same minute', async () => {
    const file = join(work, 'session.trades.dbn');
    writeFileSync(file, sessionFile(session, trades, 'trades'));
    await replay(file);
    const current = await bars();
    expect(current.bars.length).toBeGreaterThan(50);
    expect(
      current.bars.every((b) => !b.is_legacy && b.data_source === 'trades' && b.volume > 0),
    ).toBe(true);
    const withLegacy = await bars('&include_legacy=true');
    const inWindow = withLegacy.bars.filter(
      (b) =>
        Date.parse(b.timestamp) >= sessionStartMs &&
        Date.parse(b.timestamp) < sessionStartMs + 5 * 60_000,
    );
    expect(inWindow.every((b) => b.data_source === 'trades')).toBe(true);
    expect(await legacyCount()).toBe(60);
  });

  it('/migration/status passes every success criterion with one live screener', async () => {
    gateway = await startLocalGateway({
      apiKey: KEY,
      source: tradesSource(session),
      heartbeatMs: 1_000,
      // Heartbeats in the session's time, not the wall clock's: the daemon's live state follows
      // the feed's clock, and a 04:00 New York between the session and now would start a new
      // session day with every volume at 0 before the leaderboard is checked.
      nowNs: sessionFeedClock(session),
    });
    daemon = spawnApp(SCREENER, ['run'], {
      DATABASE_URL: url,
      DATABENTO_API_KEY: KEY,
      DATABENTO_LIVE_GATEWAY: gateway.address,
      SCREENER_SYMBOLS: 'ALL_SYMBOLS',
    });
    const status = await eventually(
      async () => {
        const body = (await (await fetch(`${apiBase}/migration/status?min_days=0`)).json()) as {
          passed: boolean;
          criteria: Array<{ id: string; pass: boolean; details: unknown }>;
        };
        if (body.passed) return body;
        // Thrown, so that a timeout names what still fails.
        const failing = body.criteria.filter((c) => !c.pass);
        throw new Error(`failing ${JSON.stringify(failing)}`);
      },
      60_000,
      'every migration criterion to pass',
    );
    expect(status.criteria.map((c) => [c.id, c.pass])).toEqual([
      ['new_bars_have_volume', true],
      ['min_new_bars', true],
      ['coverage_per_hour', true],
      ['one_screener_alive', true],
      ['no_screener_errors_last_hour', true],
      ['days_of_new_data', true],
      ['no_screener_errors_since_switch', true],
      ['api_returns_correct_data', true],
      ['leaderboard_shows_volume', true],
    ]);
  });

  it('Option A: soft-delete hides legacy bars even with include_legacy; restore brings them back', async () => {
    expect((await timedDb(url, ['legacy', 'soft-delete', '--yes'], GATES)).code).toBe(0);
    expect(await legacyCount()).toBe(0);
    expect((await timedDb(url, ['legacy', 'restore', '--yes'])).code).toBe(0);
    expect(await legacyCount()).toBe(60);
  });

  it('Option B: archive moves legacy bars out of the API; unarchive puts them back', async () => {
    expect((await timedDb(url, ['legacy', 'archive', '--yes'], GATES)).stdout).toMatch(
      /archived \d+ legacy bar/,
    );
    expect(await legacyCount()).toBe(0);
    expect((await timedDb(url, ['legacy', 'unarchive', '--yes'])).code).toBe(0);
    expect(await legacyCount()).toBe(60);
  });

  it('Option C: delete backs up then removes legacy bars; trades bars stay', async () => {
    const before = (await bars()).bars.length;
    const r = await timedDb(url, ['legacy', 'delete', '--yes'], {
      ...GATES,
      TIMED_BACKUP_DIR: work,
    });
    expect(r.code).toBe(0);
    const backup = /backup: (\S+\.csv)/.exec(r.stdout)?.[1];
    expect(backup && existsSync(backup)).toBe(true);
    expect(await legacyCount()).toBe(0);
    expect((await bars()).bars).toHaveLength(before);
  });

  it('rollback removes trades bars; the screener in mbp-1 mode writes mbp-1 bars again', async () => {
    expect(await daemon?.stop('SIGTERM')).toBe(0);
    const r = await timedDb(url, ['rollback', 'trades', '--yes'], { TIMED_BACKUP_DIR: work });
    expect(r.stdout).toContain('SCREENER_SCHEMA=mbp-1');
    expect((await bars('&include_legacy=true')).bars).toEqual([]);

    const file = join(work, 'session.mbp-1.dbn');
    writeFileSync(file, sessionFile(session, quotesFromTrades(trades), 'mbp-1'));
    await replay(file, { SCREENER_SCHEMA: 'mbp-1' });
    const after = await bars();
    expect(after.bars.length).toBeGreaterThan(50);
    expect(
      after.bars.every((b) => b.data_source === 'mbp-1' && b.volume === 0 && !b.is_legacy),
    ).toBe(true);
  });
});
