import { sql } from 'kysely';
import type { Db } from './database.js';
import { ByteWriter, LiveRowStore, packPayloads, rowsArray, SlotQueue } from './live-rows.js';
import {
  closedPayload,
  DEFAULT_FEED,
  LIVE_CHANNEL,
  type LiveSymbolState,
  MAX_PAYLOAD_BYTES,
} from './live-state.js';

/** Options of LivePublisher. */
export interface LivePublisherOptions {
  /** Feed name in live_feed (one per screener/dataset; default `default`). */
  feed?: string;
  /** How often the latest states are upserted into live_state (default 1,000 ms). */
  snapshotIntervalMs?: number;
  /** NOTIFY channel (default `timed_live`). */
  channel?: string;
  /** Largest payload sent (default and ceiling 7,900 bytes; Postgres refuses 8,000). */
  maxPayloadBytes?: number;
  /** Wall clock in ms (versions are microseconds of it). */
  now?: () => number;
  /** Told about each failed write (the publisher keeps going). */
  onError?: (err: unknown, what: 'notify' | 'snapshot' | 'closed') => void;
}

/** What a publisher has done since it started. */
export interface LivePublisherStats {
  /** States handed to publish(). */
  published: number;
  /** States replaced by a newer one of the same symbol before they went out. */
  coalesced: number;
  notifications: number;
  payloadBytes: number;
  largestPayloadBytes: number;
  /** Rows upserted into live_state, and the statements that did it. */
  snapshotRows: number;
  snapshotWrites: number;
  closedMinutes: number;
  errors: number;
}

interface ClosedWaiter {
  minuteMs: number;
  resolve: (sent: boolean) => void;
}

const SNAPSHOT_COLUMNS = sql.raw(`symbol, version, session_day, price, bid, ask, last_size, last_ts,
  day_open, day_high, day_low, volume, trade_count, vwap, prev_close, bar_timestamp, bar_open,
  bar_high, bar_low, bar_close, bar_volume, bar_trade_count, bar_vwap, updated_at`);

/**
 * Publishes live state through Postgres: each publish() is coalesced per symbol and goes out as
 * NOTIFY payloads (at most maxPayloadBytes each, many rows per payload) as soon as the previous
 * round is done; the latest row per symbol is upserted into live_state every snapshotIntervalMs,
 * which is what a listener reads when it (re)connects. barsClosed(minute) tells listeners that a
 * minute's bars are all in price_bars. A failed NOTIFY is counted and dropped (the table recovers
 * it); a failed snapshot is retried with the next one; a closed doorbell is retried until sent.
 */
export class LivePublisher {
  readonly stats: LivePublisherStats = {
    published: 0,
    coalesced: 0,
    notifications: 0,
    payloadBytes: 0,
    largestPayloadBytes: 0,
    snapshotRows: 0,
    snapshotWrites: 0,
    closedMinutes: 0,
    errors: 0,
  };
  private readonly feed: string;
  private readonly channel: string;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly onError: NonNullable<LivePublisherOptions['onError']>;
  private lastVersion = 0;
  /** Newest state per symbol; the queues hold its slots until they are sent / written. */
  private readonly store = new LiveRowStore();
  private readonly pendingNotify = new SlotQueue();
  private readonly pendingSnapshot = new SlotQueue();
  /** Slots of the snapshot being written (queued again if it fails). */
  private readonly snapshotInFlight = new SlotQueue();
  /** Reused between rounds (a round's bytes are sent before the next round starts). */
  private readonly notifyBytes = new ByteWriter(256 * 1024);
  private readonly snapshotBytes = new ByteWriter(256 * 1024);
  private closedWaiters: ClosedWaiter[] = [];
  private pumping: Promise<void> | undefined;
  private snapshotting: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private closing = false;
  private closed = false;

  constructor(
    private readonly db: Db,
    options: LivePublisherOptions = {},
  ) {
    this.feed = options.feed ?? DEFAULT_FEED;
    this.channel = options.channel ?? LIVE_CHANNEL;
    this.maxBytes = Math.min(options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES);
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.timer = setInterval(() => void this.writeSnapshot(), options.snapshotIntervalMs ?? 1_000);
    this.timer.unref();
  }

  /**
   * Queues the states of changed symbols (read during the call only: the caller may reuse the
   * objects). One version stamps the whole call; a symbol queued again before it went out keeps
   * only its latest state. Copies numbers only: rows are encoded when they go out.
   */
  publish(states: Iterable<LiveSymbolState>): void {
    if (this.closed) throw new Error('LivePublisher: publish after close');
    const version = this.nextVersion();
    for (const s of states) {
      const slot = this.store.put(s, version);
      if (!this.pendingNotify.add(slot)) this.stats.coalesced++;
      this.pendingSnapshot.add(slot);
      this.stats.published++;
    }
    this.kick();
  }

  /**
   * Records that every bar of the minute opening at `minuteMs` is in price_bars (call it after
   * that write commits) and rings the doorbell, after the states queued before it. Retried until
   * stored and sent; resolves true then, or false when close() gave up on it (never rejects, so
   * it may be left unawaited). Listeners catch up from live_feed either way.
   */
  barsClosed(minuteMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.closedWaiters.push({ minuteMs, resolve });
      this.kick();
    });
  }

  /** Resolves once everything queued so far has been sent (or its NOTIFY failed). */
  async sent(): Promise<void> {
    while (this.pumping || this.pendingNotify.size > 0 || this.closedWaiters.length) {
      this.kick();
      await this.pumping;
    }
  }

  /** Sends everything queued and writes the snapshot now. */
  async flush(): Promise<void> {
    await this.sent();
    await this.writeSnapshot();
  }

  /** Flushes and stops; the Db stays open (its owner closes it). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    // A doorbell that cannot be sent now fails instead of being retried forever.
    this.closing = true;
    await this.flush();
    this.closed = true;
  }

  private nextVersion(): number {
    this.lastVersion = Math.max(Math.floor(this.now() * 1000), this.lastVersion + 1);
    return this.lastVersion;
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // Work queued during the last round's await.
      if (this.pendingNotify.size > 0 || this.closedWaiters.length) this.kick();
    });
  }

  private async pump(): Promise<void> {
    // The doorbells rung so far go after this round's states; one rung while the states are in
    // flight waits for the next round, so the states queued before it still go out first.
    const waiters = this.closedWaiters;
    this.closedWaiters = [];
    if (this.pendingNotify.size > 0) {
      const packed = packPayloads(this.store, this.pendingNotify, this.notifyBytes, this.maxBytes);
      try {
        // One statement: the payloads of a round are committed (and delivered) together, in
        // order. They travel as one binary parameter (no text-array quoting of every row).
        await sql`SELECT pg_notify(${this.channel}, p)
          FROM unnest(string_to_array(${this.notifyBytes.view()}::text, E'\\n'))
            WITH ORDINALITY AS t(p, i)
          ORDER BY i`.execute(this.db);
        this.stats.notifications += packed.count;
        this.stats.payloadBytes += packed.totalBytes;
        if (packed.largestBytes > this.stats.largestPayloadBytes) {
          this.stats.largestPayloadBytes = packed.largestBytes;
        }
      } catch (err) {
        // Listeners catch up from live_state (written below on its own schedule).
        this.stats.errors++;
        this.onError(err, 'notify');
      }
    }
    if (waiters.length) {
      const minuteMs = Math.max(...waiters.map((w) => w.minuteMs));
      try {
        await sql`WITH mark AS (
            INSERT INTO live_feed (feed, closed_through, updated_at)
            VALUES (${this.feed}, to_timestamp(${minuteMs}::float8 / 1000), now())
            ON CONFLICT (feed) DO UPDATE SET
              closed_through = GREATEST(live_feed.closed_through, EXCLUDED.closed_through),
              updated_at = now())
          SELECT pg_notify(${this.channel}, ${closedPayload(this.feed, minuteMs)})`.execute(
          this.db,
        );
        this.stats.closedMinutes++;
        for (const w of waiters) w.resolve(true);
      } catch (err) {
        this.stats.errors++;
        this.onError(err, 'closed');
        if (this.closing) {
          for (const w of waiters) w.resolve(false);
          return;
        }
        this.closedWaiters = waiters.concat(this.closedWaiters);
        // Postgres is down or busy: try again shortly rather than spin.
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private writeSnapshot(): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    if (this.pendingSnapshot.size === 0) return Promise.resolve();
    const n = rowsArray(
      this.store,
      this.pendingSnapshot,
      this.snapshotInFlight,
      this.snapshotBytes,
    );
    this.snapshotting = this.upsert(this.snapshotBytes.view())
      .then(() => {
        this.stats.snapshotRows += n;
        this.stats.snapshotWrites++;
        this.snapshotInFlight.drain(() => {});
      })
      .catch((err: unknown) => {
        this.stats.errors++;
        this.onError(err, 'snapshot');
        // Written with the next snapshot, with the symbol's newest state by then.
        this.snapshotInFlight.drain((slot) => this.pendingSnapshot.add(slot));
      })
      .finally(() => {
        this.snapshotting = undefined;
      });
    return this.snapshotting;
  }

  /** Upserts the rows of a JSON array (UTF-8 bytes, sent as one binary text parameter). */
  private async upsert(rows: Buffer): Promise<void> {
    await sql`INSERT INTO live_state (${SNAPSHOT_COLUMNS})
      SELECT r->>0, (r->>1)::bigint, (r->>2)::date, (r->>3)::float8, (r->>4)::float8,
        (r->>5)::float8, (r->>6)::numeric::bigint, to_timestamp((r->>7)::float8 / 1000),
        (r->>8)::float8, (r->>9)::float8, (r->>10)::float8, (r->>11)::numeric::bigint,
        (r->>12)::numeric::integer, (r->>13)::float8, (r->>14)::float8,
        to_timestamp((r->>15)::float8 / 1000), (r->>16)::float8, (r->>17)::float8,
        (r->>18)::float8, (r->>19)::float8, (r->>20)::numeric::bigint,
        (r->>21)::numeric::integer, (r->>22)::float8, now()
      -- jsonb: each row is parsed once (->> on json text re-parses it per field).
      FROM jsonb_array_elements(${rows}::text::jsonb) AS r
      ON CONFLICT (symbol) DO UPDATE SET
        version = EXCLUDED.version, session_day = EXCLUDED.session_day, price = EXCLUDED.price,
        bid = EXCLUDED.bid, ask = EXCLUDED.ask, last_size = EXCLUDED.last_size,
        last_ts = EXCLUDED.last_ts, day_open = EXCLUDED.day_open, day_high = EXCLUDED.day_high,
        day_low = EXCLUDED.day_low, volume = EXCLUDED.volume, trade_count = EXCLUDED.trade_count,
        vwap = EXCLUDED.vwap, prev_close = EXCLUDED.prev_close,
        bar_timestamp = EXCLUDED.bar_timestamp, bar_open = EXCLUDED.bar_open,
        bar_high = EXCLUDED.bar_high, bar_low = EXCLUDED.bar_low, bar_close = EXCLUDED.bar_close,
        bar_volume = EXCLUDED.bar_volume, bar_trade_count = EXCLUDED.bar_trade_count,
        bar_vwap = EXCLUDED.bar_vwap, updated_at = now()
      WHERE live_state.version <= EXCLUDED.version`.execute(this.db);
  }
}
