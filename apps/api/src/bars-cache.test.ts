import type { BarRow } from '@timed/db';
import { describe, expect, it } from 'vitest';
import { type BarsPage, BarsPageCache } from './bars-cache.js';

const page = (n: number): BarsPage => ({
  count: n,
  rows: Array.from({ length: n }, () => [] as unknown as BarRow),
  nextCursor: null,
  bodies: {},
});

describe('BarsPageCache', () => {
  it('shares one load between identical queries within the TTL, then loads again', async () => {
    let t = 0;
    let loads = 0;
    const cache = new BarsPageCache({ ttlMs: 1000, now: () => t });
    const load = async () => {
      loads++;
      return page(1);
    };
    const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    expect(a).toBe(b);
    t = 999;
    await cache.get('k', load);
    expect(loads).toBe(1);
    t = 2000; // past the stale window too: a plain load
    const c = await cache.get('k', load);
    expect(loads).toBe(2);
    expect(c).not.toBe(a);
    await cache.get('other', load);
    expect(loads).toBe(3);
  });

  it('serves an expired page while one background load refreshes it (at most 2 x TTL old)', async () => {
    let t = 0;
    const pages: BarsPage[] = [];
    let release: (() => void) | undefined;
    const cache = new BarsPageCache({ ttlMs: 1000, now: () => t });
    const load = () => {
      const p = page(1);
      pages.push(p);
      if (pages.length === 1) return Promise.resolve(p);
      return new Promise<BarsPage>((resolve) => {
        release = () => resolve(p);
      });
    };
    const [first] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    t = 1500;
    // Expired: the old page at once, and one refresh started for any number of callers.
    expect(await cache.get('k', load)).toBe(first);
    expect(await cache.get('k', load)).toBe(first);
    expect(pages).toHaveLength(2);
    release!();
    await new Promise((r) => setImmediate(r));
    const second = await cache.get('k', load);
    expect(second).toBe(pages[1]);
    expect(second).not.toBe(first);
    expect(pages).toHaveLength(2);
  });

  it('drops a page whose background refresh failed: the next request loads and sees the error', async () => {
    let t = 0;
    let fail = false;
    let loads = 0;
    const cache = new BarsPageCache({ ttlMs: 1000, now: () => t });
    const load = async () => {
      loads++;
      if (fail) throw new Error('down');
      return page(1);
    };
    const [first] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    fail = true;
    t = 1200;
    expect(await cache.get('k', load)).toBe(first); // stale, refresh fails in the background
    await new Promise((r) => setImmediate(r));
    await expect(cache.get('k', load)).rejects.toThrow('down');
    expect(loads).toBe(3);
  });

  it('never keeps failures or oversized pages, and loads every time when off', async () => {
    let loads = 0;
    const cache = new BarsPageCache({ ttlMs: 1000, maxBars: 10, now: () => 0 });
    await expect(
      cache.get('bad', async () => {
        loads++;
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    await cache.get('bad', async () => {
      loads++;
      return page(1);
    });
    expect(loads).toBe(2);
    const big = async () => {
      loads++;
      return page(11);
    };
    await Promise.all([cache.get('big', big), cache.get('big', big)]);
    await cache.get('big', big);
    expect(loads).toBe(4);
    const off = new BarsPageCache({ ttlMs: 0 });
    const a = await off.get('k', async () => page(1));
    const b = await off.get('k', async () => page(1));
    expect(a).not.toBe(b);
  });

  it('drops the oldest pages beyond maxEntries', async () => {
    let loads = 0;
    const cache = new BarsPageCache({ ttlMs: 1000, maxEntries: 2, now: () => 0 });
    const load = async () => {
      loads++;
      return page(1);
    };
    const twice = (k: string) => Promise.all([cache.get(k, load), cache.get(k, load)]);
    await twice('a');
    await twice('b');
    await cache.get('b', load);
    expect(loads).toBe(2);
    await twice('c');
    await cache.get('a', load);
    expect(loads).toBe(4);
  });

  it('keeps a page only once its key is asked again: a one-off query leaves no page behind', async () => {
    let t = 0;
    let loads = 0;
    const cache = new BarsPageCache({ ttlMs: 1000, now: () => t });
    const load = async () => {
      loads++;
      return page(1);
    };
    const first = await cache.get('k', load);
    t = 500;
    // Asked before, within ttlMs: loads again, and this page is kept.
    const second = await cache.get('k', load);
    expect(second).not.toBe(first);
    expect(loads).toBe(2);
    t = 900;
    expect(await cache.get('k', load)).toBe(second);
    expect(loads).toBe(2);
    // A key last asked longer than ttlMs ago counts as new again.
    await cache.get('other', load);
    t = 2000;
    await cache.get('other', load);
    await cache.get('other', load);
    expect(loads).toBe(5);
  });

  it('remembers at most maxSeen one-off keys (oldest forgotten first)', async () => {
    let loads = 0;
    const cache = new BarsPageCache({ ttlMs: 1000, maxSeen: 2, now: () => 0 });
    const load = async () => {
      loads++;
      return page(1);
    };
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('c', load); // 'a' is forgotten
    await cache.get('a', load); // new again: not kept ('b' forgotten)
    await cache.get('a', load); // remembered: loads, kept
    await cache.get('a', load); // hit
    await cache.get('c', load); // still remembered: loads, kept
    await cache.get('c', load); // hit
    expect(loads).toBe(6);
  });
});
