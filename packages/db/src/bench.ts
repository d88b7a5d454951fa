// pnpm bench for @timed/db: upsert 200k bars into an empty table, again over existing rows, and
// COPY the same rows into a scratch table with the same columns and indexes on the same server
// (the ceiling). Prints bars/s and ratios.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BarInput } from '@timed/schema';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { upsertBars } from './bars-repository.js';
import { createDb } from './database.js';
import { ensureDatabase, startEmbeddedPostgres } from './embedded-postgres.js';
import { migrate } from './migrator.js';

const N = Number(process.env.BENCH_BARS ?? 200_000);
const BATCH = 10_000;

function makeBars(n: number, shift: number): BarInput[] {
  const symbols = 500;
  const bars: BarInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = 100 + (i % 97) + shift;
    bars[i] = {
      symbol: `S${String(i % symbols).padStart(4, '0')}`,
      timestamp: new Date(
        1_700_000_000_000 - (1_700_000_000_000 % 60_000) + Math.floor(i / symbols) * 60_000,
      ),
      open: p,
      high: p + 0.75,
      low: p - 0.25,
      close: p + 0.5,
      volume: 1000 + i,
      trade_count: 1 + (i % 50),
      is_legacy: false,
      data_source: 'trades',
    };
  }
  return bars;
}

function copyText(bars: BarInput[]): string {
  let out = '';
  for (const b of bars) {
    out += `${b.symbol}\t${b.timestamp.toISOString()}\t${b.open}\t${b.high}\t${b.low}\t${b.close}\t${b.volume}\t${b.trade_count}\tf\ttrades\n`;
  }
  return out;
}

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const rate = N / s;
  console.log(
    `${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${Math.round(rate).toLocaleString('en-US').padStart(12)} bars/s`,
  );
  return rate;
}

async function main() {
  let stop = async () => {};
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const pgServer = await startEmbeddedPostgres({
      dataDir: join(tmpdir(), `timed-bench-${randomBytes(4).toString('hex')}`),
      persistent: false,
    });
    adminUrl = pgServer.url();
    stop = pgServer.stop;
  }
  const url = await ensureDatabase(adminUrl, `bench_${randomBytes(4).toString('hex')}`);
  await migrate({ url });
  const db = createDb(url);
  const bars = makeBars(N, 0);
  const changed = makeBars(N, 1);
  console.log(
    `@timed/db bench: ${N.toLocaleString('en-US')} bars, batches of ${BATCH.toLocaleString('en-US')} (one statement each)`,
  );
  try {
    const insertRate = await timed('upsert into empty table', async () => {
      for (let i = 0; i < N; i += BATCH) await upsertBars(db, bars.slice(i, i + BATCH));
    });
    const updateRate = await timed('upsert over existing rows', async () => {
      for (let i = 0; i < N; i += BATCH) await upsertBars(db, changed.slice(i, i + BATCH));
    });
    await sql`CREATE TABLE copy_scratch (LIKE price_bars INCLUDING ALL)`.execute(db);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const copyRate = await timed('COPY into scratch table (ceiling)', async () => {
      const text = copyText(bars);
      const stream = client.query(
        copyFrom(
          'COPY copy_scratch (symbol, timestamp, open, high, low, close, volume, trade_count, is_legacy, data_source) FROM STDIN',
        ),
      );
      await pipeline(Readable.from([text]), stream);
    });
    await client.end();
    console.log(
      `ratio upsert(empty)/COPY    ${(insertRate / copyRate).toFixed(2)}  (goal >= 0.40)`,
    );
    console.log(
      `ratio upsert(existing)/COPY ${(updateRate / copyRate).toFixed(2)}  (goal >= 0.40)`,
    );
  } finally {
    await db.destroy();
    await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
