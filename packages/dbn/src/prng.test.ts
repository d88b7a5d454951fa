import { describe, expect, it } from 'vitest';
import { mulberry32, Rng } from './prng.js';

describe('the test PRNG (mulberry32)', () => {
  it('gives the published mulberry32 sequence, so seeds written in tests keep their numbers', () => {
    const next = mulberry32(1);
    expect([next(), next(), next()]).toEqual([
      0.6270739405881613, 0.002735721180215478, 0.5274470399599522,
    ]);
  });

  it('Rng draws the same sequence and maps it to integers in range', () => {
    const a = mulberry32(20240101);
    const b = new Rng(20240101);
    for (let i = 0; i < 1000; i++) expect(b.next()).toBe(a());
    const r = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(3, 5));
    expect([...seen].sort()).toEqual([3, 4, 5]);
  });
});
