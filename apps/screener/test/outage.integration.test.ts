import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Db,
  type EmbeddedPostgresHandle,
  ensureDatabase,
  freePort,
  migrate,
  startEmbeddedPostgres,
} from '@timed/db';
import { tradesSource } from '@timed/dbn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDaemon } from '../src/index.js';
import {
  barsSettle,
  expectedBars,
  gateway,
  openDb,
  recentSession,
  storedBars,
  TEST_API_KEY,
  testLogger,
  waitFor,
} from './harness.js';

// This file runs its own Postgres: it stops and restarts it under a running daemon.
const dataDir = join(tmpdir(), `screener-outage-${process.pid}-${Date.now()}`);
let port: number;
let pg: EmbeddedPostgresHandle;
let url: string;

beforeAll(async () => {
  port = await freePort();
  pg = await startEmbeddedPostgres({ dataDir, port, persistent: true });
  url = await ensureDatabase(pg.url(), 'outage');
  await migrate({ url });
});
afterAll(async () => {
  await pg.stop().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Postgres stopped and restarted mid-stream', () => {
  it('keeps aggregating, buffers closed bars and writes them all once Postgres is back', async () => {
    const s = recentSession({ seed: 21, minutes: 6, minutesAgo: 40 });
    const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300, rate: 1_500 });
    const db: Db = openDb(url);
    const abort = new AbortController();
    const done = runDaemon(
      {
        dataset: 'EQUS.MINI',
        schema: 'trades',
        symbols: { all: true },
        apiKey: TEST_API_KEY,
        gateway: gw.address,
        heartbeatIntervalS: 1,
        reconnectBaseMs: 50,
        heartbeatRowMs: 200,
        coldStartMinute: s.startMinute,
        writer: { retryMaxMs: 300 },
      },
      { db, dbUrl: url, logger: testLogger, signal: abort.signal },
    );
    try {
      await waitFor('a first minute written', async () => (await storedBars(db)).length > 0);
      await pg.stop();
      const sentAtStop = gw.sessions.at(-1)!.recordsSent;
      // Minutes keep closing while Postgres is down.
      await waitFor(
        'two more minutes streamed',
        () => gw.sessions.at(-1)!.recordsSent > sentAtStop + 2_500,
      );
      pg = await startEmbeddedPostgres({ dataDir, port, persistent: true });
      const expected = expectedBars(s.session, s.records);
      expect(await barsSettle(db, expected, 45_000)).toEqual(expected);
      // The daemon still holds its lock (re-acquired) and its heartbeat row is alive again.
      let row: unknown;
      await waitFor('heartbeat after the outage', async () => {
        const r = await db.selectFrom('screener_instances').selectAll().executeTakeFirstOrThrow();
        row = r;
        return Date.now() - r.last_seen.getTime() < 2_000 && Number(r.errors) > 0;
      }).catch(() => {
        throw new Error(`heartbeat row not updated after the outage: ${JSON.stringify(row)}`);
      });
      // Only one gateway session: the outage did not touch the feed.
      expect(gw.sessions).toHaveLength(1);
    } finally {
      abort.abort();
      expect((await done).exitCode).toBe(0);
      await db.destroy();
      await gw.close();
    }
  });
});
