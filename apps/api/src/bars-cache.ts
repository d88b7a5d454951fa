import type { StoredBar } from '@timed/db';

/** One page of bars as the repository returns it, plus its bodies once rendered. */
export interface BarsPage {
  bars: StoredBar[];
  nextCursor: string | null;
  /** The JSON body as the route's compiled serializer wrote it (set on first use). */
  json?: string;
  /** The CSV body (set on first use). */
  csv?: string;
}

/** Options of BarsPageCache. */
export interface BarsPageCacheOptions {
  /** How long a page is served from memory; 0 turns the cache off. */
  ttlMs: number;
  /** Most pages kept (oldest dropped first). */
  maxEntries?: number;
  /** Pages larger than this are never kept (memory bound: maxEntries x maxBars bars). */
  maxBars?: number;
  now?: () => number;
}

/**
 * A micro-cache of bar pages: identical queries within `ttlMs` share one database round trip
 * (including requests that arrive while it is in flight), so a burst of clients asking for the
 * same day costs one query and one serialisation. Answers are at most `ttlMs` old; failures are
 * never kept.
 */
export class BarsPageCache {
  private readonly entries = new Map<string, { expires: number; page: Promise<BarsPage> }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBars: number;
  private readonly now: () => number;

  constructor(options: BarsPageCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 256;
    this.maxBars = options.maxBars ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  /** The page for `key`: from memory while fresh, else from `load`. */
  get(key: string, load: () => Promise<BarsPage>): Promise<BarsPage> {
    if (this.ttlMs <= 0) return load();
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > t) return hit.page;
    if (hit) this.entries.delete(key);
    const page = load();
    this.entries.set(key, { expires: t + this.ttlMs, page });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    page.then(
      (p) => {
        if (p.bars.length > this.maxBars) this.forget(key, page);
      },
      () => this.forget(key, page),
    );
    return page;
  }

  private forget(key: string, page: Promise<BarsPage>): void {
    if (this.entries.get(key)?.page === page) this.entries.delete(key);
  }
}
