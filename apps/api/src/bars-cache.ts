import type { BarRow } from '@timed/db';

/**
 * One page of bars: its rows as read (text rows) until its body is rendered, then the body alone.
 * A kept page is then one buffer outside the JS heap: thousands of row strings kept alive across
 * garbage collections cost more than the cache saved.
 */
export interface BarsPage {
  /** Bars on the page. */
  count: number;
  rows?: BarRow[];
  nextCursor: string | null;
  /** The body per format, as bytes, with its ETag once computed (set on first use). */
  bodies: Partial<Record<'json' | 'ndjson' | 'csv', { bytes: Buffer; etag?: string }>>;
}

/** Options of BarsPageCache. */
export interface BarsPageCacheOptions {
  /** How long a page is served from memory; 0 turns the cache off. */
  ttlMs: number;
  /** Most pages kept (oldest dropped first). */
  maxEntries?: number;
  /** Pages larger than this are never kept (memory bound: maxEntries x maxBars bars). */
  maxBars?: number;
  /** Keys remembered as asked once (a few dozen bytes each; oldest forgotten first). */
  maxSeen?: number;
  now?: () => number;
}

interface Entry {
  /** Until when the page is fresh. */
  expires: number;
  page: Promise<BarsPage>;
  /** The page has loaded (a stale page is served only once it has). */
  settled: boolean;
  /** A background refresh of this entry is running. */
  refreshing: boolean;
  /** Asked for more than once (while loading, or within ttlMs of an earlier load): kept. */
  asked: boolean;
}

/**
 * A micro-cache of bar pages: identical queries within `ttlMs` share one database round trip
 * (including requests that arrive while it is in flight), so a burst of clients asking for the
 * same day costs one query and one serialisation. In the `ttlMs` after a page expires it is still
 * served while one request's worth of refresh runs in the background (stale-while-revalidate), so
 * no client waits behind the refresh: answers are at most 2 x `ttlMs` old. Failures are never
 * kept; a failed refresh drops the page, and the next request loads (and sees the failure).
 *
 * Only pages asked for again are kept: a key's first load is shared by the requests that arrive
 * while it runs, then dropped, and the key is remembered; a second request within `ttlMs` loads
 * again and that page is kept. On keys that rarely repeat (a random symbol-day), keeping every
 * page cost more (short-lived pages pushed into the old generation, more garbage collection) than
 * the few hits saved: with this, such traffic costs one map lookup per request.
 */
export class BarsPageCache {
  private readonly entries = new Map<string, Entry>();
  /** Keys loaded once and not kept, with when that was (first-load admission). */
  private readonly seen = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBars: number;
  private readonly maxSeen: number;
  private readonly now: () => number;

  constructor(options: BarsPageCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 256;
    this.maxBars = options.maxBars ?? 2_000;
    this.maxSeen = options.maxSeen ?? 4_096;
    this.now = options.now ?? Date.now;
  }

  /** False when the cache is off (ttlMs 0): callers need not build keys. */
  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** The page for `key`: from memory while fresh (or stale and being refreshed), else `load`. */
  get(key: string, load: () => Promise<BarsPage>): Promise<BarsPage> {
    if (this.ttlMs <= 0) return load();
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.expires > t) {
        hit.asked = true;
        return hit.page;
      }
      if (hit.settled && t < hit.expires + this.ttlMs) {
        if (!hit.refreshing) this.refresh(key, hit, load);
        return hit.page;
      }
      this.entries.delete(key);
    }
    const seenAt = this.seen.get(key);
    const again = seenAt !== undefined && t - seenAt < this.ttlMs;
    if (again) this.seen.delete(key);
    const entry: Entry = {
      expires: t + this.ttlMs,
      page: load(),
      settled: false,
      refreshing: false,
      asked: again,
    };
    this.keep(key, entry);
    return entry.page;
  }

  private keep(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    entry.page.then(
      (p) => {
        entry.settled = true;
        if (p.count > this.maxBars) this.forget(key, entry);
        else if (!entry.asked) {
          // Asked once so far: not worth memory yet; a second request within ttlMs keeps it.
          this.forget(key, entry);
          this.remember(key);
        }
      },
      () => this.forget(key, entry),
    );
  }

  private remember(key: string): void {
    this.seen.delete(key);
    this.seen.set(key, this.now());
    while (this.seen.size > this.maxSeen) {
      this.seen.delete(this.seen.keys().next().value as string);
    }
  }

  private refresh(key: string, stale: Entry, load: () => Promise<BarsPage>): void {
    stale.refreshing = true;
    const page = load();
    page.then(
      () => {
        if (this.entries.get(key) !== stale) return;
        const fresh: Entry = {
          expires: this.now() + this.ttlMs,
          page,
          settled: false,
          refreshing: false,
          asked: true,
        };
        this.keep(key, fresh);
      },
      () => this.forget(key, stale),
    );
  }

  private forget(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}
