import { describe, expect, it } from 'vitest';
import { unitsToDecimal } from './decimal-units.js';

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
