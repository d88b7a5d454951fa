import { describe, expect, it } from 'vitest';
import { lastState, placeInTrail, readTrail, type TrailPoint } from './trail.js';

const p = (ts: number, extra: Partial<TrailPoint> = {}): TrailPoint => ({ ts, at: ts, ...extra });

describe('placeInTrail', () => {
  it('appends the newest point and keeps only the last `max`', () => {
    const r = placeInTrail([p(1), p(2), p(3)], p(4), 3);
    expect(r).toEqual({ kind: 'append', trail: [p(2), p(3), p(4)] });
  });

  it('inserts a late point in event-time order', () => {
    const r = placeInTrail([p(10), p(30)], p(20), 10);
    expect(r.kind).toBe('insert');
    expect(r.kind !== 'duplicate' && r.trail.map((x) => x.ts)).toEqual([10, 20, 30]);
  });

  it('ignores the same alert delivered twice, even with another receive time', () => {
    const r = placeInTrail([p(10, { price: 5 })], { ts: 10, price: 5, at: 99 }, 10);
    expect(r.kind).toBe('duplicate');
  });

  it('keeps a different alert for the same bar time', () => {
    const r = placeInTrail([p(10, { price: 5 })], p(10, { price: 6 }), 10);
    expect(r.kind).toBe('append');
  });
});

describe('lastState / readTrail', () => {
  it('finds the most recent state, skipping points without one', () => {
    expect(lastState([p(1, { state: 'Q1' }), p(2), p(3, { state: 'Q3' }), p(4)])).toBe('Q3');
    expect(lastState([p(1)])).toBeUndefined();
  });

  it('drops malformed points of older Workers', () => {
    expect(readTrail([p(1), { price: 1 }, null, 'x'])).toEqual([p(1)]);
    expect(readTrail({ not: 'an array' })).toEqual([]);
  });
});
