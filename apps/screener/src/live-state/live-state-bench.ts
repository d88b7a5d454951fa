import { createDb } from '@timed/db';
import { type DbnRecord, trade } from '@timed/dbn';
import { mulberry32 } from '@timed/dbn/prng';
import { pino } from 'pino';
import { BarAggregator } from '../aggregate/bar-aggregator.js';
import { DayStats } from './day-stats.js';
import { LivePublishing } from './live-publishing.js';

// What live state costs on the daemon's per-record path (decoded records, one at a time, as the
// Live client hands them over): the aggregator alone, with DayStats fed per record, and with the
// publish step as well (every 30,000 records = 250 ms at the feed's 120,000 trades/s peak: copy
// of the changed symbols into reused states and their encoding; the NOTIFY itself runs on
// Postgres and is not timed here: nothing is listening at 127.0.0.1:1). Rounds alternate the
// variants; medians are reported because the machine is shared.
//
//   pnpm exec esbuild --bundle --platform=node --format=esm --packages=external \
//     src/live-state/live-state-bench.ts --outfile=dist/live-state-bench.js && node dist/live-state-bench.js

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
const db = createDb('postgres://bench@127.0.0.1:1/none', { max: 1 });

type Variant = 'bars only' | '+ day stats' | '+ day stats + publish';

/** Time in flush() and states published, over the publish variant's rounds. */
let flushNs = 0n;
let flushes = 0;

function run(variant: Variant): number {
  const publishing =
    variant === '+ day stats + publish'
      ? new LivePublishing({ db, source: 'trades', log, intervalMs: 3_600_000 })
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
  }
  const start = process.hrtime.bigint();
  for (let k = 0; k < records.length; k++) {
    agg.handleRecord(records[k]!);
    if (publishing && k % PUBLISH_EVERY === PUBLISH_EVERY - 1) {
      const f = process.hrtime.bigint();
      publishing.flush();
      flushNs += process.hrtime.bigint() - f;
      flushes++;
    }
  }
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  void publishing?.close();
  return records.length / s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const variants: Variant[] = ['bars only', '+ day stats', '+ day stats + publish'];
const rates = new Map<Variant, number[]>(variants.map((v) => [v, []]));
for (const v of variants) run(v); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const v of round % 2 === 0 ? variants : [...variants].reverse()) rates.get(v)!.push(run(v));
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
const perFlushMs = Number(flushNs) / 1e6 / flushes;
console.log(
  `publish step: ${perFlushMs.toFixed(1)} ms per flush of up to ${SYMBOLS} changed symbols ` +
    `(${((perFlushMs * 4) / 10).toFixed(1)}% of a core at 4 flushes/s)`,
);
await db.destroy().catch(() => {});
process.exit(0);
