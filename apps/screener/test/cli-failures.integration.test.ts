import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, type Db, sql, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import { encodeDbn } from '@timed/dbn';
import { tradesSource } from '@timed/dbn/gateway';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { lockName } from '../src/live/writer-lock.js';
import { plainLines, requireBuiltCli, runCli, type Spawned, spawnCli } from './helpers/cli.js';
import {
  expectedBars,
  gateway,
  openDb,
  recentSession,
  storedBars,
  TEST_API_KEY,
  waitFor,
} from './helpers/harness.js';
import { mappingsOf } from './helpers/session.js';

// The CLI's failure exits, spawned: 3 when the lock is taken over, 1 when the feed fails for
// good or a replay is interrupted, 130 on a second signal, 2 on usage errors.
let url: string;
let db: Db;
let dir: string;

beforeAll(async () => {
  requireBuiltCli();
  url = await createTestDatabase(inject('adminUrl'), { prefix: 'screener_fail' });
  db = openDb(url);
  dir = mkdtempSync(join(tmpdir(), 'screener-fail-'));
});
afterAll(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  await db.deleteFrom('price_bars').execute();
  await db.deleteFrom('screener_instances').execute();
});

const runEnv = (address: string, key = TEST_API_KEY) => ({
  DATABASE_URL: url,
  LOG_LEVEL: 'info',
  DATABENTO_API_KEY: key,
  DATABENTO_LIVE_GATEWAY: address,
});

/**
 * Spawns `run` against a gateway streaming a session of 20 minutes ago (a bar stored in its first
 * minute makes the daemon replay it), after `beforeStart`; killed at cleanup if still alive.
 */
async function runningDaemon(seed: number, beforeStart?: () => Promise<unknown>): Promise<Spawned> {
  const s = recentSession({ seed, minutes: 5, minutesAgo: 20 });
  await upsertBars(db, [
    {
      symbol: 'ZZSEED',
      timestamp: new Date(s.startMinute * 60_000),
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
  const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300 });
  cleanups.push(() => gw.close());
  await beforeStart?.();
  const d = spawnCli(['run'], runEnv(gw.address));
  cleanups.push(async () => {
    d.child.kill('SIGKILL');
    await d.exited;
  });
  await waitFor('the daemon registered', async () => {
    const rows = await db.selectFrom('screener_instances').selectAll().execute();
    return rows.length === 1;
  });
  return d;
}

/**
 * Holds price_bars in EXCLUSIVE mode (reads pass, writes wait) on its own connection until the
 * returned release() is called.
 */
async function holdBarWrites(): Promise<() => Promise<void>> {
  const blocker = createDb(url, { max: 1 });
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  let locked: () => void = () => {};
  const ready = new Promise<void>((r) => {
    locked = r;
  });
  const done = blocker
    .transaction()
    .execute(async (tx) => {
      await sql`LOCK TABLE price_bars IN EXCLUSIVE MODE`.execute(tx);
      locked();
      await held;
    })
    .catch(() => {});
  await ready;
  const stop = async () => {
    release();
    await done;
    await blocker.destroy();
  };
  cleanups.push(stop);
  return stop;
}

/** True while some backend waits for a lock on price_bars (a bar write held back). */
async function writeBlocked(): Promise<boolean> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_locks
     WHERE relation = 'price_bars'::regclass AND NOT granted`.execute(db);
  return (r.rows[0]?.n ?? 0) > 0;
}

describe('timed-screener run: failure exits', () => {
  it('exits 3 when its lock connection drops and another process takes the lock meanwhile', async () => {
    const d = await runningDaemon(51);
    const thief = new pg.Client({ connectionString: url, application_name: 'lock-thief' });
    await thief.connect();
    cleanups.push(() => thief.end());
    // Drop the daemon's lock connection and take the lock before it can re-acquire it: one
    // statement, so the lock is tried the moment the backends are gone (pg_terminate_backend with
    // a timeout waits for that). Two round trips lost the race to the daemon's reconnect under load.
    const took = await thief.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok
         FROM (SELECT count(pg_terminate_backend(pid, 5000)) AS n FROM pg_stat_activity
                WHERE application_name LIKE 'timed-screener:%' AND datname = current_database()) gone`,
      [lockName('EQUS.MINI')],
    );
    expect(took.rows[0]!.ok).toBe(true);
    expect(await d.exited).toBe(3);
    expect(d.stdout()).toMatch(
      /"msg":"single-writer lock taken over: another screener is already writing EQUS\.MINI bars: unknown process \(Postgres backend pid \d+\)/,
    );
  });

  it('exits 1 when the feed fails for good (the gateway refuses the key)', async () => {
    const s = recentSession({ seed: 52, minutes: 2, minutesAgo: 20 });
    const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300 });
    cleanups.push(() => gw.close());
    const r = await runCli(['run'], runEnv(gw.address, 'db-wrongkey0000000000000000ABCDE'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/"msg":"live feed failed: [^"]*auth/i);
    // Its heartbeat row is closed: a failed daemon is not counted alive.
    const rows = await db.selectFrom('screener_instances').selectAll().execute();
    expect(rows.map((row) => row.stopped_at !== null)).toEqual([true]);
  });

  it('a second signal while it flushes exits 130 at once', async () => {
    let release: () => Promise<void> = async () => {};
    const d = await runningDaemon(53, async () => {
      release = await holdBarWrites();
    });
    await waitFor('a bar write held back', writeBlocked);
    d.child.kill('SIGTERM');
    await waitFor('the flush started', () => d.stdout().includes('stopping: flushing closed bars'));
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(130);
    expect(d.stdout()).toMatch(/"msg":"second signal: exiting without flushing"/);
    // The dead daemon's INSERT still waits on the lock in its backend, and Postgres would run and
    // commit it once the lock goes (into the next test's empty table): end that backend first.
    await sql`SELECT pg_terminate_backend(pid) FROM pg_locks
               WHERE relation = 'price_bars'::regclass AND NOT granted`.execute(db);
    await waitFor('the held write gone', async () => !(await writeBlocked()));
    await release();
  });
});

describe('replay and backfill: interrupted', () => {
  // About 48,000 bars: more than the writer lets pile up (40,000) before reading waits.
  const s = recentSession({
    seed: 54,
    minutes: 150,
    minutesAgo: 60 * 6,
    symbols: 600,
    tradesPerSecond: 40,
  });
  const expected = expectedBars(s.session, s.records);
  const file = () => join(dir, 'long.dbn');

  beforeAll(() => {
    const symbols = new Map(s.session.instruments.map((i) => [i.instrument_id, i.symbol]));
    writeFileSync(
      file(),
      encodeDbn(
        {
          dataset: 'EQUS.MINI',
          schema: 'trades',
          start: s.session.start,
          end: s.session.end,
          stype_in: 'raw_symbol',
          stype_out: 'instrument_id',
          symbols: [...symbols.values()],
          mappings: mappingsOf(symbols, s.session.start, s.session.end),
        },
        s.records,
      ),
    );
  });

  /** SIGTERMs `p` while its bar writes are held back, then lets them go; returns its exit code. */
  async function interrupt(p: Spawned): Promise<number | null> {
    cleanups.push(async () => {
      p.child.kill('SIGKILL');
      await p.exited;
    });
    await waitFor('a bar write held back', writeBlocked);
    p.child.kill('SIGTERM');
    await waitFor('the signal seen', () => p.stderr().includes('stopping: flushing'));
    return p.exited;
  }

  /** Whole minutes only, each equal to the rebuild; the rest of the input was not read. */
  async function expectWholeMinutesOnly() {
    const written = await storedBars(db);
    const minutes = new Set(written.map((b) => b.minute));
    expect(written).toEqual(expected.filter((b) => minutes.has(b.minute)));
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(expected.length);
  }

  it('replay: SIGTERM mid-file writes the complete minutes read so far, says so, exits 1', async () => {
    expect(expected.length).toBeGreaterThan(42_000);
    const release = await holdBarWrites();
    const replay = spawnCli(['replay', file()], { DATABASE_URL: url, LOG_LEVEL: 'info' });
    const exited = interrupt(replay);
    await waitFor('the signal seen', () => replay.stderr().includes('stopping: flushing'));
    await release();
    expect(await exited).toBe(1);
    const lines = plainLines(replay.stdout());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^replay of .*long\.dbn interrupted: \d+ trades, \d+ bars written/);
    await expectWholeMinutesOnly();
  });

  it('backfill: SIGTERM mid-download writes the complete minutes so far, says so, exits 1', async () => {
    const body = readFileSync(file());
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as { port: number }).port;
    const release = await holdBarWrites();
    const start = new Date(Number(s.session.start / 1_000_000n)).toISOString();
    const end = new Date(Number(s.session.end / 1_000_000n)).toISOString();
    const backfill = spawnCli(['backfill', '--start', start, '--end', end], {
      DATABASE_URL: url,
      LOG_LEVEL: 'info',
      DATABENTO_API_KEY: TEST_API_KEY,
      DATABENTO_HISTORICAL_URL: `http://127.0.0.1:${port}`,
    });
    const exited = interrupt(backfill);
    await waitFor('the signal seen', () => backfill.stderr().includes('stopping: flushing'));
    await release();
    expect(await exited).toBe(1);
    const lines = plainLines(backfill.stdout());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^backfill interrupted \(historical EQUS\.MINI trades .*\): \d+ trades/,
    );
    await expectWholeMinutesOnly();
  });
});

describe('usage errors', () => {
  const cases: Array<[string[], RegExp]> = [
    [['launch'], /^unknown command "launch"$/],
    [['run', 'extra'], /^run takes no arguments \(got extra\)$/],
    [['replay'], /^replay needs exactly one FILE$/],
    [['replay', 'a.dbn', 'b.dbn'], /^replay needs exactly one FILE$/],
    [['backfill', '--end', '2025-01-02'], /^backfill needs --start ISO-8601 time$/],
    [['backfill', '--start', 'yesterday', '--end', '2025-01-02'], /^--start "yesterday" is not/],
    [['backfill', '--start', '2025-01-02', '--end', '2025-01-01'], /^--end must be after --start$/],
    [['backfill', '--start', '2025-01-01', '--end', '2025-01-02', '--since', 'x'], /--since/],
    [
      ['backfill', '--start', '2025-01-01', '--end', '2025-01-02', '--symbols', 'AAPL,bad one'],
      /^--symbols "BAD ONE" is not a raw symbol/,
    ],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ')}: exit 2, the problem and the usage on stderr`, async () => {
      const r = await runCli(args, { DATABASE_URL: url });
      expect(r.code).toBe(2);
      const [first, ...rest] = r.stderr.trim().split('\n');
      expect(first!.replace(/^timed-screener: /, '')).toMatch(message);
      expect(rest[0]).toBe('usage: timed-screener <command>');
      expect(r.stdout).toBe('');
    });
  }

  it('no command: the usage on stdout, exit 2; --help: exit 0', async () => {
    const none = await runCli([], {});
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/^usage: timed-screener <command>/);
    const help = await runCli(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: timed-screener <command>/);
  });
});
