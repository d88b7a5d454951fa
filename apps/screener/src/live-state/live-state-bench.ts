import { createDb } from '@timed/db';
import { createTestDatabase, startTestServer } from '@timed/db/testing';
import { type DbnRecord, trade } from '@timed/dbn';
import { mulberry32 } from '@timed/dbn/prng';
import { pino } from 'pino';
import { BarAggregator } from '../aggregate/bar-aggregator.js';
import { DayStats } from './day-stats.js';
import { LivePublishing } from './live-publishing.js';

// What live state costs on the daemon's per-record path (decoded records, one at a time, as the
// Live client hands them over): the aggregator alone, with DayStats fed per record, and with the
// publish step as well (every 30,000 records = 250 ms at the feed's 120,000 trades/s peak: copy
// of the changed symbols, their encoding and their NOTIFY to a real Postgres: DATABASE_URL, else
// an embedded one; the live_state snapshot every 4th flush = once a second). Records/s count the
// process's own synchronous work only; the wait for Postgres is reported apart, with the
// process CPU (user + system, all threads) a flush costs from its start until Postgres answered,
// over the flushes that published something (the first wait for the previous closes).
// Rounds alternate the variants; medians are reported because the machine is shared.
//
//   pnpm exec esbuild --bundle --platform=node --format=esm --packages=external \
//     --loader:.wat=empty src/live-state/live-state-bench.ts --outfile=dist/live-state-bench.js \
//     && node dist/live-state-bench.js

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const SYMBOLS = 8_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const PUBLISH_EVERY = 30_000;

const names = new Map<number, string>();
for (let i = 0; i < SYMBOLS; i++) names.set(1000 + i, `S${i}`);
const r = mulberry32(7);
const t0 = BigInt(Date.parse('2026-03-10T14:30:00Z')) * 1_000_000n;
const records: DbnRecord[] = [];
for (let k = 0; k < RECORDS; k++) {
  // 120,000 trades/s: one every 8,333 ns.
  const ts = t0 + BigInt(Math.floor(k * 8_333.3));
  records.push(
    trade({
      instrument_id: 1000 + Math.floor(r() ** 2 * SYMBOLS),
      ts_event: ts - 1_000n,
      ts_recv: ts,
      price: BigInt(1_000 + Math.floor(r() * 50_000)) * 10_000_000n,
      size: 1 + Math.floor(r() * 500),
    }) as DbnRecord,
  );
}

const log = pino({ level: 'silent' });
const server = await startTestServer();
const db = createDb(await createTestDatabase(server.adminUrl, { prefix: 'live_state_bench' }), {
  max: 2,
});

type Variant = 'bars only' | '+ day stats' | '+ day stats + publish';

/** Per flush of the publish variant: sync time, process CPU until sent, wall until sent. */
const flushMs: number[] = [];
const flushCpuMs: number[] = [];
const sentWallMs: number[] = [];
let flushedStates = 0;

async function run(variant: Variant): Promise<number> {
  const publishing =
    variant === '+ day stats + publish'
      ? new LivePublishing({
          db,
          source: 'trades',
          log,
          intervalMs: 3_600_000,
          snapshotIntervalMs: 3_600_000,
        })
      : undefined;
  const day = publishing?.day ?? (variant === '+ day stats' ? new DayStats('trades') : undefined);
  const agg = new BarAggregator({
    source: 'trades',
    symbolOf: (id) => names.get(id),
    onBars: () => {},
    live: day,
  });
  if (publishing) {
    publishing.day.startDay('2026-03-10');
    publishing.start(agg);
    await publishing.publisher.flush();
  }
  let busyNs = 0n;
  let segment = process.hrtime.bigint();
  for (let k = 0; k < records.length; k++) {
    agg.handleRecord(records[k]!);
    if (publishing && k % PUBLISH_EVERY === PUBLISH_EVERY - 1) {
      const cpu = process.cpuUsage();
      const f = process.hrtime.bigint();
      const before = publishing.stats.published;
      publishing.flush();
      const f1 = process.hrtime.bigint();
      busyNs += f1 - segment;
      const published = publishing.stats.published - before;
      if (published > 0) {
        flushMs.push(Number(f1 - f) / 1e6);
        flushedStates += published;
        if (flushMs.length % 4 === 0) await publishing.publisher.flush();
        else await publishing.publisher.sent();
        sentWallMs.push(Number(process.hrtime.bigint() - f) / 1e6);
        const used = process.cpuUsage(cpu);
        flushCpuMs.push((used.user + used.system) / 1e3);
      } else {
        // Symbols wait for their previous closes (a query) before their first publish: let the
        // event loop turn, as the daemon's does between socket reads.
        await new Promise((r) => setImmediate(r));
      }
      segment = process.hrtime.bigint();
    }
  }
  busyNs += process.hrtime.bigint() - segment;
  await publishing?.close();
  return records.length / (Number(busyNs) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const variants: Variant[] = ['bars only', '+ day stats', '+ day stats + publish'];
const rates = new Map<Variant, number[]>(variants.map((v) => [v, []]));
for (const v of variants) await run(v); // warm-up
flushMs.length = 0;
flushCpuMs.length = 0;
sentWallMs.length = 0;
flushedStates = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
    rates.get(v)!.push(await run(v));
  }
}
const base = median(rates.get('bars only')!);
for (const v of variants) {
  const m = median(rates.get(v)!);
  console.log(
    `${v.padEnd(24)} median ${(m / 1e6).toFixed(2)} M records/s  (${(m / base).toFixed(3)} of bars only; rounds ${rates
      .get(v)!
      .map((x) => (x / 1e6).toFixed(2))
      .join(' ')})`,
  );
}
// A flush's cost is per 250 ms, not per record: its share of one core at 4 flushes a second.
const perFlush = (xs: number[]) => `${median(xs).toFixed(1)} ms`;
const states = Math.round(flushedStates / flushMs.length);
console.log(
  `publish step, per flush of ${states} changed symbols (of ${SYMBOLS}), medians: ` +
    `${perFlush(flushMs)} in flush() itself; process CPU until sent ${perFlush(flushCpuMs)} ` +
    `(${((median(flushCpuMs) * 4) / 10).toFixed(1)}% of a core at 4 flushes/s); ` +
    `wall until Postgres answered ${perFlush(sentWallMs)}`,
);
await db.destroy().catch(() => {});
await server.stop();
process.exit(0);
