// Fault drill: kill -9 the screener at random points of a live session from the local gateway and
// restart it each time, then stop and restart Postgres mid-session: the final bars must equal those
// of an uninterrupted run.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, migrate, PRICE_BAR_COLUMNS, sql, upsertBars } from '@timed/db';
import { createTestDatabase, ensureDatabase, startEmbeddedPostgres } from '@timed/db/testing';
import { type LocalGateway, startLocalGateway, tradesSource } from '@timed/dbn/gateway';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type App, eventually, SCREENER, spawnApp } from './processes.js';
import { pastSession } from './sessions.js';

const KEY = 'db-e2efaultdrill00000000000000000'.slice(0, 32);
const adminUrl = inject('adminUrl');
const session = pastSession({
  minutes: 8,
  endedMinutesAgo: 20,
  symbols: 30,
  tradesPerSecond: 40,
  seed: 11,
});
const firstMinute = new Date(Number(session.start / 1_000_000n));
const lastMinute = new Date(Number(session.end / 1_000_000n) - 60_000);
const gateways: LocalGateway[] = [];
const apps: App[] = [];

afterAll(async () => {
  for (const a of apps) await a.stop('SIGKILL');
  for (const g of gateways) await g.close();
});

/** A fresh database holding one placeholder bar at the session's first minute: the daemon resumes there. */
async function prepared(url: string): Promise<void> {
  const db = createDb(url, { max: 1 });
  const p = 1;
  await upsertBars(db, [
    {
      symbol: session.instruments[0]!.symbol,
      timestamp: firstMinute,
      open: p,
      high: p,
      low: p,
      close: p,
      volume: 1,
      trade_count: 1,
      data_source: 'trades',
    },
  ]);
  await db.destroy();
}

async function snapshot(url: string): Promise<string[]> {
  const db = createDb(url, { max: 1 });
  try {
    const rows = await db
      .selectFrom('price_bars')
      .select(PRICE_BAR_COLUMNS)
      .orderBy('symbol')
      .orderBy('timestamp')
      .execute();
    return rows.map((r) =>
      PRICE_BAR_COLUMNS.map((c) => {
        const v = r[c];
        return v instanceof Date ? v.toISOString() : String(v);
      }).join(' '),
    );
  } finally {
    await db.destroy();
  }
}

/** Waits until the last minute of the session is written and nothing changes for 1.5 s. */
async function settled(url: string): Promise<string[]> {
  let last = '';
  let since = Date.now();
  return eventually(
    async () => {
      const rows = await snapshot(url);
      const key = rows.join('\n');
      if (key !== last) {
        last = key;
        since = Date.now();
        return undefined;
      }
      const done = rows.some((r) => r.includes(` ${lastMinute.toISOString()} `));
      return done && Date.now() - since > 1_500 ? rows : undefined;
    },
    120_000,
    'the session to be fully written',
  );
}

async function gatewayAt(rate: number): Promise<LocalGateway> {
  const gw = await startLocalGateway({
    apiKey: KEY,
    source: tradesSource(session),
    rate,
    heartbeatMs: 500,
  });
  gateways.push(gw);
  return gw;
}

function daemon(url: string, gw: LocalGateway, schema: 'trades' | 'mbp-1' = 'trades'): App {
  const app = spawnApp(SCREENER, ['run'], {
    DATABASE_URL: url,
    DATABENTO_API_KEY: KEY,
    DATABENTO_LIVE_GATEWAY: gw.address,
    SCREENER_SYMBOLS: 'ALL_SYMBOLS',
    SCREENER_SCHEMA: schema,
  });
  apps.push(app);
  return app;
}

let reference: string[] = [];

describe('screener fault drill', () => {
  it('an uninterrupted run gives the reference bars', async () => {
    const url = await createTestDatabase(adminUrl);
    await prepared(url);
    const gw = await gatewayAt(4_000);
    const app = daemon(url, gw);
    reference = await settled(url);
    expect(await app.stop('SIGTERM')).toBe(0);
    expect(reference.length).toBeGreaterThan(8 * 20);
  });

  it('kill -9 at random points, restarting each time: the same bars as the uninterrupted run', async () => {
    const url = await createTestDatabase(adminUrl);
    await prepared(url);
    const gw = await gatewayAt(4_000);
    const delays = Array.from({ length: 4 }, () => 300 + Math.floor(Math.random() * 2_500));
    console.log(`fault drill: kill -9 after ${delays.join(', ')} ms`);
    let killedMidSession = 0;
    for (const ms of delays) {
      const app = daemon(url, gw);
      await app.waitFor(/single-writer lock held/, 60_000);
      await new Promise((r) => setTimeout(r, ms));
      app.child.kill('SIGKILL');
      expect(await app.exited).toBe('SIGKILL');
      const partial = await snapshot(url);
      if (!partial.some((r) => r.includes(` ${lastMinute.toISOString()} `))) killedMidSession++;
    }
    // At least one kill landed before the session was fully written (usually all of them).
    expect(killedMidSession).toBeGreaterThan(0);
    const last = daemon(url, gw);
    const bars = await settled(url);
    expect(await last.stop('SIGTERM')).toBe(0);
    expect(bars).toEqual(reference);
  });

  it('kill -9 the trades screener, then an mbp-1 one takes the dataset and closes the dead row', async () => {
    // One writer per dataset whatever the schema: the killed process's lock went with its
    // connection, and its heartbeat row (never stopped) must not count as a live writer.
    const url = await createTestDatabase(adminUrl);
    await prepared(url);
    const gw = await gatewayAt(1_500);
    const trades = daemon(url, gw);
    await trades.waitFor(/single-writer lock held/, 60_000);
    trades.child.kill('SIGKILL');
    expect(await trades.exited).toBe('SIGKILL');
    const db = createDb(url, { max: 1 });
    try {
      // Postgres ends the dead process's backends (and with them its lock) once it sees the
      // socket closed.
      await eventually(
        async () => {
          const r = await sql<{ n: number }>`
            SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE application_name LIKE 'timed-screener:%' AND datname = current_database()`.execute(
            db,
          );
          return r.rows[0]?.n === 0;
        },
        30_000,
        "the killed screener's lock connection gone",
      );
      const rollback = daemon(url, gw, 'mbp-1');
      await rollback.waitFor(/single-writer lock held/, 60_000);
      const rows = await db
        .selectFrom('screener_instances')
        .select(['schema', 'pid', 'stopped_at'])
        .orderBy('started_at')
        .execute();
      expect(rows.map((r) => [r.schema, r.pid, r.stopped_at !== null])).toEqual([
        ['trades', trades.child.pid, true],
        ['mbp-1', rollback.child.pid, false],
      ]);
      expect(await rollback.stop('SIGTERM')).toBe(0);
    } finally {
      await db.destroy();
    }
  });

  it('Postgres stopped and restarted mid-session: no bar is missing', async () => {
    const dataDir = join(tmpdir(), `timed-drill-pg-${randomBytes(4).toString('hex')}`);
    let server = await startEmbeddedPostgres({ dataDir, persistent: true });
    const port = server.port;
    try {
      const url = await ensureDatabase(server.url(), 'drill');
      await migrate({ url });
      await prepared(url);
      const gw = await gatewayAt(1_500);
      const app = daemon(url, gw);
      await app.waitFor(/single-writer lock held/, 60_000);
      await eventually(async () => (await snapshot(url)).length > 0, 60_000, 'a first bar written');
      const before = await snapshot(url);
      await server.stop();
      // Postgres went away mid-session: the last minute was not written yet.
      expect(before.some((r) => r.includes(` ${lastMinute.toISOString()} `))).toBe(false);
      await new Promise((r) => setTimeout(r, 4_000));
      server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
      const bars = await settled(url);
      expect(await app.stop('SIGTERM')).toBe(0);
      expect(bars).toEqual(reference);
    } finally {
      await server.stop();
    }
  });
});
