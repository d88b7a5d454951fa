import { describe, expect, it } from 'vitest';
import { rng } from '../../test/helpers/session.js';
import { MinuteSplitter } from './minute-splitter.js';

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
