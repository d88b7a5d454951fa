import {
  type Db,
  LivePublisher,
  type LivePublisherStats,
  type LiveSymbolState,
  previousCloses,
  sessionDayOf,
  sessionDayStart,
  sql,
} from '@timed/db';
import type { Logger } from 'pino';
import type { OpenBarTarget } from '../aggregate/aggregator-options.js';
import type { BarSource } from '../aggregate/bar-source.js';
import { DayStats, type StoredDayFigures } from './day-stats.js';

/** What live publishing reads from the aggregator between records. */
export interface LiveAggregatorView {
  /** Stream clock (ms): the feed's time, which also rolls the session day over. */
  readonly streamClockMs: number;
  openBarInto(slot: number, out: OpenBarTarget): void;
}

/** Options of LivePublishing. */
export interface LivePublishingOptions {
  db: Db;
  source: BarSource;
  log: Logger;
  /** How often changed symbols are published (default 250 ms). */
  intervalMs?: number;
  /** live_state upsert interval (LivePublisher's; default 1,000 ms). */
  snapshotIntervalMs?: number;
  /** Wait after a failed previous-close query before the next (default 5 s). */
  prevCloseRetryMs?: number;
  /** Longest hold of the first publish after a restore while the replay catches up (30 s). */
  maxHoldMs?: number;
  /**
   * Longest hold of a symbol's states while its previous close for the day is being loaded (a
   * new symbol, every symbol after the rollover): 10 s, then it goes out with none.
   */
  maxPrevCloseHoldMs?: number;
}

const BLANK_STATE: LiveSymbolState = {
  symbol: '',
  sessionDay: '',
  price: 0,
  bid: 0,
  ask: 0,
  lastSize: 0,
  lastTs: 0,
  dayOpen: 0,
  dayHigh: 0,
  dayLow: 0,
  volume: 0,
  tradeCount: 0,
  vwap: null,
  prevClose: null,
  barTimestamp: null,
  barOpen: 0,
  barHigh: 0,
  barLow: 0,
  barClose: 0,
  barVolume: 0,
  barTradeCount: 0,
  barVwap: null,
};

/**
 * The screener's side of the live-state bus: DayStats (fed per record by the aggregator) is
 * copied every `intervalMs` into one reused LiveSymbolState per symbol, for the symbols that
 * changed, and handed to one LivePublisher (NOTIFY + live_state). Previous closes are loaded at
 * start, for each symbol first seen, and again for all when the session day rolls over (04:00
 * New York by the feed's time). After a restart `restore` rebuilds today's figures from the
 * stored bars before the replay starts. `minuteWritten` rings the closed-minute doorbell.
 */
export class LivePublishing {
  readonly day: DayStats;
  readonly publisher: LivePublisher;
  private readonly db: Db;
  private readonly source: BarSource;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly retryMs: number;
  private aggregator: LiveAggregatorView | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** One state object per DayStats index, created with it and reused for every publish. */
  private readonly states: LiveSymbolState[] = [];
  private readonly out: LiveSymbolState[] = [];
  private readonly visit = (i: number) => this.copy(i);
  /** Symbols whose previous close is to be (re)loaded. */
  private pendingPrev: string[] = [];
  private loadingPrev: Promise<void> | undefined;
  private prevRetryAt = 0;
  private lastErrorLogAt = 0;
  private closed = false;
  /**
   * After a restore, nothing is published until the feed passes this time (ms): the restored
   * figures stop at the replay's first minute, whose trades the replay adds again.
   */
  private holdUntilMs = 0;
  private holdSince = 0;
  private readonly maxHoldMs: number;
  /**
   * Per DayStats index, since when (Date.now()) its previous close for the current day is being
   * loaded; 0 = known. Such a symbol is not published meanwhile (up to maxPrevCloseHoldMs), so
   * no state goes out with a null prev_close that is about to be known: not a new symbol's first
   * state, nor (the rollover) the new day's states, whose previous close is a query away.
   */
  private prevWaitSince = new Float64Array(1024);
  private readonly maxPrevHoldMs: number;
  /** Indices skipped by the last takeDirty (marked dirty again after it). */
  private readonly skipped: number[] = [];

  constructor(o: LivePublishingOptions) {
    this.db = o.db;
    this.source = o.source;
    this.log = o.log;
    this.intervalMs = o.intervalMs ?? 250;
    this.retryMs = o.prevCloseRetryMs ?? 5_000;
    this.maxHoldMs = o.maxHoldMs ?? 30_000;
    this.maxPrevHoldMs = o.maxPrevCloseHoldMs ?? 10_000;
    this.day = new DayStats(o.source);
    this.day.onNewSymbol = (s, i) => {
      this.pendingPrev.push(s);
      this.waitForPrev(i, Date.now());
    };
    this.day.onRollover = (day) => {
      // The new day's previous close is the close of the last regular-session bar of the latest
      // earlier trading day in price_bars: a query, not the last price we saw (after-hours
      // trades, a day without regular-session bars). Its states wait for it.
      this.pendingPrev = [...this.day.symbols];
      const now = Date.now();
      for (let i = 0; i < this.day.symbols.length; i++) this.waitForPrev(i, now);
      this.log.info({ sessionDay: day }, 'session day rolled over: day figures reset');
    };
    this.publisher = new LivePublisher(o.db, {
      snapshotIntervalMs: o.snapshotIntervalMs,
      onError: (err, what) => this.logError(err, what),
    });
  }

  /** Publisher counters (NOTIFYs, snapshot rows, errors). */
  get stats(): LivePublisherStats {
    return this.publisher.stats;
  }

  /**
   * After a restart: the session day of `resumeMinute` (the replay's first minute) starts with
   * the stored bars from that day's 04:00 up to the replay (trades records replayed from
   * `resumeMinute` on add to them), and previous closes are loaded for their symbols. A failure
   * is logged: live state then starts from the replay alone.
   */
  async restore(resumeMinute: number, symbols?: readonly string[]): Promise<void> {
    const throughMs = resumeMinute * 60_000;
    const day = sessionDayOf(throughMs);
    this.day.startDay(day);
    try {
      const figures = await storedDayFigures(this.db, {
        source: this.source,
        fromMs: sessionDayStart(day),
        throughMs,
        symbols,
      });
      this.day.restore(figures);
      // Published figures would go back by the replay's first minute until it is replayed.
      if (figures.length > 0) this.holdUntilMs = throughMs + 60_000;
      this.log.info({ sessionDay: day, symbols: figures.length }, 'live state rebuilt from bars');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not rebuild live state from bars');
    }
    await this.loadPrevCloses();
  }

  /** Starts publishing; reads the open minute's bars and stream clock from `aggregator`. */
  start(aggregator: LiveAggregatorView): void {
    this.aggregator = aggregator;
    this.holdSince = Date.now();
    this.day.markAllDirty();
    this.flush();
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Publishes the symbols changed since the last call; starts pending previous-close loads. */
  flush(): void {
    if (this.closed) return;
    const agg = this.aggregator;
    if (agg !== undefined) this.day.advanceTo(agg.streamClockMs);
    if (this.pendingPrev.length > 0 && this.loadingPrev === undefined) {
      if (Date.now() >= this.prevRetryAt) void this.loadPrevCloses();
    }
    if (this.day.dirty === 0 || this.holding()) return;
    const out = this.out;
    out.length = 0;
    this.day.takeDirty(this.visit);
    for (const i of this.skipped) this.day.markDirty(i);
    this.skipped.length = 0;
    if (out.length > 0) this.publisher.publish(out);
  }

  /**
   * True while a restore's replay has not passed its first minute: not yet at holdUntilMs by
   * the feed's time, not caught up with wall time (a restart within the live minute), and not
   * held for maxHoldMs. Listeners keep the previous process's states meanwhile.
   */
  private holding(): boolean {
    if (this.holdUntilMs === 0) return false;
    const clock = this.aggregator?.streamClockMs ?? 0;
    const now = Date.now();
    if (clock < this.holdUntilMs && clock < now - 2_000 && now - this.holdSince < this.maxHoldMs) {
      return true;
    }
    this.holdUntilMs = 0;
    this.day.markAllDirty();
    return false;
  }

  /** The bars of `minute` (epoch minute) and every earlier one are committed. */
  minuteWritten(minute: number): void {
    if (this.closed) return;
    void this.publisher.barsClosed(minute * 60_000);
  }

  /** Publishes what changed last and closes the publisher (waits for what is queued). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.flush();
    this.closed = true;
    await this.loadingPrev;
    await this.publisher.close();
  }

  private waitForPrev(i: number, now: number): void {
    if (i >= this.prevWaitSince.length) {
      const grown = new Float64Array(Math.max(i + 1, this.prevWaitSince.length * 2));
      grown.set(this.prevWaitSince);
      this.prevWaitSince = grown;
    }
    this.prevWaitSince[i] = now;
  }

  private copy(i: number): void {
    const waiting = this.prevWaitSince[i] ?? 0;
    if (waiting > 0) {
      if (Date.now() - waiting < this.maxPrevHoldMs) {
        this.skipped.push(i);
        return;
      }
      this.prevWaitSince[i] = 0;
    }
    let s = this.states[i];
    if (s === undefined) {
      s = { ...BLANK_STATE, symbol: this.day.symbols[i]! };
      this.states[i] = s;
    }
    this.day.fill(i, s);
    const slot = this.day.slotOfIndex(i);
    if (this.aggregator !== undefined && slot > 0) this.aggregator.openBarInto(slot, s);
    else s.barTimestamp = null;
    this.out.push(s);
  }

  /** Loads previous closes of the pending symbols for the current day (one query at a time). */
  private loadPrevCloses(): Promise<void> {
    if (this.loadingPrev) return this.loadingPrev;
    const symbols = this.pendingPrev;
    if (symbols.length === 0 || this.day.sessionDay === '') return Promise.resolve();
    this.pendingPrev = [];
    const day = this.day.sessionDay;
    this.loadingPrev = previousCloses(this.db, symbols, day)
      .then((found) => {
        // The day rolled over meanwhile: the rollover queued every symbol again.
        if (day !== this.day.sessionDay) return;
        const closes = new Map<string, number>();
        for (const [s, pc] of found) closes.set(s, pc.close);
        this.day.setPrevCloses(closes, symbols);
        for (const s of symbols) {
          const i = this.day.indexOfKnown(s);
          if (i !== undefined) this.prevWaitSince[i] = 0;
        }
      })
      .catch((err: unknown) => {
        this.pendingPrev.push(...symbols);
        this.prevRetryAt = Date.now() + this.retryMs;
        this.logError(err, 'previous closes');
      })
      .finally(() => {
        this.loadingPrev = undefined;
      });
    return this.loadingPrev;
  }

  private logError(err: unknown, what: string): void {
    // Once a minute at most: while Postgres is away every snapshot fails.
    const now = Date.now();
    if (now - this.lastErrorLogAt < 60_000) return;
    this.lastErrorLogAt = now;
    this.log.warn({ err: (err as Error)?.message ?? String(err), what }, 'live state write failed');
  }
}

/**
 * Each symbol's figures over its stored bars of this source from `fromMs` (the session day's
 * start) to before `throughMs`. Bars written before VWAP existed (vwap NULL) count at their
 * (high + low + close) / 3, the nearest stand-in for the day VWAP.
 */
export async function storedDayFigures(
  db: Db,
  o: { source: BarSource; fromMs: number; throughMs: number; symbols?: readonly string[] },
): Promise<StoredDayFigures[]> {
  const symbolFilter =
    o.symbols === undefined ? sql`` : sql`AND symbol = ANY(${[...o.symbols]}::text[])`;
  const res = await sql<{
    symbol: string;
    open: number;
    high: number;
    low: number;
    close: number;
    volume: number;
    trade_count: number;
    pv: number;
    last: Date;
  }>`
    SELECT symbol,
      ((array_agg(open ORDER BY timestamp))[1])::float8 AS open,
      max(high)::float8 AS high,
      min(low)::float8 AS low,
      ((array_agg(close ORDER BY timestamp DESC))[1])::float8 AS close,
      sum(volume)::float8 AS volume,
      sum(trade_count)::float8 AS trade_count,
      coalesce(sum(coalesce(vwap, (high + low + close) / 3) * volume), 0)::float8 AS pv,
      max(timestamp) AS last
    FROM price_bars
    WHERE timestamp >= ${new Date(o.fromMs)} AND timestamp < ${new Date(o.throughMs)}
      AND data_source = ${o.source} AND is_legacy = false AND deleted_at IS NULL
      ${symbolFilter}
    GROUP BY symbol`.execute(db);
  return res.rows.map((r) => ({
    symbol: r.symbol,
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    volume: r.volume,
    tradeCount: r.trade_count,
    priceVolume: r.pv,
    lastBarMs: new Date(r.last).getTime(),
  }));
}
