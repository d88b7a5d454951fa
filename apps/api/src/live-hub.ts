import type { ServerResponse } from 'node:http';
import {
  barsBetween,
  type Db,
  DEFAULT_FEED,
  type LiveEvent,
  LiveListener,
  type LiveStateRow,
  sql,
} from '@timed/db';
import {
  closedBar,
  type LivePrice,
  livePrice,
  provisionalBar,
  StateEvents,
} from './live-format.js';
import {
  type LeaderboardBody,
  type LeaderboardQuery,
  rankLeaderboard,
} from './live-leaderboard.js';
import { SseStream } from './live-stream.js';
import type { WorkerScores } from './worker-scores.js';

/** Options of LiveHub. */
export interface LiveHubOptions {
  db: Db;
  /** Postgres URL of the hub's own LISTEN connection. */
  url: string;
  feed?: string;
  /** The ingest Worker's scores (TIMED_WORKER_URL); absent = rows carry no state/scores. */
  workerScores?: WorkerScores;
  /** Comment heartbeat on every stream (default 15 s). */
  heartbeatMs?: number;
  /** Leaderboard events at most this often (default 1 s). */
  leaderboardIntervalMs?: number;
  /** Open streams per process (default 2,000). */
  maxStreams?: number;
  /** Symbols per stream (default 100). */
  maxSymbolsPerStream?: number;
  /** Unsent bytes a stream may hold before its client is dropped (default 1 MiB). */
  maxBufferBytes?: number;
  /** Furthest back a resumed stream is sent missed bars (default 24 h). */
  maxResumeMs?: number;
  /**
   * Streams are written at most this often (default 50 ms): events of the notifications handled
   * meanwhile go out in one write per stream, a symbol's price (and open bar) only as it stands
   * at the flush. 0 = after every turn of the event loop.
   */
  flushMs?: number;
  /** How a flush is scheduled once something is waiting (tests run it by hand). */
  scheduleFlush?: (flush: () => void) => void;
  reconnectMinMs?: number;
  log?: { warn(obj: object, msg: string): void };
  now?: () => number;
}

/** Counters for /health and tests. */
export interface LiveHubStats {
  streams: number;
  /** Clients dropped because they did not read (buffer past maxBufferBytes). */
  droppedClients: number;
  /** Streams whose socket has not taken what was written (their states wait, coalesced). */
  waitingStreams: number;
  listenerConnected: boolean;
  listenerReconnects: number;
  /** Newest closed minute known (epoch ms), null before the first. */
  closedThrough: number | null;
  symbols: number;
}

const LEADERBOARD_LIMIT = 20;
/** The closed mark of a stream opened before the feed closed any minute. */
const UNKNOWN_MARK = 0;

/**
 * The API's view of live state: follows the screener's publications (LiveListener), answers
 * /live and /leaderboard from memory, and fans events out to /stream clients. Closed bars are
 * always read from price_bars (on each closed-minute doorbell, on a resync and on a resume), so a
 * lost notification or connection never loses one. Event ids are `<closed mark>:<version>`, the
 * same on every replica: the closed mark is what a resume starts from.
 */
export class LiveHub {
  readonly maxStreams: number;
  readonly maxSymbolsPerStream: number;
  private readonly db: Db;
  private readonly listener: LiveListener;
  private readonly rows = new Map<string, LiveStateRow>();
  private closedThrough: number | null = null;
  private readonly all = new Set<SseStream>();
  /** Streams past their resume: live events go to them. */
  private readonly registered = new Set<SseStream>();
  private readonly bySymbol = new Map<string, Set<SseStream>>();
  private readonly leaderboardStreams = new Set<SseStream>();
  private chain: Promise<void> = Promise.resolve();
  /** Tasks queued in `chain` not yet done: while any is, states queue behind them (order kept). */
  private queued = 0;
  private dropped = 0;
  private leaderboardDirty = false;
  /** Symbols with subscribers whose state changed since the last flush, in order of change. */
  private readonly changed = new Set<string>();
  /** Streams with something to write at the next flush. */
  private readonly due = new Set<SseStream>();
  private flushPending = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private readonly flushMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly feed: string;
  private readonly maxBufferBytes: number;
  private readonly maxResumeMs: number;
  private readonly now: () => number;
  private readonly log: LiveHubOptions['log'];

  constructor(private readonly options: LiveHubOptions) {
    this.db = options.db;
    this.feed = options.feed ?? DEFAULT_FEED;
    this.maxStreams = options.maxStreams ?? 2_000;
    this.maxSymbolsPerStream = options.maxSymbolsPerStream ?? 100;
    this.maxBufferBytes = options.maxBufferBytes ?? 1 << 20;
    this.maxResumeMs = options.maxResumeMs ?? 86_400_000;
    this.flushMs = options.flushMs ?? 50;
    this.now = options.now ?? Date.now;
    this.log = options.log;
    this.listener = new LiveListener({
      url: options.url,
      feed: this.feed,
      applicationName: 'timed-api-live',
      ...(options.reconnectMinMs !== undefined ? { reconnectMinMs: options.reconnectMinMs } : {}),
      onEvent: (e) => this.onEvent(e),
    });
  }

  /** Connects the listener (retried in the background when Postgres is away) and starts timers. */
  async start(): Promise<void> {
    const heartbeat = setInterval(() => {
      for (const s of this.all) s.comment('heartbeat');
    }, this.options.heartbeatMs ?? 15_000);
    const leaderboard = setInterval(
      () => this.sendLeaderboards(),
      this.options.leaderboardIntervalMs ?? 1_000,
    );
    heartbeat.unref();
    leaderboard.unref();
    this.timers.push(heartbeat, leaderboard);
    await this.listener.start();
  }

  /** Ends every stream (clients reconnect elsewhere or later with Last-Event-ID). */
  endStreams(): void {
    this.flush();
    for (const s of [...this.all]) s.end();
  }

  /** Ends streams, stops timers and the listener. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.flushTimer);
    this.endStreams();
    await this.listener.close();
    await this.chain;
  }

  get stats(): LiveHubStats {
    return {
      streams: this.all.size,
      droppedClients: this.dropped,
      waitingStreams: [...this.all].filter((s) => s.waiting).length,
      listenerConnected: this.listener.connected,
      listenerReconnects: this.listener.reconnects,
      closedThrough: this.closedThrough,
      symbols: this.rows.size,
    };
  }

  /** Backend pid of the LISTEN connection (tests kill it). */
  get listenerPid(): number | undefined {
    return this.listener.backendPid;
  }

  /** Live prices of `symbols` in that order (unknown ones left out); every symbol when undefined. */
  prices(symbols: readonly string[] | undefined): LivePrice[] {
    if (!symbols) return [...this.rows.keys()].sort().map((s) => livePrice(this.rows.get(s)!));
    const out: LivePrice[] = [];
    for (const s of symbols) {
      const r = this.rows.get(s);
      if (r) out.push(livePrice(r));
    }
    return out;
  }

  /** The leaderboard now; with the Worker configured, rows carry its state and scores. */
  async leaderboard(q: LeaderboardQuery): Promise<LeaderboardBody> {
    const scores = this.options.workerScores ? await this.options.workerScores.get() : false;
    return rankLeaderboard(this.rows.values(), q, scores, this.now());
  }

  /**
   * Takes over a response whose SSE headers are written: sends the closed bars missed since
   * `resumeMark` (from Last-Event-ID) and the current state, then live events.
   */
  openStream(
    res: ServerResponse,
    symbols: readonly string[],
    leaderboard: 'up' | 'down' | undefined,
    resumeMark: number | null,
  ): void {
    const stream = new SseStream(
      res,
      new Set(symbols),
      leaderboard,
      resumeMark ?? UNKNOWN_MARK,
      this.maxBufferBytes,
      (s, dropped) => this.forget(s, dropped),
      (s) => {
        this.due.add(s);
        this.scheduleFlush();
      },
    );
    this.all.add(stream);
    // Resumes run in the same queue as closed-minute catch-ups, so none overlaps another.
    this.enqueue(() => this.resume(stream, resumeMark));
  }

  private forget(s: SseStream, dropped: boolean): void {
    if (dropped) this.dropped++;
    this.all.delete(s);
    this.due.delete(s);
    this.registered.delete(s);
    this.leaderboardStreams.delete(s);
    for (const sym of s.symbols) this.bySymbol.get(sym)?.delete(s);
  }

  private enqueue(task: () => void | Promise<void>): void {
    this.queued++;
    this.chain = this.chain
      .then(task)
      .catch((err: unknown) => {
        this.log?.warn({ err }, 'live: reading closed bars failed');
      })
      .finally(() => {
        this.queued--;
      });
  }

  /**
   * Applies events in arrival order: states right away unless a closed-bar read (or a stream's
   * resume) is in flight, then after it, so every replica sends the same events in the same order.
   */
  private onEvent(e: LiveEvent): void {
    if (e.type === 'states') {
      if (this.queued === 0) this.apply(e.rows);
      else this.enqueue(() => this.apply(e.rows));
    } else if (e.type === 'closed') this.enqueue(() => this.catchUp(e.closedThrough));
    else if (e.type === 'synced') {
      this.enqueue(() => this.apply(e.rows));
      const through = e.closedThrough;
      if (through !== null) this.enqueue(() => this.catchUp(through));
    } else this.log?.warn({ err: e.error }, 'live: LISTEN connection lost; reconnecting');
  }

  /**
   * Takes changed states in; streams get them at the next flush, as they stand then. So the work
   * per notification is a map update, and a burst for one symbol costs its streams one event.
   */
  private apply(rows: readonly LiveStateRow[]): void {
    for (const r of rows) {
      const current = this.rows.get(r.symbol);
      // Equal versions are the same publication (a notification, then the table on a resync).
      if (current && current.version >= r.version) continue;
      this.rows.set(r.symbol, r);
      this.leaderboardDirty = true;
      if (this.bySymbol.get(r.symbol)?.size) {
        // Re-inserted so the flush sends symbols in the order of their latest change.
        this.changed.delete(r.symbol);
        this.changed.add(r.symbol);
      }
    }
    if (this.changed.size) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushPending) return;
    this.flushPending = true;
    if (this.options.scheduleFlush) {
      this.options.scheduleFlush(() => this.flush());
      return;
    }
    const wait = this.lastFlush + this.flushMs - performance.now();
    if (wait > 0) this.flushTimer = setTimeout(() => this.flush(), wait);
    else setImmediate(() => this.flush());
  }

  /**
   * Writes every stream with something to write, once: its queued events in order, then the
   * current price (and open bar) of each of its symbols that changed, with the stream's closed
   * mark as of now, so a resume from any id it sent misses no closed bar. Each symbol's events
   * are encoded once per flush, whatever the number of its streams.
   */
  private flush(): void {
    this.flushPending = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.lastFlush = performance.now();
    const encoded = new Map<string, StateEvents | null>();
    const encode = (sym: string, mark: number): string => {
      let e = encoded.get(sym);
      if (e === undefined) {
        const r = this.rows.get(sym);
        e = r ? new StateEvents(r, this.isOpen(r)) : null;
        encoded.set(sym, e);
      }
      return e ? e.for(mark) : '';
    };
    for (const sym of this.changed) {
      const subscribers = this.bySymbol.get(sym);
      if (!subscribers) continue;
      for (const s of subscribers) {
        // A blocked stream is owed these bytes (its drop bound); it is written once it drains.
        s.stateChanged(sym, s.waiting ? encode(sym, s.closedMark).length : 0);
        if (!s.waiting) this.due.add(s);
      }
    }
    this.changed.clear();
    for (const s of this.due) s.flush(encode);
    this.due.clear();
  }

  /** True when the row's bar is of a minute not yet closed. */
  private isOpen(r: LiveStateRow): boolean {
    return (
      r.barTimestamp !== null &&
      (this.closedThrough === null || r.barTimestamp > this.closedThrough)
    );
  }

  /** Sends the registered streams every closed bar up to `through` they have not had. */
  private async catchUp(through: number): Promise<void> {
    // States that came before the doorbell go out first, under the old mark: every replica
    // cuts the stream at the same place whatever its flush timing.
    if (this.changed.size || this.due.size) this.flush();
    if (this.closedThrough !== null && through <= this.closedThrough) return;
    const targets = [...this.registered];
    // A stream opened before any minute closed (mark 0) gets this minute's bars, not a day's.
    for (const s of targets) if (s.closedMark === UNKNOWN_MARK) s.closedMark = through - 60_000;
    const waiting = targets.filter((s) => s.closedMark < through);
    if (waiting.length) {
      let from = through;
      const symbols = new Set<string>();
      for (const s of waiting) {
        from = Math.min(from, s.closedMark);
        for (const sym of s.symbols) symbols.add(sym);
      }
      const bars = await barsBetween(
        this.db,
        [...symbols],
        Math.max(from, through - this.maxResumeMs),
        through,
      );
      for (const b of bars) {
        const subscribers = this.bySymbol.get(b.symbol);
        if (!subscribers?.size) continue;
        const data = JSON.stringify(closedBar(b));
        for (const s of subscribers)
          if (b.timestamp > s.closedMark) s.event('bar', b.timestamp, data);
      }
    }
    this.closedThrough = through;
    for (const s of targets) if (s.closedMark < through) s.closedMark = through;
  }

  private async readClosedMark(): Promise<number | null> {
    const r = await sql<{ ms: string | null }>`
      SELECT (extract(epoch FROM closed_through) * 1000)::float8::text AS ms
      FROM live_feed WHERE feed = ${this.feed}`.execute(this.db);
    const ms = r.rows[0]?.ms;
    return ms === undefined || ms === null ? null : Number(ms);
  }

  private async resume(stream: SseStream, resumeMark: number | null): Promise<void> {
    if (stream.closed) return;
    let known: number | null;
    try {
      known = this.closedThrough ?? (await this.readClosedMark());
      if (
        known !== null &&
        resumeMark !== null &&
        resumeMark !== UNKNOWN_MARK &&
        resumeMark < known
      ) {
        const bars = await barsBetween(
          this.db,
          [...stream.symbols],
          Math.max(resumeMark, known - this.maxResumeMs),
          known,
        );
        for (const b of bars) stream.event('bar', b.timestamp, JSON.stringify(closedBar(b)));
      }
    } catch (err) {
      // The client reconnects with the same Last-Event-ID and gets them then.
      this.log?.warn({ err }, 'live: resuming a stream failed');
      stream.end();
      return;
    }
    if (stream.closed) return;
    stream.closedMark = Math.max(known ?? UNKNOWN_MARK, resumeMark ?? UNKNOWN_MARK);
    for (const sym of stream.symbols) {
      const r = this.rows.get(sym);
      if (!r) continue;
      stream.event('price', r.version, JSON.stringify(livePrice(r)));
      if (this.isOpen(r) && (r.barTimestamp ?? 0) > stream.closedMark) {
        stream.event('bar', r.version, JSON.stringify(provisionalBar(r)));
      }
    }
    if (stream.leaderboard) {
      const body = this.rankNow(stream.leaderboard);
      stream.event('leaderboard', Date.parse(body.as_of), JSON.stringify(body));
      this.leaderboardStreams.add(stream);
    }
    this.registered.add(stream);
    for (const sym of stream.symbols) {
      const set = this.bySymbol.get(sym) ?? new Set<SseStream>();
      this.bySymbol.set(sym, set);
      set.add(stream);
    }
  }

  private rankNow(direction: 'up' | 'down'): LeaderboardBody {
    const scores = this.options.workerScores ? this.options.workerScores.cached() : false;
    return rankLeaderboard(
      this.rows.values(),
      { direction, sort: 'pct', limit: LEADERBOARD_LIMIT },
      scores,
      this.now(),
    );
  }

  private sendLeaderboards(): void {
    if (!this.leaderboardDirty || this.leaderboardStreams.size === 0) return;
    this.leaderboardDirty = false;
    const bodies = new Map<'up' | 'down', { id: number; data: string }>();
    for (const s of this.leaderboardStreams) {
      const direction = s.leaderboard!;
      let body = bodies.get(direction);
      if (!body) {
        const b = this.rankNow(direction);
        body = { id: Date.parse(b.as_of), data: JSON.stringify(b) };
        bodies.set(direction, body);
      }
      s.event('leaderboard', body.id, body.data);
    }
  }
}
