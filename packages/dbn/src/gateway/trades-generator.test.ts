import { describe, expect, it } from 'vitest';
import type { TradeMsg } from '../index.js';
import { generateTradesSession } from './index.js';

const opts = {
  symbols: 800,
  start: new Date('2024-03-01T14:30:00Z'),
  end: new Date('2024-03-01T14:50:00Z'),
  seed: 9,
  tradesPerSecond: 400,
};

function first(it: Iterable<TradeMsg>, n: number): TradeMsg[] {
  const out: TradeMsg[] = [];
  for (const r of it) {
    out.push(r);
    if (out.length >= n) break;
  }
  return out;
}

describe('generateTradesSession', () => {
  const s = generateTradesSession(opts);
  const all = [...s.records()];

  it('is deterministic for a seed and differs across seeds', () => {
    const again = first(generateTradesSession(opts).records(), 1000);
    expect(again).toEqual(all.slice(0, 1000));
    const other = first(generateTradesSession({ ...opts, seed: 10 }).records(), 1000);
    expect(other).not.toEqual(all.slice(0, 1000));
  });

  it('produces a plausible session: sorted, in range, many symbols, lots and bursts', () => {
    expect(s.instruments).toHaveLength(800);
    expect(new Set(s.instruments.map((i) => i.symbol)).size).toBe(800);
    expect(s.instruments[0]!.symbol).toBe('AAPL');
    // ~400/s over 20 minutes with the intraday shape: order of magnitude check.
    expect(all.length).toBeGreaterThan(200_000);
    expect(all.length).toBeLessThan(2_000_000);
    let prev = 0n;
    let badTimes = 0;
    for (const r of all) {
      if (
        r.ts_recv <= prev ||
        r.ts_event > r.ts_recv ||
        r.ts_recv >= s.end ||
        r.ts_recv < s.start
      ) {
        badTimes++;
      }
      prev = r.ts_recv;
    }
    expect(badTimes).toBe(0);
    const ids = new Set(all.map((r) => r.instrument_id));
    expect(ids.size).toBeGreaterThan(500);
    const sizes = all.map((r) => r.size);
    expect(sizes.some((x) => x < 100)).toBe(true);
    expect(sizes.some((x) => x >= 5000)).toBe(true);
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (const r of all) {
      const p = Number(r.price) / 1e9;
      lo = Math.min(lo, p);
      hi = Math.max(hi, p);
    }
    expect(lo).toBeGreaterThan(0.5);
    expect(hi).toBeLessThan(5000);
    // Bursts: several prints of one instrument within 100 microseconds.
    let bursts = 0;
    for (let i = 1; i < all.length; i++) {
      const a = all[i - 1]!;
      const b = all[i]!;
      if (a.instrument_id === b.instrument_id && b.ts_recv - a.ts_recv < 100_000n) bursts++;
    }
    expect(bursts).toBeGreaterThan(all.length / 100);
  });

  it('replays from any start exactly as the full session continues', () => {
    for (const offsetNs of [0n, 59_999_999_999n, 61_234_567_890n, 600_000_000_000n]) {
      const from = s.start + offsetNs;
      const want = all.filter((r) => r.ts_event >= from).slice(0, 500);
      expect(first(s.records(from), 500)).toEqual(want);
    }
    expect([...s.records(s.end)]).toEqual([]);
  });
});
