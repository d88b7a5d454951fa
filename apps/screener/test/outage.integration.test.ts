import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, migrate } from '@timed/db';
import {
  type EmbeddedPostgresHandle,
  ensureDatabase,
  freePort,
  startEmbeddedPostgres,
} from '@timed/db/testing';
import type { EncodableRecord } from '@timed/dbn';
import { tradesSource } from '@timed/dbn/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  barsSettle,
  expectedBars,
  gateway,
  openDb,
  recentSession,
  startTestDaemon,
  storedBars,
  waitFor,
} from './helpers/harness.js';

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

/** The outage the issue names: no bar lost while Postgres is down for a whole minute. */
const OUTAGE_MS = 61_000;

/** ts_recv (ms) of the record the gateway sent `n`-th (the feed's position). */
function recvTimeOf(records: EncodableRecord[], n: number): number {
  const r = records[Math.min(n, records.length) - 1];
  return r && 'ts_recv' in r ? Number(r.ts_recv / 1_000_000n) : 0;
}

describe('Postgres stopped for over 60 s mid-stream', () => {
  it('keeps aggregating, buffers closed bars and writes them all once Postgres is back', {
    timeout: 200_000,
  }, async () => {
    // 12 minutes of trades (20/s over 30 symbols) streamed at 150 records/s: about 96 s of feed,
    // so minutes keep closing through the whole outage.
    const s = recentSession({ seed: 21, minutes: 12, minutesAgo: 40 });
    const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300, rate: 150 });
    const db: Db = openDb(url);
    const daemon = startTestDaemon(
      gw,
      { db, url },
      { coldStartMinute: s.startMinute, writer: { retryMaxMs: 300 } },
    );
    try {
      await waitFor('a first minute written', async () => (await storedBars(db)).length > 0);
      const writtenBefore = (await storedBars(db)).length;
      await pg.stop();
      const stoppedAt = Date.now();
      const sentAtStop = gw.sessions.at(-1)!.recordsSent;
      // The outage is the scenario: Postgres stays down over a minute while minutes keep closing
      // (a minute is ~1,200 records here).
      await waitFor(
        'over a minute of outage with four minutes streamed in it',
        () =>
          Date.now() - stoppedAt >= OUTAGE_MS &&
          gw.sessions.at(-1)!.recordsSent - sentAtStop > 4 * 1_200,
        OUTAGE_MS + 30_000,
      );
      // ...and the feed is still running: the daemon writes into a live Postgres again after.
      expect(gw.sessions.at(-1)!.recordsSent).toBeLessThan(s.records.length);
      // Bars of the minutes that closed in the outage exist only in the daemon's buffer now.
      const expected = expectedBars(s.session, s.records);
      const closedInOutage = expected.filter((b) => {
        const end = Date.parse(b.minute) + 60_000;
        const sent = gw.sessions.at(-1)!.recordsSent;
        return end <= recvTimeOf(s.records, sent) && end > recvTimeOf(s.records, sentAtStop);
      });
      expect(closedInOutage.length).toBeGreaterThan(0);
      pg = await startEmbeddedPostgres({ dataDir, port, persistent: true });
      expect(await barsSettle(db, expected, 60_000)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(writtenBefore);
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
      daemon.stop();
      expect((await daemon.done).exitCode).toBe(0);
      await db.destroy();
      await gw.close();
    }
  });

  it('bars beyond the buffer bound are rebuilt by a replay from their minute once Postgres is back', {
    timeout: 120_000,
  }, async () => {
    const overflowUrl = await ensureDatabase(pg.url(), 'overflow');
    await migrate({ url: overflowUrl });
    // About 30 bars a minute against a bound of 40: minutes closing in the outage overflow it.
    const s = recentSession({ seed: 22, minutes: 8, minutesAgo: 30 });
    const gw = await gateway(tradesSource(s.session), { heartbeatMs: 300, rate: 1_000 });
    const db: Db = openDb(overflowUrl);
    const daemon = startTestDaemon(
      gw,
      { db, url: overflowUrl },
      { coldStartMinute: s.startMinute, writer: { retryMaxMs: 300, maxBuffered: 40 } },
    );
    try {
      await waitFor('a first minute written', async () => (await storedBars(db)).length > 0);
      await pg.stop();
      const sentAtStop = gw.sessions.at(-1)!.recordsSent;
      await waitFor(
        'four more minutes streamed',
        () => gw.sessions.at(-1)!.recordsSent > sentAtStop + 4 * 1_200,
      );
      pg = await startEmbeddedPostgres({ dataDir, port, persistent: true });
      const expected = expectedBars(s.session, s.records);
      expect(await barsSettle(db, expected, 40_000)).toEqual(expected);
      // The refused bars came back through a second gateway session (the replay).
      expect(gw.sessions.length).toBeGreaterThan(1);
    } finally {
      daemon.stop();
      expect((await daemon.done).exitCode).toBe(0);
      await db.destroy();
      await gw.close();
    }
  });
});
