import { describe, expect, it } from 'vitest';
import { DbnDecoder, type EncodableRecord, encodeDbn, type RecordBatch, trade } from '../index.js';
import { sumTradeFields } from './index.js';

describe('sumTradeFields (the benchmarks’ decode-only consumer)', () => {
  const base = { publisher_id: 95, ts_event: 1_700_000_000_123_456_789n };
  const records: EncodableRecord[] = [
    trade({ ...base, instrument_id: 7, price: 190_250_000_000n, size: 100 }),
    { kind: 'SystemMsg', rtype: 0x17, ...base, instrument_id: 0, msg: 'Heartbeat', code: 0 },
    // A price above 2^32 units and one below zero: both words matter.
    trade({
      ...base,
      instrument_id: 8,
      price: 12_345_678_901_234n,
      size: 3,
      ts_recv: 1_700_000_059_999_999_999n,
    }),
    trade({ ...base, instrument_id: 9, price: -1_250_000_000n, size: 1 }),
  ];

  function sumOf(bytes: Uint8Array, chunk: number): number {
    const dec = new DbnDecoder();
    let sum = 0;
    const onBatch = (b: RecordBatch) => {
      sum += sumTradeFields(b);
    };
    for (let p = 0; p < bytes.length; p += chunk)
      dec.writeBatches(bytes.subarray(p, p + chunk), onBatch);
    dec.finishBatches(onBatch);
    return sum;
  }

  it('sums instrument_id, exact price, size and ts_recv in ms of every trade, skipping other records', () => {
    let expected = 0;
    for (const r of records) {
      if (r.kind !== 'TradeMsg') continue;
      expected += r.instrument_id + Number(r.price) + r.size + Number(r.ts_recv / 1_000_000n);
    }
    for (const version of [1, 2, 3]) {
      const bytes = encodeDbn({ version, dataset: 'EQUS.MINI' }, records);
      expect(sumOf(bytes, bytes.length)).toBe(expected);
      expect(sumOf(bytes, 7)).toBe(expected);
    }
  });

  it('is NaN when a trade has an undefined price', () => {
    const bytes = encodeDbn({ version: 3, dataset: 'EQUS.MINI' }, [
      trade({ ...base, instrument_id: 1, price: 9_223_372_036_854_775_807n, size: 1 }),
    ]);
    expect(sumOf(bytes, bytes.length)).toBeNaN();
  });
});
