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
import { createDb, ensureDatabase, migrate, startEmbeddedPostgres, upsertBars } from '@timed/db';
import { DbnDecoder, encodeMetadata, type RecordBatch } from '@timed/dbn';
import { pino } from 'pino';
import { BarAggregator } from './bar-aggregator.js';
import { BarWriter } from './bar-writer.js';
import { feedFiniteSource } from './finite-source.js';

// Benchmark: replay a generated trading day (uncompressed DBN) into Postgres, end to end, and
// compare decode + aggregate (no DB) with dbn's decode-only rate on the same bytes (the ceiling).
const { values } = parseArgs({
  options: {
    trades: { type: 'string', default: '20000000' },
    symbols: { type: 'string', default: '5000' },
    keep: { type: 'boolean', default: false },
    'no-db': { type: 'boolean', default: false },
  },
});
const TRADES = Number(values.trades);
const SYMBOLS = Number(values.symbols);
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
/** dbn's decode-only consumer: the fields any trades consumer reads, nothing else. */
const decodeOnly = (b: RecordBatch): void => {
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

function best(label: string, runs: number, fn: () => number): { n: number; s: number } {
  let b = { n: 0, s: Number.POSITIVE_INFINITY };
  for (let r = 0; r < runs; r++) {
    const t = timeIt(fn);
    say(
      'progress',
      { phase: label, run: r + 1, seconds: t.s },
      `  ${label} run ${r + 1}: ${t.s.toFixed(2)} s`,
    );
    if (t.s < b.s) b = t;
  }
  return b;
}

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

const decodeRun = () => {
  const dec = new DbnDecoder({ compression: 'none' });
  let n = 0;
  const count = (b: RecordBatch) => {
    n += b.count;
    decodeOnly(b);
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
// Interleaved best of 3: the ratio compares runs taken under the same machine load.
let decode = { n: 0, s: Number.POSITIVE_INFINITY };
let aggregate = { n: 0, s: Number.POSITIVE_INFINITY };
for (let r = 0; r < 3; r++) {
  const d = best('decode-only (dbn batch path)', 1, decodeRun);
  const a = best('decode + aggregate (no DB)', 1, aggregateRun);
  if (d.s < decode.s) decode = d;
  if (a.s < aggregate.s) aggregate = a;
}

if (values['no-db']) {
  say(
    'summary',
    { decodeOnly: decode.n / decode.s, aggregate: aggregate.n / aggregate.s, barsBuilt },
    `decode ${(decode.n / decode.s / 1e6).toFixed(1)}M/s, aggregate ${(aggregate.n / aggregate.s / 1e6).toFixed(1)}M/s, ratio ${(decode.s / aggregate.s).toFixed(2)}, ${barsBuilt} bars`,
  );
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

const decodeRate = decode.n / decode.s;
const aggRate = aggregate.n / aggregate.s;
const ratio = aggRate / decodeRate;
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
  aggregateTradesPerSecond: Math.round(aggRate),
  aggregateToDecodeRatio: Number(ratio.toFixed(3)),
  barsBuilt,
  endToEndSeconds: Number(e2e.s.toFixed(2)),
  endToEndTradesPerSecond: Math.round(e2eRate),
  barsWritten: e2e.bars,
  barsWrittenPerSecond: Math.round(barRate),
  projectedFullDaySeconds: Number(projected.toFixed(1)),
  goals: { ratio: 0.6, fullDaySeconds: FULL_DAY.goalSeconds },
  met: { ratio: ratio >= 0.6, fullDay: projected <= FULL_DAY.goalSeconds },
  checksum,
};
if (tty) {
  console.log(`
${TRADES} trades, ${SYMBOLS} symbols, ${summary.fileMB} MB uncompressed DBN, ${MINUTES} minutes
  decode only (dbn)        ${(decodeRate / 1e6).toFixed(1)}M trades/s
  decode + aggregate       ${(aggRate / 1e6).toFixed(1)}M trades/s  -> ratio ${ratio.toFixed(2)} (goal >= 0.6) ${ratio >= 0.6 ? 'MET' : 'NOT MET'}
  end to end into Postgres ${e2e.s.toFixed(1)} s: ${(e2eRate / 1e6).toFixed(2)}M trades/s, ${e2e.bars} bars, ${Math.round(barRate)} bars/s
  projection ${FULL_DAY.trades / 1e6}M trades / ${FULL_DAY.symbols} symbols (${Math.round(fullBars)} bars): ${projected.toFixed(1)} s (goal <= ${FULL_DAY.goalSeconds} s) ${projected <= FULL_DAY.goalSeconds ? 'MET' : 'NOT MET'}`);
} else {
  say('summary', summary, '');
}
