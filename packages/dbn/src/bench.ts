import { spawnSync } from 'node:child_process';
import type { RecordCursor } from './decoder.js';
import { DbnDecoder } from './decoder.js';
import { encodeMetadata } from './encoder.js';
import { readPriceNano, readTimestampMs } from './fields.js';
import { RecordLength, RType, TradeLayout as T } from './layout.js';
import type { RecordBatch } from './raw-decoder.js';
import { sumTradeFields } from './testing/trade-fields.js';

// Benchmark: decode >= 20M trades from memory vs. a plain loop over the same bytes (the ceiling).
const RECORDS = Number(process.argv[2] ?? 20_000_000);
const CHUNK = 1 << 20;
const RUNS = 3;
const tty = process.stdout.isTTY === true;

function report(event: string, fields: Record<string, unknown>, text: string): void {
  if (tty) console.log(text);
  else console.log(JSON.stringify({ bench: 'dbn', event, ...fields }));
}

function buildStream(n: number): Uint8Array {
  const md = encodeMetadata({ version: 3, dataset: 'EQUS.MINI', schema: 'trades', start: 0n });
  const bytes = new Uint8Array(md.length + n * T.structSize);
  bytes.set(md);
  const v = new DataView(bytes.buffer);
  let ts = 1_709_303_400_000_000_000n;
  for (let i = 0, o = md.length; i < n; i++, o += T.structSize) {
    bytes[o + T.length] = T.structSize / RecordLength.unit;
    bytes[o + T.rtype] = RType.MBP_0;
    v.setUint16(o + T.publisherId, 95, true);
    v.setUint32(o + T.instrumentId, 1000 + (i % 1500), true);
    if ((i & 1023) === 0) ts += 1_000_000n;
    v.setBigUint64(o + T.tsEvent, ts, true);
    // The i64 price as two u32 halves (a BigInt per record would slow the generation).
    v.setUint32(o + T.price, 1_000_000_000 + (i % 50_000) * 10_000_000, true);
    v.setUint32(o + T.price + 4, 0, true);
    v.setUint32(o + T.size, 100 + (i % 7), true);
    bytes[o + T.action] = 84;
    bytes[o + T.side] = i & 1 ? 65 : 66;
    bytes[o + T.flags] = 0x80;
    v.setBigUint64(o + T.tsRecv, ts + 1000n, true);
  }
  return bytes;
}

function ceiling(bytes: Uint8Array, start: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = start;
  let n = 0;
  let acc = 0;
  const end = bytes.length;
  while (p < end) {
    const len = bytes[p]! << 2;
    acc += view.getUint32(p + T.instrumentId, true);
    p += len;
    n++;
  }
  checksum = (checksum + acc) % 1e9;
  return n;
}

// A realistic trades consumer: instrument, price, size and a minute-able timestamp per trade.
let checksum = 0;
const tradeBatch = (b: RecordBatch): void => {
  checksum = (checksum + sumTradeFields(b)) % 1e9;
};
// The same per-record work as the ceiling loop (length byte + one u32), through the decoder.
const sameWorkBatch = (b: RecordBatch): void => {
  const { bytes, view, end } = b;
  let sum = 0;
  for (let o = b.start; o < end; o += bytes[o]! << 2)
    sum += view.getUint32(o + T.instrumentId, true);
  checksum = (checksum + sum) % 1e9;
};
const tradeVisitor = (c: RecordCursor): void => {
  if (c.rtype !== RType.MBP_0) return;
  const v = c.view;
  const o = c.offset;
  checksum +=
    v.getUint32(o + T.instrumentId, true) +
    readPriceNano(v, o + T.price) +
    v.getUint32(o + T.size, true) +
    readTimestampMs(v, o + T.tsRecv);
};

function decodeBatches(bytes: Uint8Array, onBatch: (b: RecordBatch) => void): number {
  let n = 0;
  const dec = new DbnDecoder();
  const count = (b: RecordBatch) => {
    n += b.count;
    onBatch(b);
  };
  for (let p = 0; p < bytes.length; p += CHUNK)
    dec.writeBatches(bytes.subarray(p, p + CHUNK), count);
  dec.finishBatches(count);
  return n;
}

function decodeVisitor(bytes: Uint8Array): number {
  let n = 0;
  const dec = new DbnDecoder();
  const visit = (c: RecordCursor) => {
    n++;
    tradeVisitor(c);
  };
  for (let p = 0; p < bytes.length; p += CHUNK) dec.write(bytes.subarray(p, p + CHUNK), visit);
  dec.finish(visit);
  return n;
}

function decodeObjects(bytes: Uint8Array): number {
  const dec = new DbnDecoder();
  let n = 0;
  for (let p = 0; p < bytes.length; p += CHUNK) n += dec.push(bytes.subarray(p, p + CHUNK)).length;
  return n + dec.end().length;
}

function best(label: string, fn: () => number): { n: number; seconds: number } {
  let bestS = Number.POSITIVE_INFINITY;
  let n = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    n = fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    bestS = Math.min(bestS, s);
    report(
      'progress',
      { phase: label, run: r + 1, records: n, seconds: s },
      `  ${label} run ${r + 1}: ${s.toFixed(3)} s`,
    );
  }
  return { n, seconds: bestS };
}

const fmt = (x: number) => `${(x / 1e6).toFixed(1)}M`;

report('progress', { phase: 'generate', records: RECORDS }, `generating ${RECORDS} trades...`);
const stream = buildStream(RECORDS);
const start = stream.length - RECORDS * T.structSize;
const mb = stream.length / 1e6;

const ceil = best('ceiling', () => ceiling(stream, start));
const same = best('decoder-batch-same-work', () => decodeBatches(stream, sameWorkBatch));
const dec = best('decoder-batch-trades', () => decodeBatches(stream, tradeBatch));
const vis = best('decoder-visitor-trades', () => decodeVisitor(stream));
for (const r of [ceil, same, dec, vis])
  if (r.n !== RECORDS) throw new Error('record count mismatch');
const ceilRate = ceil.n / ceil.seconds;
const sameRate = same.n / same.seconds;
const decRate = dec.n / dec.seconds;
const visRate = vis.n / vis.seconds;
const ratio = sameRate / ceilRate;

const objSlice = stream.subarray(0, start + Math.min(RECORDS, 2_000_000) * T.structSize);
const obj = best('decode-objects (2M)', () => decodeObjects(objSlice));
const objRate = obj.n / obj.seconds;

let zst: Record<string, number> | undefined;
const zSlice = stream.subarray(0, start + Math.min(RECORDS, 4_000_000) * T.structSize);
const z = spawnSync('zstd', ['-3', '-q', '-c'], { input: zSlice, maxBuffer: 1 << 30 });
if (z.status === 0) {
  const compressed = new Uint8Array(z.stdout);
  const zr = best('decode-zstd (4M)', () => decodeBatches(compressed, tradeBatch));
  zst = {
    records: zr.n,
    compressedMBps: compressed.length / 1e6 / zr.seconds,
    decompressedMBps: zSlice.length / 1e6 / zr.seconds,
    recordsPerSecond: zr.n / zr.seconds,
  };
} else {
  report(
    'progress',
    { phase: 'decode-zstd', skipped: 'zstd CLI not available' },
    '  zstd CLI not found: .dbn.zst path skipped',
  );
}

const summary = {
  records: RECORDS,
  bufferMB: Math.round(mb),
  ceilingRecordsPerSecond: Math.round(ceilRate),
  decoderSameWorkRecordsPerSecond: Math.round(sameRate),
  ratio: Number(ratio.toFixed(3)),
  decoderTradesRecordsPerSecond: Math.round(decRate),
  decoderTradesMBps: Math.round(mb / dec.seconds),
  visitorTradesRecordsPerSecond: Math.round(visRate),
  objectRecordsPerSecond: Math.round(objRate),
  zstd: zst && Object.fromEntries(Object.entries(zst).map(([k, v]) => [k, Math.round(v)])),
  goals: { recordsPerSecond: 30_000_000, ratio: 0.4 },
  met: { recordsPerSecond: decRate >= 30_000_000, ratio: ratio >= 0.4 },
  checksum,
};
if (tty) {
  console.log(
    `\n${RECORDS} trades, ${mb.toFixed(0)} MB in memory, ${CHUNK >> 20} MB chunks (best of ${RUNS})`,
  );
  console.log(`  ceiling: plain loop, length byte + one u32   ${fmt(ceilRate)} rec/s`);
  console.log(
    `  decoder batches, same work as the ceiling    ${fmt(sameRate)} rec/s  ratio ${ratio.toFixed(2)} (goal >= 0.40)`,
  );
  console.log(
    `  decoder batches, trade fields read           ${fmt(decRate)} rec/s  ${summary.decoderTradesMBps} MB/s (goal >= 30M)`,
  );
  console.log(`  decoder per-record visitor, trade fields     ${fmt(visRate)} rec/s`);
  console.log(`  decoder objects (2M records)                 ${fmt(objRate)} rec/s`);
  if (zst) {
    console.log(
      `  .dbn.zst (fzstd) + batches, 4M records       ${zst.compressedMBps!.toFixed(1)} MB/s compressed, ${zst.decompressedMBps!.toFixed(0)} MB/s decompressed, ${fmt(zst.recordsPerSecond!)} rec/s`,
    );
  }
  console.log(
    `  goals: >= 30M rec/s ${summary.met.recordsPerSecond ? 'met' : 'NOT met'}, ratio >= 0.4 ${summary.met.ratio ? 'met' : 'NOT met'}`,
  );
} else {
  console.log(JSON.stringify({ bench: 'dbn', event: 'result', ...summary }));
}
