import { DbnDecoder, type EncodableRecord, encodeDbn, trade } from '@timed/dbn';
import { type BarInput, barProblem } from '@timed/schema';
import { describe, expect, it } from 'vitest';
import {
  normDecimal,
  type PlainBar,
  referenceBars,
  referenceVwaps,
  sortBars,
  vwapMismatches,
} from '../../test/helpers/reference-bars.js';
import { heartbeat, quote, tradesSession, UNDEF_PRICE } from '../../test/helpers/session.js';
import { withoutWebAssembly } from '../../test/helpers/webassembly.js';
import { BarAggregator, type BarSource } from './bar-aggregator.js';

const T0 = 1_761_321_600_000_000_000n; // 2025-10-24T16:00:00Z, a whole minute
const MIN = 60_000_000_000n;

function plain(b: BarInput): PlainBar {
  return {
    symbol: b.symbol,
    minute: b.timestamp.toISOString(),
    open: normDecimal(b.open),
    high: normDecimal(b.high),
    low: normDecimal(b.low),
    close: normDecimal(b.close),
    volume: String(b.volume),
    trade_count: b.trade_count,
    data_source: b.data_source ?? '',
  };
}

/** Runs DBN bytes through the batch decoder into an aggregator; returns the emitted bars. */
function run(
  bytes: Uint8Array,
  source: BarSource = 'trades',
  chunk = 997,
  scan = true,
): { bars: BarInput[]; agg: BarAggregator; emits: number[] } {
  const dec = new DbnDecoder();
  const bars: BarInput[] = [];
  const emits: number[] = [];
  const agg = new BarAggregator({
    source,
    scan,
    symbolOf: (id, minute) => dec.symbols.get(id, BigInt(minute) * MIN),
    onBars: (closed) => {
      bars.push(...closed.toBarInputs());
      emits.push(closed.minute);
    },
  });
  const onBatch = (b: Parameters<BarAggregator['handleBatch']>[0]) => agg.handleBatch(b);
  for (let i = 0; i < bytes.length; i += chunk) {
    dec.writeBatches(bytes.subarray(i, i + chunk), onBatch);
  }
  dec.finishBatches(onBatch);
  agg.closeAll();
  return { bars, agg, emits };
}

const md = (symbols: Record<number, string>, schema = 'trades') => ({
  dataset: 'EQUS.MINI',
  schema,
  stype_in: 'raw_symbol',
  stype_out: 'instrument_id',
  mappings: Object.entries(symbols).map(([id, s]) => ({
    raw_symbol: s,
    intervals: [{ start_date: '2025-10-24', end_date: '2025-10-25', symbol: id }],
  })),
});

describe('BarAggregator (trades)', () => {
  it('equals a straightforward rebuild of a generated session', () => {
    const s = tradesSession({ seed: 7, symbols: 40, count: 30_000, startNs: T0 + 1234n });
    const { bars, agg } = run(s.bytes);
    const expected = referenceBars(s.records, (id) => s.symbols.get(id));
    expect(sortBars(bars.map(plain))).toEqual(expected);
    expect(expected.length).toBeGreaterThan(300);
    expect(
      vwapMismatches(
        bars,
        referenceVwaps(s.records, (id) => s.symbols.get(id)),
      ),
    ).toEqual([]);
    const undefinedPrices = s.records.filter(
      (r) => r.kind === 'TradeMsg' && r.price === UNDEF_PRICE,
    ).length;
    expect(agg.stats.undefinedPrice).toBe(undefinedPrices);
    expect(undefinedPrices).toBeGreaterThan(0);
  });

  it('gives the same bars through the object path (live client) as through the batch path', () => {
    const s = tradesSession({ seed: 11, symbols: 10, count: 5_000, startNs: T0 });
    const dec = new DbnDecoder();
    const bars: BarInput[] = [];
    const agg = new BarAggregator({
      source: 'trades',
      symbolOf: (id) => dec.symbols.get(id),
      onBars: (closed) => bars.push(...closed.toBarInputs()),
    });
    for (const r of [...dec.push(s.bytes), ...dec.end()]) agg.handleRecord(r);
    agg.closeAll();
    expect(sortBars(bars.map(plain))).toEqual(run(s.bytes).bars.map(plain).sort(byKey));
  });

  it('equals the rebuild through the batch path (replay, bench) in 1000-byte pieces', () => {
    const s = tradesSession({ seed: 12, symbols: 25, count: 8_000, startNs: T0 + 77n });
    const dec = new DbnDecoder();
    const bars: BarInput[] = [];
    const agg = new BarAggregator({
      source: 'trades',
      symbolOf: (id) => dec.symbols.get(id),
      onBars: (closed) => bars.push(...closed.toBarInputs()),
    });
    const onBatch = (b: Parameters<BarAggregator['handleBatch']>[0]) => agg.handleBatch(b);
    for (let i = 0; i < s.bytes.length; i += 1000)
      dec.writeBatches(s.bytes.subarray(i, i + 1000), onBatch);
    dec.finishBatches(onBatch);
    agg.closeAll();
    expect(sortBars(bars.map(plain))).toEqual(referenceBars(s.records, (id) => s.symbols.get(id)));
  });

  it('keeps minutes apart across the stamp wrap (every 65,536 minutes the rows are cleared)', () => {
    // Instrument 1 trades every minute; 2 only now and then and around the wrap (minute 65,535),
    // so its rows carry stamps from long before and from just before the wrap.
    const records: EncodableRecord[] = [];
    for (let m = 0n; m < 65_600n; m++) {
      const ts = T0 + m * MIN + 7n;
      records.push(
        trade({ instrument_id: 1, ts_event: ts, price: (100n + (m % 7n)) * 10n ** 9n, size: 1 }),
      );
      if (m % 5_000n === 0n || (m >= 65_530n && m % 2n === 0n))
        records.push(
          trade({ instrument_id: 2, ts_event: ts + 1n, price: (m + 1n) * 10n ** 7n, size: 3 }),
        );
    }
    const symbolOf = (id: number) => (id === 1 ? 'AAA' : 'BBB');
    for (const path of ['batch', 'objects'] as const) {
      const dec = new DbnDecoder();
      const bars: BarInput[] = [];
      const agg = new BarAggregator({
        source: 'trades',
        symbolOf,
        onBars: (closed) => bars.push(...closed.toBarInputs()),
      });
      const bytes = encodeDbn(md({}), records);
      if (path === 'batch') {
        dec.writeBatches(bytes, (b) => agg.handleBatch(b));
        dec.finishBatches((b) => agg.handleBatch(b));
      } else {
        for (const r of [...dec.push(bytes), ...dec.end()]) agg.handleRecord(r);
      }
      agg.closeAll();
      expect(bars.length).toBe(65_600 + 14 + 35);
      expect(sortBars(bars.map(plain))).toEqual(referenceBars(records, symbolOf));
    }
  });

  it('buckets by ts_recv, not ts_event', () => {
    const recs = [
      trade({
        instrument_id: 1,
        ts_event: T0 - 9n,
        ts_recv: T0 - 1n,
        price: 2n * 10n ** 9n,
        size: 4,
      }),
      trade({ instrument_id: 1, ts_event: T0 - 5n, ts_recv: T0 + 10n, price: 10n ** 9n, size: 3 }),
    ];
    const { bars } = run(encodeDbn(md({ 1: 'AAPL' }), recs));
    expect(bars.map(plain).sort(byKey)).toEqual([
      expect.objectContaining({ minute: '2025-10-24T15:59:00.000Z', open: '2', volume: '4' }),
      expect.objectContaining({ minute: '2025-10-24T16:00:00.000Z', open: '1', volume: '3' }),
    ]);
  });

  it('keeps exact decimal prices (1e-9) and orders open/close by ts_recv', () => {
    const recs = [
      trade({ instrument_id: 1, ts_event: T0, ts_recv: T0 + 5n, price: 123_456_789_012n, size: 1 }),
      trade({ instrument_id: 1, ts_event: T0, ts_recv: T0 + 5n, price: 123_000_000_001n, size: 2 }),
      trade({ instrument_id: 1, ts_event: T0, ts_recv: T0 + 9n, price: 122_999_999_999n, size: 3 }),
    ];
    const [bar] = run(encodeDbn(md({ 1: 'BRK.B' }), recs)).bars.map(plain);
    expect(bar).toEqual({
      symbol: 'BRK.B',
      minute: '2025-10-24T16:00:00.000Z',
      open: '123.456789012',
      high: '123.456789012',
      low: '122.999999999',
      close: '122.999999999',
      volume: '6',
      trade_count: 3,
      data_source: 'trades',
    });
  });

  it('closes a minute only when the stream clock passes its end (record or heartbeat)', () => {
    const emitted: number[] = [];
    const agg = new BarAggregator({
      source: 'trades',
      symbolOf: () => 'AAPL',
      onBars: (closed) => {
        emitted.push(closed.minute);
      },
    });
    const feed = (recs: EncodableRecord[]) => {
      const dec = new DbnDecoder();
      for (const r of dec.push(encodeDbn(md({ 1: 'AAPL' }), recs))) agg.handleRecord(r);
    };
    const m0 = Number(T0 / MIN);
    feed([trade({ instrument_id: 1, ts_event: T0, ts_recv: T0 + 1n, price: 10n ** 9n, size: 1 })]);
    feed([heartbeat(T0 + MIN - 1n)]);
    expect(emitted).toEqual([]);
    feed([heartbeat(T0 + MIN)]);
    expect(emitted).toEqual([m0]);
    expect(agg.resumeMinute).toBe(m0 + 1);
  });

  it('skips unmapped instruments and counts them', () => {
    const recs = [
      trade({ instrument_id: 1, ts_event: T0, ts_recv: T0, price: 10n ** 9n, size: 1 }),
      trade({ instrument_id: 2, ts_event: T0, ts_recv: T0, price: 10n ** 9n, size: 1 }),
    ];
    const { bars, agg } = run(encodeDbn(md({ 1: 'AAPL' }), recs));
    expect(bars.map((b) => b.symbol)).toEqual(['AAPL']);
    expect(agg.stats.unmapped).toBe(1);
  });
});

describe('BarAggregator live behaviour', () => {
  function live() {
    let now = 0;
    const emits: Array<{ minute: number; bars: BarInput[] }> = [];
    const agg = new BarAggregator({
      source: 'trades',
      symbolOf: (id) => `S${id}`,
      onBars: (closed) => {
        emits.push({ minute: closed.minute, bars: closed.toBarInputs() });
      },
      now: () => now,
    });
    const send = (recs: EncodableRecord[]) => {
      const dec = new DbnDecoder();
      for (const r of dec.push(encodeDbn(md({}), recs))) agg.handleRecord(r);
    };
    return { agg, emits, send, setNow: (ms: number) => (now = ms) };
  }
  const t = (id: number, ts: bigint, px: number, size = 1) =>
    trade({ instrument_id: id, ts_event: ts, ts_recv: ts, price: BigInt(px) * 10n ** 9n, size });

  it('snapshots the open minute after wall time passes its end + grace, then re-emits it amended', () => {
    const { agg, emits, send, setNow } = live();
    const t0ms = Number(T0 / 1_000_000n);
    setNow(t0ms + 10_000);
    send([t(1, T0 + 10_000_000_000n, 5)]);
    agg.tick(2_000); // ticks run every 500 ms in the daemon
    setNow(t0ms + 61_000);
    agg.tick(2_000);
    expect(emits).toEqual([]);
    setNow(t0ms + 62_500);
    agg.tick(2_000);
    expect(emits.map((e) => e.bars.map(plain))).toEqual([
      [expect.objectContaining({ volume: '1' })],
    ]);
    // A slow record of that minute arrives afterwards: the minute was still open.
    send([t(1, T0 + 59_000_000_000n, 6, 2), t(1, T0 + MIN + 1n, 7)]);
    expect(emits).toHaveLength(2);
    expect(plain(emits[1]!.bars[0]!)).toEqual(
      expect.objectContaining({ close: '6', high: '6', volume: '3', trade_count: 2 }),
    );
  });

  it('does not re-emit a snapshotted minute that did not change', () => {
    const { agg, emits, send, setNow } = live();
    const t0ms = Number(T0 / 1_000_000n);
    setNow(t0ms);
    send([t(1, T0, 5)]);
    agg.tick(2_000);
    setNow(t0ms + 70_000);
    agg.tick(2_000);
    send([heartbeat(T0 + MIN + 5n)]);
    expect(emits).toHaveLength(1);
  });

  it('resync drops the open minute and rebuilds it wholly from a replay', () => {
    const { agg, emits, send } = live();
    send([t(1, T0 + 1n, 5, 10), t(1, T0 + MIN + 1n, 6, 10), t(1, T0 + MIN + 2n, 7, 10)]);
    expect(emits.map((e) => e.minute)).toEqual([Number(T0 / MIN)]);
    // Disconnect mid-minute: replay from the start of the open minute (and a little before).
    const resume = agg.resumeMinute!;
    expect(resume).toBe(Number(T0 / MIN) + 1);
    agg.resync(resume);
    send([
      t(1, T0 + MIN - 5n, 99, 99), // before the resume point: already written
      t(1, T0 + MIN + 1n, 6, 10),
      t(1, T0 + MIN + 2n, 7, 10),
      t(1, T0 + MIN + 3n, 8, 10),
      t(1, T0 + 2n * MIN, 9, 1),
    ]);
    expect(agg.stats.replayOverlap).toBe(1);
    const m1 = emits.find((e) => e.minute === resume)!;
    expect(plain(m1.bars[0]!)).toEqual(
      expect.objectContaining({ open: '6', close: '8', volume: '30', trade_count: 3 }),
    );
  });

  it('drops records of an already closed minute and counts them as late', () => {
    const { agg, send } = live();
    send([t(1, T0 + MIN, 5), t(1, T0 + 1n, 6)]);
    expect(agg.stats.late).toBe(1);
  });
});

describe('BarAggregator VWAP at the edge of double precision', () => {
  it('keeps VWAP within [low, high] when Σ price × size passes 2^53 (the upsert refuses a VWAP outside)', () => {
    // One price, two sizes: the double sum rounds, and sum / volume lands one ulp below the price.
    const price = 7_291_295_905_469n; // $7,291.295905469
    const recs = [
      trade({ instrument_id: 1, ts_event: T0, ts_recv: T0 + 1n, price, size: 697_035 }),
      trade({ instrument_id: 1, ts_event: T0, ts_recv: T0 + 2n, price, size: 181_412 }),
    ];
    expect((Number(price) * 697_035 + Number(price) * 181_412) / 878_447).toBeLessThan(
      Number(price),
    );
    for (const scan of [true, false]) {
      const { bars } = run(encodeDbn(md({ 1: 'BRKX' }), recs), 'trades', 997, scan);
      expect(bars).toHaveLength(1);
      expect(bars[0]!.vwap).toBe(Number(bars[0]!.low));
      expect(barProblem(bars[0]!)).toBeUndefined();
    }
  });
});

describe('BarAggregator (mbp-1 rollback mode)', () => {
  it('uses the mid, skips undefined sides and spreads above 2% of mid, volume 0', () => {
    const px = (d: number) => BigInt(Math.round(d * 1e9));
    const recs = [
      quote(1, T0 + 1n, px(100), px(100.01)), // mid 100.005
      quote(1, T0 + 2n, px(100), px(103)), // spread 2.96% -> skipped
      quote(1, T0 + 3n, UNDEF_PRICE, px(100)), // undefined bid -> skipped
      quote(1, T0 + 4n, px(99), px(100.98)), // spread 1.98 / 99.99 = 1.98% -> kept
      quote(1, T0 + 5n, px(100), px(102)), // exactly 1.98%: 2 / 101 -> kept
      trade({ instrument_id: 1, ts_event: T0, ts_recv: T0 + 6n, price: px(500), size: 9 }),
    ];
    const { bars, agg } = run(encodeDbn(md({ 1: 'WGRX' }, 'mbp-1'), recs), 'mbp-1');
    expect(bars.map((b) => b.vwap)).toEqual([null]); // quotes have no sizes: no VWAP
    expect(bars.map(plain)).toEqual([
      {
        symbol: 'WGRX',
        minute: '2025-10-24T16:00:00.000Z',
        open: '100.005',
        high: '101',
        low: '99.99',
        close: '101',
        volume: '0',
        trade_count: 3,
        data_source: 'mbp-1',
      },
    ]);
    expect(agg.stats.wideSpread).toBe(1);
    expect(agg.stats.undefinedSide).toBe(1);
    expect(referenceBars(recs, () => 'WGRX', 'mbp-1').map((b) => ({ ...b, volume: '0' }))).toEqual(
      bars.map(plain),
    );
  });
});

function byKey(a: PlainBar, b: PlainBar): number {
  return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.minute < b.minute ? -1 : 1;
}

describe('BarAggregator without WebAssembly (node --jitless)', () => {
  it('builds the same bars from records and from batches; only the scan needs WebAssembly', async () => {
    const s = tradesSession({ seed: 31, symbols: 30, count: 12_000, startNs: T0 + 5n });
    const expected = referenceBars(s.records, (id) => s.symbols.get(id));
    const vwaps = referenceVwaps(s.records, (id) => s.symbols.get(id));
    const { batches, objects } = await withoutWebAssembly(() => {
      const batchBars = run(s.bytes, 'trades', 997, false).bars;
      expect(vwapMismatches(batchBars, vwaps)).toEqual([]);
      const batches = batchBars.map(plain);
      const dec = new DbnDecoder();
      const bars: BarInput[] = [];
      const agg = new BarAggregator({
        source: 'trades',
        symbolOf: (id) => dec.symbols.get(id),
        onBars: (closed) => bars.push(...closed.toBarInputs()),
      });
      for (const r of [...dec.push(s.bytes), ...dec.end()]) agg.handleRecord(r);
      agg.closeAll();
      expect(vwapMismatches(bars, vwaps)).toEqual([]);
      return { batches, objects: bars.map(plain) };
    });
    expect(sortBars(batches)).toEqual(expected);
    expect(sortBars(objects)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(100);
    await withoutWebAssembly(() => {
      expect(
        () => new BarAggregator({ source: 'trades', scan: true, symbolOf: () => 'A', onBars() {} }),
      ).toThrow(/needs WebAssembly/);
    });
  });
});
