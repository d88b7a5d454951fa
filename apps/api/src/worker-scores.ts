/** A ticker's latest TradingView figures as the ingest Worker serves them. */
export interface WorkerScore {
  state: string | null;
  htf_score: number | null;
  ltf_score: number | null;
}

/** Options of WorkerScores. */
export interface WorkerScoresOptions {
  /** Base URL of the ingest Worker (TIMED_WORKER_URL). */
  url: string;
  /** How long a fetched set is fresh (default 5 s). */
  ttlMs?: number;
  /** Timeout of each page request (default 2 s). */
  timeoutMs?: number;
  /** Longest a caller waits for a refresh before using what it has (default 300 ms). */
  waitMs?: number;
  /** Most pages of /timed/all read per refresh (default 40 × 500 tickers). */
  maxPages?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
const numOrNull = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The Worker's `GET /timed/all`, cached: a refresh runs at most once at a time; callers wait for it
 * at most waitMs and otherwise get the previous set (or none). The Worker being down or slow only
 * means no (or older) scores, never a failed request.
 */
export class WorkerScores {
  /** Refreshes that failed (down, slow, bad answer). */
  failures = 0;
  private scores: Map<string, WorkerScore> | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly waitMs: number;
  private readonly maxPages: number;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: WorkerScoresOptions) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.waitMs = options.waitMs ?? 300;
    this.maxPages = options.maxPages ?? 40;
    this.fetchFn = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** What is cached now (no waiting); starts a refresh when stale. */
  cached(): Map<string, WorkerScore> | undefined {
    if (this.now() - this.fetchedAt >= this.ttlMs) this.refresh();
    return this.scores;
  }

  /** Fresh scores when they come within waitMs, else the cached ones (possibly none). */
  async get(): Promise<Map<string, WorkerScore> | undefined> {
    if (this.now() - this.fetchedAt < this.ttlMs) return this.scores;
    const refresh = this.refresh();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      refresh,
      new Promise((r) => {
        timer = setTimeout(r, this.waitMs);
      }),
    ]);
    clearTimeout(timer);
    return this.scores;
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.load()
      .then((scores) => {
        this.scores = scores;
      })
      .catch(() => {
        this.failures++;
      })
      .finally(() => {
        // Failed or not, do not ask again before the TTL: a down Worker is not hammered.
        this.fetchedAt = this.now();
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private async load(): Promise<Map<string, WorkerScore>> {
    const out = new Map<string, WorkerScore>();
    let cursor: string | null = null;
    for (let page = 0; page < this.maxPages; page++) {
      const url = new URL('/timed/all', this.options.url);
      url.searchParams.set('limit', '500');
      if (cursor) url.searchParams.set('cursor', cursor);
      const res = await this.fetchFn(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
      const body = (await res.json()) as {
        data?: { ticker?: unknown; data?: Record<string, unknown> }[];
        next_cursor?: unknown;
      };
      for (const item of body.data ?? []) {
        if (typeof item.ticker !== 'string') continue;
        const d = item.data ?? {};
        out.set(item.ticker.toUpperCase(), {
          state: str(d.state),
          htf_score: numOrNull(d.htf_score),
          ltf_score: numOrNull(d.ltf_score),
        });
      }
      cursor = typeof body.next_cursor === 'string' ? body.next_cursor : null;
      if (!cursor) break;
    }
    return out;
  }
}
