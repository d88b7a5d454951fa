import {
  closeSync,
  createReadStream,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, migrate, upsertBars } from '@timed/db';
import { ensureDatabase, startEmbeddedPostgres } from '@timed/db/testing';
import { DbnDecoder, encodeMetadata, type RecordBatch } from '@timed/dbn';
import { sumTradeFields } from '@timed/dbn/testing';
import { pino } from 'pino';
import { BarAggregator } from './aggregate/bar-aggregator.js';
import { feedFiniteSource } from './sources/finite-source.js';
import { BarWriter } from './store/bar-writer.js';

// Benchmark: replay a generated trading day (uncompressed DBN) into Postgres, end to end, and
// compare decode + aggregate (no DB) with dbn's decode-only rate on the same bytes (the ceiling:
// the trade-field read of dbn's own benchmark), and with a stricter low-words-only loop.
const { values } = parseArgs({
  options: {
    trades: { type: 'string', default: '20000000' },
    symbols: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    'no-db': { type: 'boolean', default: false },
  },
});
const TRADES = Number(values.trades);
const SYMBOLS = Number(values.symbols);
const ROUNDS = Math.max(1, Number(values.rounds));
const MINUTES = 390;
const CHUNK = 1 << 20;
const FULL_DAY = { trades: 71_000_000, symbols: 8_000, goalSeconds: 90 };
const tty = process.stdout.isTTY === true;
const say = (event: string, fields: Record<string, unknown>, text: string) => {
  if (tty) console.log(text);
  else console.log(JSON.stringify({ bench: 'screener', event, ...fields }));
};

function symbolName(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(65 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return `Z${s}`;
}

/** Writes `trades` TradeMsgs over `symbols` symbols across a 390-minute session, in ts_recv order. */
function generate(path: string): void {
  const start = 1_761_312_600_000_000_000n; // 2025-10-24T13:30:00Z
  const names = Array.from({ length: SYMBOLS }, (_, i) => symbolName(i));
  const md = encodeMetadata({
    version: 3,
    dataset: 'EQUS.MINI',
    schema: 'trades',
    start,
    end: start + BigInt(MINUTES) * 60_000_000_000n,
    stype_in: 'raw_symbol',
    stype_out: 'instrument_id',
    symbols: names,
    mappings: names.map((raw_symbol, i) => ({
      raw_symbol,
      intervals: [{ start_date: '2025-10-24', end_date: '2025-10-25', symbol: String(1000 + i) }],
    })),
  });
  const fd = openSync(path, 'w');
  writeSync(fd, md);
  const per = 1 << 16;
  const buf = new Uint8Array(per * 48);
  const v = new DataView(buf.buffer);
  const price = new Float64Array(SYMBOLS);
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  for (let i = 0; i < SYMBOLS; i++) price[i] = Math.round(5 + rnd() * 400) * 100; // cents
  const meanGap = (MINUTES * 60e9) / TRADES;
  const baseHi = Number(start >> 32n);
  const baseLo = Number(start & 0xffffffffn);
  let off = 0;
  for (let done = 0; done < TRADES; ) {
    const n = Math.min(per, TRADES - done);
    for (let k = 0; k < n; k++) {
      off += Math.floor(rnd() * 2 * meanGap);
      const lo = baseLo + (off % 4294967296);
      const hi = baseHi + Math.floor(off / 4294967296) + (lo >= 4294967296 ? 1 : 0);
      const r = rnd();
      const sym = Math.floor(SYMBOLS * r * r);
      if (rnd() < 0.3) price[sym] = Math.max(100, price[sym]! + (rnd() < 0.5 ? -1 : 1));
      const raw = price[sym]! * 10_000_000; // cents -> 1e-9 units
      const o = k * 48;
      buf.fill(0, o, o + 48);
      buf[o] = 12;
      v.setUint16(o + 2, 95, true);
      v.setUint32(o + 4, 1000 + sym, true);
      v.setUint32(o + 8, lo >>> 0, true);
      v.setUint32(o + 12, hi, true);
      v.setUint32(o + 16, raw % 4294967296, true);
      v.setUint32(o + 20, Math.floor(raw / 4294967296), true);
      v.setUint32(o + 24, 1 + Math.floor(rnd() * 500), true);
      buf[o + 28] = 84;
      buf[o + 29] = 78;
      buf[o + 30] = 0x80;
      v.setUint32(o + 32, lo >>> 0, true);
      v.setUint32(o + 36, hi, true);
    }
    writeSync(fd, buf, 0, n * 48);
    done += n;
  }
  closeSync(fd);
}

let checksum = 0;
/**
 * dbn's decode-only rate, as @timed/dbn's own benchmark defines it ("decoder batches, trade fields
 * read", `sumTradeFields`): every TradeMsg's instrument_id, exact price, size and ts_recv. This is
 * the reference the 0.6 goal is judged against.
 */
const decodeTrades = (b: RecordBatch): void => {
  checksum = (checksum + sumTradeFields(b)) % 1e9;
};
/**
 * A stricter reference, printed beside it: the same loop reading only the low u32 word of each of
 * those four fields (not a full decode: price and ts_recv are 64-bit).
 */
const lowWordsOnly = (b: RecordBatch): void => {
  const { bytes, view, end } = b;
  let sum = 0;
  for (let o = b.start; o < end; o += bytes[o]! << 2) {
    if (bytes[o + 1] !== 0) continue;
    sum +=
      view.getUint32(o + 4, true) +
      view.getUint32(o + 16, true) +
      view.getUint32(o + 24, true) +
      view.getUint32(o + 32, true);
  }
  checksum = (checksum + sum) % 1e9;
};

function timeIt(fn: () => number): { n: number; s: number } {
  const t0 = process.hrtime.bigint();
  const n = fn();
  return { n, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 === 1 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};

const dir = join(tmpdir(), `screener-bench-${process.pid}`);
const file = join(dir, 'day.trades.dbn');
const pgDir = join(dir, 'pg');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
say(
  'progress',
  { phase: 'generate', trades: TRADES, symbols: SYMBOLS },
  `generating ${TRADES} trades over ${SYMBOLS} symbols...`,
);
const tg = timeIt(() => {
  generate(file);
  return TRADES;
});
const bytes = readFileSync(file);
say(
  'progress',
  { phase: 'generated', mb: Math.round(bytes.length / 1e6), seconds: tg.s },
  `  ${(bytes.length / 1e6).toFixed(0)} MB in ${tg.s.toFixed(1)} s`,
);

const decodeRun = (consume: (b: RecordBatch) => void) => () => {
  const dec = new DbnDecoder({ compression: 'none' });
  let n = 0;
  const count = (b: RecordBatch) => {
    n += b.count;
    consume(b);
  };
  for (let p = 0; p < bytes.length; p += CHUNK)
    dec.writeBatches(bytes.subarray(p, p + CHUNK), count);
  dec.finishBatches(count);
  return n;
};
let barsBuilt = 0;
const aggregateRun = () => {
  const dec = new DbnDecoder({ compression: 'none' });
  barsBuilt = 0;
  const agg = new BarAggregator({
    source: 'trades',
    scan: true,
    symbolOf: (id) => dec.symbols.get(id),
    // Closed bars come out columnar; formatting them for Postgres belongs to the write stage.
    onBars: (closed) => {
      barsBuilt += closed.length;
    },
  });
  const onBatch = (b: RecordBatch) => agg.handleBatch(b);
  for (let p = 0; p < bytes.length; p += CHUNK)
    dec.writeBatches(bytes.subarray(p, p + CHUNK), onBatch);
  dec.finishBatches(onBatch);
  agg.closeAll();
  return agg.stats.records;
};
const runs = {
  decode: { label: 'decode only (dbn, trade fields)', run: decodeRun(decodeTrades) },
  lowWords: { label: 'low words only (stricter)', run: decodeRun(lowWordsOnly) },
  aggregate: { label: 'decode + aggregate (no DB)', run: aggregateRun },
} as const;
type Which = keyof typeof runs;
// Interleaved rounds on the same in-memory bytes, rotating which goes first: all rates see the
// same machine load (other jobs share the 2 cores). A first round warms the JIT up and is not
// counted. Median and best of each are reported; a headline ratio is the median of the per-round
// ratios (each pairs runs of one round), the ratio of the bests is printed beside it.
const rates: Record<Which, number[]> = { decode: [], lowWords: [], aggregate: [] };
const rotations: Which[][] = [
  ['decode', 'lowWords', 'aggregate'],
  ['aggregate', 'decode', 'lowWords'],
  ['lowWords', 'aggregate', 'decode'],
];
for (let r = -1; r < ROUNDS; r++) {
  for (const which of rotations[(r + 1) % rotations.length]!) {
    const t = timeIt(runs[which].run);
    if (r < 0) continue;
    rates[which].push(t.n / t.s);
    say(
      'progress',
      { phase: which, round: r + 1, seconds: t.s, tradesPerSecond: Math.round(t.n / t.s) },
      `  round ${r + 1} ${runs[which].label}: ${t.s.toFixed(2)} s, ${(t.n / t.s / 1e6).toFixed(1)}M trades/s`,
    );
  }
}
const ratioTo = (ref: Which) => ({
  median: median(rates.aggregate.map((a, i) => a / rates[ref][i]!)),
  bests: Math.max(...rates.aggregate) / Math.max(...rates[ref]),
});
const decodeRate = median(rates.decode);
const lowWordsRate = median(rates.lowWords);
const aggRate = median(rates.aggregate);
const toDecode = ratioTo('decode');
const toLowWords = ratioTo('lowWords');
const ratio = toDecode.median;
const RATIO_GOAL = 0.6;
const rateLine = (xs: number[]) =>
  `median ${(median(xs) / 1e6).toFixed(1)}M, best ${(Math.max(...xs) / 1e6).toFixed(1)}M trades/s`;
say(
  'rates',
  {
    decodeOnlyTradesPerSecond: rates.decode.map(Math.round),
    lowWordsOnlyTradesPerSecond: rates.lowWords.map(Math.round),
    aggregateTradesPerSecond: rates.aggregate.map(Math.round),
    ratio: Number(ratio.toFixed(3)),
    ratioOfBests: Number(toDecode.bests.toFixed(3)),
    ratioToLowWords: Number(toLowWords.median.toFixed(3)),
    goal: RATIO_GOAL,
    barsBuilt,
  },
  `  decode only (dbn, trade fields)  ${rateLine(rates.decode)}
  low words only (stricter)        ${rateLine(rates.lowWords)}
  decode + aggregate               ${rateLine(rates.aggregate)}
  ratio to dbn decode ${ratio.toFixed(2)} (median of rounds; of the bests ${toDecode.bests.toFixed(2)}), goal >= ${RATIO_GOAL}: ${ratio >= RATIO_GOAL ? 'MET' : 'NOT MET'}
  ratio to the low-words loop ${toLowWords.median.toFixed(2)} (of the bests ${toLowWords.bests.toFixed(2)}); ${barsBuilt} bars`,
);

if (values['no-db']) {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
say('progress', { phase: 'postgres' }, 'starting embedded Postgres and replaying into it...');
const pg = await startEmbeddedPostgres({ dataDir: pgDir, persistent: false });
let e2e: { s: number; bars: number; records: number };
try {
  const url = await ensureDatabase(pg.url(), 'bench');
  await migrate({ url });
  const db = createDb(url, { max: 4 });
  const writer = new BarWriter({
    write: (b) => upsertBars(db, b),
    logger: pino({ level: 'warn' }),
    concurrency: 2,
  });
  const t0 = process.hrtime.bigint();
  const summary = await feedFiniteSource(createReadStream(file, { highWaterMark: 1 << 22 }), {
    source: 'trades',
    writer,
    label: file,
  });
  e2e = {
    s: Number(process.hrtime.bigint() - t0) / 1e9,
    bars: summary.barsWritten,
    records: summary.records,
  };
  writer.close();
  await db.destroy();
} finally {
  await pg.stop();
}
if (!values.keep) rmSync(dir, { recursive: true, force: true });

const e2eRate = e2e.records / e2e.s;
const barRate = e2e.bars / e2e.s;
const coverage = e2e.bars / (SYMBOLS * MINUTES);
const fullBars = FULL_DAY.symbols * MINUTES * coverage;
// End to end is bound by Postgres (aggregation overlaps the writes): a full day costs its bars at
// the measured end-to-end bar rate, plus its extra trades (more trades per bar) at the
// aggregation rate.
const extraTrades = Math.max(0, FULL_DAY.trades - fullBars * (e2e.records / e2e.bars));
const projected = fullBars / barRate + extraTrades / aggRate;
const summary = {
  trades: TRADES,
  symbols: SYMBOLS,
  fileMB: Math.round(bytes.length / 1e6),
  decodeOnlyTradesPerSecond: Math.round(decodeRate),
  lowWordsOnlyTradesPerSecond: Math.round(lowWordsRate),
  aggregateTradesPerSecond: Math.round(aggRate),
  aggregateToDecodeRatio: Number(ratio.toFixed(3)),
  aggregateToDecodeRatioBestOf: Number(toDecode.bests.toFixed(3)),
  aggregateToLowWordsRatio: Number(toLowWords.median.toFixed(3)),
  barsBuilt,
  endToEndSeconds: Number(e2e.s.toFixed(2)),
  endToEndTradesPerSecond: Math.round(e2eRate),
  barsWritten: e2e.bars,
  barsWrittenPerSecond: Math.round(barRate),
  projectedFullDaySeconds: Number(projected.toFixed(1)),
  goals: { ratio: RATIO_GOAL, fullDaySeconds: FULL_DAY.goalSeconds },
  met: { ratio: ratio >= RATIO_GOAL, fullDay: projected <= FULL_DAY.goalSeconds },
  checksum,
};
if (tty) {
  console.log(`
${TRADES} trades, ${SYMBOLS} symbols, ${summary.fileMB} MB uncompressed DBN, ${MINUTES} minutes
  decode only (dbn, trade fields, median) ${(decodeRate / 1e6).toFixed(1)}M trades/s
  low words only (stricter, median)       ${(lowWordsRate / 1e6).toFixed(1)}M trades/s
  decode + aggregate (median)             ${(aggRate / 1e6).toFixed(1)}M trades/s
    ratio to dbn decode ${ratio.toFixed(2)} (median of rounds; of the bests ${toDecode.bests.toFixed(2)}; goal >= ${RATIO_GOAL}) ${ratio >= RATIO_GOAL ? 'MET' : 'NOT MET'}
    ratio to the low-words loop ${toLowWords.median.toFixed(2)} (of the bests ${toLowWords.bests.toFixed(2)})
  end to end into Postgres ${e2e.s.toFixed(1)} s: ${(e2eRate / 1e6).toFixed(2)}M trades/s, ${e2e.bars} bars, ${Math.round(barRate)} bars/s
  projection ${FULL_DAY.trades / 1e6}M trades / ${FULL_DAY.symbols} symbols (${Math.round(fullBars)} bars): ${projected.toFixed(1)} s (goal <= ${FULL_DAY.goalSeconds} s) ${projected <= FULL_DAY.goalSeconds ? 'MET' : 'NOT MET'}`);
} else {
  say('summary', summary, '');
}
