// `@timed/dbn/prng`: the repository's one test PRNG. No Node APIs, so the ingest Worker's tests
// (workerd without nodejs_compat) import it as well as the Node packages do.

/**
 * Small fast seeded PRNG (mulberry32) with helpers: the repository's one test PRNG (the trades
 * generator draws from it too), so a seed replays the same numbers everywhere.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Poisson sample (normal approximation for large means). */
  poisson(mean: number): number {
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const l = Math.exp(-mean);
    let k = 0;
    let p = 1;
    for (;;) {
      p *= this.next();
      if (p <= l) return k;
      k++;
    }
  }
}

/** mulberry32 as a bare function: uniform numbers in [0, 1), the same sequence as `new Rng(seed)`. */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
