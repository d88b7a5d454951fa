import { describe, expect, it } from 'vitest';
import { rng } from '../test/session.js';
import { MinuteSplitter, unitsToDecimal } from './fixed-point.js';

describe('MinuteSplitter', () => {
  it('splits u64 nanosecond timestamps exactly, including around minute boundaries', () => {
    const s = new MinuteSplitter();
    const r = rng(3);
    const cases: bigint[] = [0n, 59_999_999_999n, 60_000_000_000n, 18446744073709551614n];
    for (let i = 0; i < 20_000; i++) {
      const minute = BigInt(29_000_000 + Math.floor(r() * 1_000_000));
      const edge = [0n, 1n, 59_999_999_999n, BigInt(Math.floor(r() * 6e10))][i % 4]!;
      cases.push(minute * 60_000_000_000n + edge);
    }
    for (const ts of cases) {
      s.splitBig(ts);
      expect([s.minute, s.offset]).toEqual([
        Number(ts / 60_000_000_000n),
        Number(ts % 60_000_000_000n),
      ]);
    }
  });
});

describe('unitsToDecimal', () => {
  it('formats 1e-9 fixed point exactly, trimming trailing zeros', () => {
    expect(unitsToDecimal(3_720_250_000_000)).toBe('3720.25');
    expect(unitsToDecimal(1)).toBe('0.000000001');
    expect(unitsToDecimal(-1_500_000_000)).toBe('-1.5');
    expect(unitsToDecimal(-1)).toBe('-0.000000001');
    expect(unitsToDecimal(0)).toBe('0');
    expect(unitsToDecimal(9_007_199_254_740_991)).toBe('9007199.254740991');
  });
  it('formats half of a bid+ask sum (the mid) exactly', () => {
    expect(unitsToDecimal(200_010_000_001, 2)).toBe('100.0050000005');
    expect(unitsToDecimal(201_000_000_000, 2)).toBe('100.5');
    expect(unitsToDecimal(-3, 2)).toBe('-0.0000000015');
  });
});
