import { DbnDecoder, type EncodableRecord, encodeDbn, trade } from '@timed/dbn';
import { mulberry32 } from '@timed/dbn/prng';
import { describe, expect, it } from 'vitest';
import {
  normDecimal,
  referenceBars,
  referenceVwaps,
  sortBars,
  vwapMismatches,
} from '../../../test/helpers/reference-bars.js';
import { heartbeat, UNDEF_PRICE } from '../../../test/helpers/session.js';
import { BarAggregator } from '../bar-aggregator.js';
import type { ClosedBars } from '../closed-bars.js';
import { Row } from './layout.js';
import { SCAN_PIECE, TradeScanner } from './trade-scanner.js';

// The trades batch path (handleBatch -> the WebAssembly scan) must give exactly what the
// per-record path in JavaScript (handleRecord, for decoded objects, rows in plain arrays) gives:
// the same emits in the same order, the same bars, the same counters, whatever the chunking.
// Both implement layout.ts's OHLCV rule; these tests pin them to each other.

const T0 = 1_761_321_600_000_000_000n; // 2025-10-24T16:00:00Z
const MIN = 60_000_000_000n;
const UNDEF_TS = 2n ** 64n - 1n;
const BIG_ID = 5_000_001; // above the scan's direct-index range

const REMAP_MINUTE = Number(T0 / MIN) + 20;

/** Symbols: 900 has none, 901 one price_bars refuses, 33 changes (announced by mappings). */
function symbolOf(id: number, minute: number): string | undefined {
  if (id === 900) return undefined;
  if (id === 901) return 'not valid';
  if (id === 33 && minute >= REMAP_MINUTE) return 'REMAPPED';
  return `S${id}`;
}

function mapping(id: number, ts: bigint): EncodableRecord {
  return {
    kind: 'SymbolMappingMsg',
    rtype: 0x16,
    publisher_id: 0,
    instrument_id: id,
    ts_event: ts,
    stype_in_symbol: 'REMAPPED',
    stype_out_symbol: String(id),
    start_ts: ts,
    end_ts: ts + MIN * 1440n,
  };
}

/** A messy session: out-of-order and equal ts_recv, late records, odd ids, gaps, heartbeats. */
function messySession(seed: number, count: number): EncodableRecord[] {
  const r = mulberry32(seed);
  const ids = [...Array.from({ length: 40 }, (_, i) => 10 + i), 900, 901, BIG_ID];
  const records: EncodableRecord[] = [];
  let ts = T0 + 123n;
  let earlier = ts;
  for (let n = 0; n < count; n++) {
    const u = r();
    if (u < 0.002) {
      ts += 70_000_000_000n; // a quiet gap longer than a minute
      records.push(heartbeat(ts - 5n));
    } else if (u < 0.004) {
      records.push(mapping(33, ts));
    } else if (u < 0.006) {
      records.push(heartbeat(ts + 1n));
    }
    if (n === count >> 1) {
      // 1,000 instruments in a minute, 1,000 others in the next, all 2,000 in the one after:
      // slots and the touched list outgrow their start size (1,024) on both paths.
      for (const [from, to] of [
        [2_000, 3_000],
        [3_000, 4_000],
        [2_000, 4_000],
      ] as const) {
        ts += MIN;
        for (let id = from; id < to; id++) {
          const price = BigInt(5_000_000_000 + id);
          records.push(trade({ instrument_id: id, ts_event: ts, price, size: id }));
        }
      }
    }
    if (r() < 0.9) ts += BigInt(Math.floor(r() * 30_000_000)); // else the same ts_recv again
    let recv = ts;
    const v = r();
    if (v < 0.01)
      recv = ts - BigInt(Math.floor(r() * 90e9)); // late, maybe a closed minute
    else if (v < 0.03)
      recv = ts - BigInt(Math.floor(r() * 5e8)); // out of order
    else if (v < 0.035) recv = UNDEF_TS;
    else if (v < 0.06) recv = earlier; // a tie with an earlier trade
    if (r() < 0.3) earlier = recv;
    const id = ids[Math.floor(r() * r() * ids.length)]!;
    // Few distinct prices, some 1 unit (1e-9) apart: ties and new extremes are common.
    const step = id % 3 === 0 ? 1 : 10_000_000;
    const price = r() < 0.01 ? UNDEF_PRICE : BigInt(100_000_000_000 + Math.floor(r() * 8) * step);
    const size = 1 + (n % 700);
    records.push(trade({ instrument_id: id, ts_event: ts, ts_recv: recv, price, size }));
  }
  return records;
}

interface Emit {
  minute: number;
  columns: unknown[];
}

function emitted(closed: ClosedBars): Emit {
  const bars = closed.toBarInputs();
  const column = <T>(get: (k: number) => T): T[] =>
    Array.from({ length: closed.length }, (_, k) => get(k));
  return {
    minute: closed.minute,
    columns: [
      column((k) => bars[k]!.symbol),
      column((k) => bars[k]!.open),
      column((k) => bars[k]!.high),
      column((k) => bars[k]!.low),
      column((k) => bars[k]!.close),
      column((k) => bars[k]!.volume),
      column((k) => bars[k]!.trade_count),
      column((k) => bars[k]!.vwap),
    ],
  };
}

type Feed = (agg: BarAggregator, dec: DbnDecoder, bytes: Uint8Array) => void;

const batches =
  (chunk: number): Feed =>
  (agg, dec, bytes) => {
    const visit = (b: Parameters<BarAggregator['handleBatch']>[0]) => agg.handleBatch(b);
    for (let i = 0; i < bytes.length; i += chunk)
      dec.writeBatches(bytes.subarray(i, i + chunk), visit);
  };
const objects: Feed = (agg, dec, bytes) => {
  for (const rec of dec.push(bytes)) agg.handleRecord(rec);
};

const METADATA = { dataset: 'EQUS.MINI', schema: 'trades' };

/**
 * Feeds the session, resyncs to `resume` and replays the records from `replayFrom`; batches go
 * through the WebAssembly scan, decoded objects through the JavaScript path over plain arrays.
 */
function run(records: EncodableRecord[], feed: Feed, resume: number, replayFrom: number) {
  const emits: Emit[] = [];
  const agg = new BarAggregator({
    source: 'trades',
    scan: feed !== objects,
    symbolOf,
    onBars: (closed) => emits.push(emitted(closed)),
  });
  feed(agg, new DbnDecoder(), encodeDbn(METADATA, records));
  const clock = agg.streamClockMs;
  agg.resync(resume);
  feed(agg, new DbnDecoder(), encodeDbn(METADATA, records.slice(replayFrom)));
  const clocks = [clock, agg.streamClockMs, agg.openMinute];
  agg.closeAll();
  return { emits, clocks, stats: { ...agg.stats } };
}

/** The session's replay point (70% in) and the minute after its first trade there. */
function replayPoint(records: EncodableRecord[]): { resume: number; replayFrom: number } {
  const tsOf = (rec: EncodableRecord) => (rec.kind === 'TradeMsg' ? rec.ts_recv : 0n);
  const replayFrom = Math.floor(records.length * 0.7);
  const resume =
    Number(tsOf(records.slice(replayFrom).find((x) => x.kind === 'TradeMsg')!) / MIN) + 1;
  return { resume, replayFrom };
}

describe('trades batch path (the WebAssembly scan)', () => {
  it('gives exactly the emits and counters of the per-record path on a messy session', () => {
    const records = messySession(21, 40_000);
    const { resume, replayFrom } = replayPoint(records);
    const expected = run(records, objects, resume, replayFrom);
    expect(expected.emits.length).toBeGreaterThan(50);
    const s = expected.stats;
    for (const counter of [s.late, s.replayOverlap, s.unmapped, s.undefinedPrice]) {
      expect(counter).toBeGreaterThan(0);
    }
    // Chunk sizes that split records and leave batches unaligned (the copy path) or aligned.
    for (const chunk of [1 << 20, 4096, 997, 50]) {
      expect(run(records, batches(chunk), resume, replayFrom)).toEqual(expected);
    }
  });

  it('gives exactly what the JavaScript path gives on many random sessions (same rule)', () => {
    const seeds = mulberry32(2026);
    for (let k = 0; k < 40; k++) {
      const seed = Math.floor(seeds() * 2 ** 31);
      const records = messySession(seed, 1_500 + Math.floor(seeds() * 3_000));
      const { resume, replayFrom } = replayPoint(records);
      const chunk = 48 + Math.floor(seeds() * 20_000);
      const expected = run(records, objects, resume, replayFrom);
      const got = run(records, batches(chunk), resume, replayFrom);
      expect({ seed, chunk, ...got }).toEqual({ seed, chunk, ...expected });
    }
  });

  it('refuses to read closed bars after onBars returned (they are read in place)', () => {
    const kept: ClosedBars[] = [];
    const agg = new BarAggregator({
      source: 'trades',
      scan: true,
      symbolOf,
      onBars: (c) => kept.push(c),
    });
    batches(4096)(agg, new DbnDecoder(), encodeDbn(METADATA, messySession(3, 2_000)));
    agg.closeAll();
    expect(kept.length).toBeGreaterThan(3);
    const first = kept[0]!;
    expect(first.length).toBeGreaterThan(0);
    const stale = new RegExp(`minute ${first.minute} read after onBars returned`);
    expect(() => first.toBarInputs()).toThrow(stale);
  });

  it('equals the independent rebuild of a plain session through the batch path', () => {
    const records = messySession(5, 20_000).filter(
      (rec) =>
        rec.kind === 'TradeMsg' &&
        rec.ts_recv !== UNDEF_TS &&
        rec.instrument_id !== 901 &&
        rec.instrument_id !== 33,
    );
    // Sorted by ts_recv (stable): no late records, so every trade lands in a bar.
    const sorted = records
      .map((rec, i) => ({ rec, i }))
      .sort((a, b) => {
        const x = a.rec.kind === 'TradeMsg' ? a.rec.ts_recv : 0n;
        const y = b.rec.kind === 'TradeMsg' ? b.rec.ts_recv : 0n;
        return x < y ? -1 : x > y ? 1 : a.i - b.i;
      })
      .map((x) => x.rec);
    const bars: ReturnType<ClosedBars['toBarInputs']> = [];
    const agg = new BarAggregator({
      source: 'trades',
      scan: true,
      symbolOf,
      onBars: (closed) => bars.push(...closed.toBarInputs()),
    });
    batches(4096)(agg, new DbnDecoder(), encodeDbn(METADATA, sorted));
    agg.closeAll();
    const got = sortBars(
      bars.map((b) => ({
        symbol: b.symbol,
        minute: b.timestamp.toISOString(),
        open: normDecimal(b.open),
        high: normDecimal(b.high),
        low: normDecimal(b.low),
        close: normDecimal(b.close),
        volume: String(b.volume),
        trade_count: b.trade_count,
        data_source: b.data_source ?? '',
      })),
    );
    expect(got).toEqual(referenceBars(sorted, (id) => symbolOf(id, 0)));
    expect(got.length).toBeGreaterThan(200);
    expect(
      vwapMismatches(
        bars,
        referenceVwaps(sorted, (id) => symbolOf(id, 0)),
      ),
    ).toEqual([]);
  });

  it('builds VWAP within 1e-6 of the exact quotient at extreme prices and sizes, on both paths', () => {
    const r = mulberry32(99);
    // 1e-9 $ up to 2^62 units (4.6e9 $), sizes 1 up to u32 max, thousands of trades per bar.
    const prices = [1n, 10_000n, 100_000_000_000n, 9_000_000_000_000_000n, 2n ** 62n];
    const sizes = [1, 100, 4_294_967_295];
    const records: EncodableRecord[] = [];
    for (let n = 0; n < 30_000; n++) {
      const id = 10 + (n % 6);
      const price =
        id === 15 ? prices[Math.floor(r() * prices.length)]! : prices[id - 10]! + BigInt(n % 977);
      const size = sizes[Math.floor(r() * sizes.length)]!;
      const ts = T0 + BigInt(n) * 20_000_000n;
      records.push(trade({ instrument_id: id, ts_event: ts, price, size }));
    }
    const reference = referenceVwaps(records, (id) => symbolOf(id, 0));
    for (const scan of [true, false]) {
      const bars: ReturnType<ClosedBars['toBarInputs']> = [];
      const agg = new BarAggregator({
        source: 'trades',
        scan,
        symbolOf,
        onBars: (closed) => bars.push(...closed.toBarInputs()),
      });
      if (scan) batches(4096)(agg, new DbnDecoder(), encodeDbn(METADATA, records));
      else objects(agg, new DbnDecoder(), encodeDbn(METADATA, records));
      agg.closeAll();
      expect(bars.length).toBe(reference.size);
      expect({ scan, wrong: vwapMismatches(bars, reference) }).toEqual({ scan, wrong: [] });
    }
  });

  it('re-emits a snapshotted minute only when batches changed it', () => {
    let now = Number(T0 / 1_000_000n);
    const emits: Array<{ minute: number; volume: Array<number | bigint> }> = [];
    const agg = new BarAggregator({
      source: 'trades',
      scan: true,
      symbolOf,
      onBars: (closed) =>
        emits.push({
          minute: closed.minute,
          volume: closed.toBarInputs().map((b) => b.volume),
        }),
      now: () => now,
    });
    const send = (recs: EncodableRecord[]) =>
      batches(1 << 16)(agg, new DbnDecoder(), encodeDbn(METADATA, recs));
    const t = (ts: bigint, size: number) =>
      trade({ instrument_id: 10, ts_event: ts, price: 10n ** 11n, size });
    send([t(T0 + 1n, 1)]);
    agg.tick(2_000);
    now += 63_000;
    agg.tick(2_000); // snapshot of the open minute
    send([t(T0 + 2n, 2), t(T0 + MIN, 4)]); // amends it, then closes it
    send([t(T0 + MIN + 1n, 8)]);
    now += 60_000;
    agg.tick(2_000); // snapshot of the next minute
    send([heartbeat(T0 + 2n * MIN)]); // closes it unchanged
    const m0 = Number(T0 / MIN);
    expect(emits).toEqual([
      { minute: m0, volume: [1] },
      { minute: m0, volume: [3] },
      { minute: m0 + 1, volume: [12] },
    ]);
  });
});

describe('TradeScanner (the WebAssembly scan)', () => {
  const minute = Number(T0 / MIN);
  const day = Math.floor(minute / 1440);
  const body = (records: EncodableRecord[]) => {
    const bytes = encodeDbn(METADATA, records);
    const start = 8 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    return bytes.subarray(start);
  };
  /** A scanner with the minute of T0 open; id 10 has a symbol for the day, 11 has none. */
  const setUp = (touchedCap = 4) => {
    const sc = new TradeScanner(16, touchedCap);
    const { header, slotById, symDay, symVersion } = sc.st;
    header.minuteStartNs = Number(T0);
    header.day = day;
    slotById[10] = 1;
    slotById[11] = 2;
    symDay[1] = day;
    symVersion[1] = 0;
    return sc;
  };
  const t = (id: number, offNs: bigint, price: bigint, size: number) =>
    trade({ instrument_id: id, ts_event: T0 + offNs, price, size });
  const scanAll = (sc: TradeScanner, records: EncodableRecord[], cut = 0) => {
    const bytes = body(records);
    const at = sc.copyIn(bytes, 0, bytes.length);
    const stop = sc.scan(at, at + bytes.length - cut);
    return { stop: stop - at, size: bytes.length };
  };
  const bar = (sc: TradeScanner, slot: number) =>
    Array.from(sc.st.row.subarray(slot * Row.Size, (slot + 1) * Row.Size));

  it('aggregates the open minute’s trades into rows, counts undefined prices and mappings', () => {
    const sc = setUp();
    const stamp = sc.st.header.stampBase;
    const { stop, size } = scanAll(sc, [
      t(10, 5n, 5_000_000_000n, 1),
      t(10, 9n, 7_000_000_000n, 2),
      t(10, 7n, 3_000_000_000n, 4), // out of order: a low, not the close
      t(10, 3n, 6_000_000_000n, 8), // earliest: the open
      t(10, 11n, UNDEF_PRICE, 16),
      mapping(10, T0 + 12n),
    ]);
    expect(stop).toBe(size);
    const priceVolume = 5e9 * 1 + 7e9 * 2 + 3e9 * 4 + 6e9 * 8;
    expect(bar(sc, 1)).toEqual([6e9, 7e9, 3e9, 7e9, stamp + 3, stamp + 9, 15, 4, priceVolume]);
    const { header, touched } = sc.st;
    expect([header.records, header.aggregated, header.undefinedPrices]).toEqual([5, 4, 1]);
    expect([header.touchedCount, touched[0], header.mappingVersion]).toEqual([1, 1, 1]);
    expect(header.streamOffsetNs).toBe(11);
    header.clearCounts();
    expect([header.records, header.aggregated, header.undefinedPrices]).toEqual([0, 0, 0]);
  });

  it('stops at each record it leaves to the general path, after aggregating what precedes it', () => {
    const before = [t(10, 1n, 5_000_000_000n, 1), t(10, 2n, 6_000_000_000n, 1)];
    const cases: Array<[string, EncodableRecord, number?]> = [
      ['a system message', heartbeat(T0 + 3n)],
      ['a trade of the next minute', t(10, MIN, 5_000_000_000n, 1)],
      ['a trade of the closed minute', t(10, -1n, 5_000_000_000n, 1)],
      ['an instrument without a symbol for the day', t(11, 3n, 5_000_000_000n, 1)],
      ['an instrument not seen yet', t(12, 3n, 5_000_000_000n, 1)],
      ['an id above the direct range', t(BIG_ID, 3n, 5_000_000_000n, 1)],
      ['a record cut by the end of the input', t(10, 3n, 5_000_000_000n, 1), 8],
    ];
    for (const [what, record, cut] of cases) {
      const sc = setUp();
      const after = cut ? [] : [t(10, 4n, 9_000_000_000n, 1)];
      const { stop } = scanAll(sc, [...before, record, ...after], cut);
      expect({ what, stop }).toEqual({ what, stop: 96 });
      expect({ what, count: sc.st.header.aggregated }).toEqual({ what, count: 2 });
    }
  });

  it('stops at a new bar when the touched list is full, or a mapping made symbols stale', () => {
    const full = setUp(1);
    full.st.symDay[2] = day;
    full.st.symVersion[2] = 0;
    expect(scanAll(full, [t(10, 1n, 1n, 1), t(11, 2n, 1n, 1)]).stop).toBe(48);
    const stale = setUp();
    // Id 10's bar is open: the mapping does not stop it; a new bar needs its symbol again.
    const after = scanAll(stale, [t(10, 1n, 1n, 1), mapping(11, T0 + 2n), t(10, 3n, 1n, 1)]);
    expect(after.stop).toBe(after.size);
    stale.st.symDay[2] = day;
    stale.st.symVersion[2] = 0;
    expect(scanAll(stale, [t(11, 4n, 1n, 1)]).stop).toBe(0);
  });

  it('takes input a piece at a time (SCAN_PIECE bytes at most)', () => {
    const sc = setUp();
    const piece = new Uint8Array(SCAN_PIECE + 4);
    expect(sc.copyIn(piece, 4, SCAN_PIECE + 4)).toBeGreaterThan(0);
    expect(() => sc.copyIn(piece, 0, SCAN_PIECE + 4)).toThrow(/at most 32768 bytes/);
  });

  it('keeps its views and contents when the memory grows', () => {
    const sc = setUp();
    scanAll(sc, [t(10, 1n, 5_000_000_000n, 3)]);
    const row = bar(sc, 1);
    const oldRows = sc.st.row;
    sc.grow(1 << 16);
    sc.growTouched(1 << 16);
    expect(oldRows.length).toBe(0); // detached: the memory grew and the views were renewed
    expect(sc.slots).toBe(1 << 16);
    expect(bar(sc, 1)).toEqual(row);
    expect([sc.st.symDay[1], sc.st.symDay[2], sc.st.symDay[(1 << 16) - 1]]).toEqual([day, -1, -1]);
    expect(sc.st.touched[0]).toBe(1);
    // The scan goes on with the moved arrays.
    scanAll(sc, [t(10, 2n, 6_000_000_000n, 4)]);
    expect(bar(sc, 1).slice(Row.High, Row.Close + 1)).toEqual([6e9, 5e9, 6e9]);
    expect(sc.st.row[Row.Size + Row.Volume]).toBe(7);
  });
});

describe('TradeScanner without WebAssembly', () => {
  it('refuses to start with an error that says what is missing', () => {
    const g = globalThis as { WebAssembly?: unknown };
    const saved = g.WebAssembly;
    delete g.WebAssembly;
    try {
      expect(() => new TradeScanner(16, 16)).toThrow(/needs WebAssembly.*--jitless/);
      expect(
        () =>
          new BarAggregator({
            source: 'trades',
            scan: true,
            symbolOf: () => 'A',
            onBars: () => {},
          }),
      ).toThrow(/needs WebAssembly/);
    } finally {
      g.WebAssembly = saved;
    }
    expect(new TradeScanner(16, 16).slots).toBe(16);
  });
});
