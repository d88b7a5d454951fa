import pg from 'pg';
import { DEFAULT_FEED, LIVE_CHANNEL, type LiveStateRow, parsePayload } from './live-state.js';

/** What a LiveListener reports, in the order it learns it. */
export type LiveEvent =
  /** Changed states (from a notification). */
  | { type: 'states'; rows: LiveStateRow[] }
  /** The bars of every minute up to `closedThrough` (epoch ms of a bar open) are in price_bars. */
  | { type: 'closed'; closedThrough: number }
  /**
   * The connection is (re)established and listening: every row of live_state and the feed's
   * closed mark as they stand now. Notifications before it may be older than these rows; apply
   * rows by version.
   */
  | { type: 'synced'; rows: LiveStateRow[]; closedThrough: number | null; reconnect: boolean }
  /** The connection was lost (a reconnect is scheduled). */
  | { type: 'disconnected'; error: unknown };

/** Options of LiveListener. */
export interface LiveListenerOptions {
  /** Postgres URL; the listener keeps one connection of its own. */
  url: string;
  onEvent: (event: LiveEvent) => void;
  /** Feed whose closed mark is followed (default `default`). */
  feed?: string;
  channel?: string;
  /** First and largest delay between reconnect attempts (default 250 ms, 5 s; doubled each try). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  applicationName?: string;
}

/** Rows of live_state as the listener reads them (times as epoch ms, bigints as text). */
interface LiveStateDbRow {
  symbol: string;
  version: string;
  session_day: string;
  price: number;
  bid: number;
  ask: number;
  last_size: string;
  last_ts: string;
  day_open: number;
  day_high: number;
  day_low: number;
  volume: string;
  trade_count: number;
  vwap: number | null;
  prev_close: number | null;
  bar_timestamp: string | null;
  bar_open: number | null;
  bar_high: number | null;
  bar_low: number | null;
  bar_close: number | null;
  bar_volume: string | null;
  bar_trade_count: number | null;
  bar_vwap: number | null;
}

const READ_STATE = `SELECT symbol, version::text, session_day::text, price, bid, ask, last_size::text,
    (extract(epoch FROM last_ts) * 1000)::float8::text AS last_ts, day_open, day_high, day_low,
    volume::text, trade_count, vwap, prev_close,
    (extract(epoch FROM bar_timestamp) * 1000)::float8::text AS bar_timestamp, bar_open, bar_high,
    bar_low, bar_close, bar_volume::text, bar_trade_count, bar_vwap
  FROM live_state`;

function fromDb(r: LiveStateDbRow): LiveStateRow {
  return {
    symbol: r.symbol,
    version: Number(r.version),
    sessionDay: r.session_day,
    price: r.price,
    bid: r.bid,
    ask: r.ask,
    lastSize: Number(r.last_size),
    lastTs: Number(r.last_ts),
    dayOpen: r.day_open,
    dayHigh: r.day_high,
    dayLow: r.day_low,
    volume: Number(r.volume),
    tradeCount: r.trade_count,
    vwap: r.vwap,
    prevClose: r.prev_close,
    barTimestamp: r.bar_timestamp === null ? null : Number(r.bar_timestamp),
    barOpen: r.bar_open ?? 0,
    barHigh: r.bar_high ?? 0,
    barLow: r.bar_low ?? 0,
    barClose: r.bar_close ?? 0,
    barVolume: Number(r.bar_volume ?? 0),
    barTradeCount: r.bar_trade_count ?? 0,
    barVwap: r.bar_vwap,
  };
}

/** Reads every row of live_state (what a replica starts from). */
export async function readLiveState(client: pg.ClientBase): Promise<LiveStateRow[]> {
  const res = await client.query<LiveStateDbRow>(READ_STATE);
  return res.rows.map(fromDb);
}

/** Reads a feed's closed mark (epoch ms of the latest minute whose bars are all written). */
export async function readClosedThrough(
  client: pg.ClientBase,
  feed: string = DEFAULT_FEED,
): Promise<number | null> {
  const res = await client.query<{ ms: string | null }>(
    'SELECT (extract(epoch FROM closed_through) * 1000)::float8::text AS ms FROM live_feed WHERE feed = $1',
    [feed],
  );
  const ms = res.rows[0]?.ms;
  return ms === undefined || ms === null ? null : Number(ms);
}

/**
 * Follows live state on a dedicated LISTEN connection. On every (re)connect it listens first and
 * then reads live_state and the closed mark, so nothing published in between is missed; a lost
 * connection is retried with backoff until close().
 */
export class LiveListener {
  /** Times the connection came back after a loss. */
  reconnects = 0;
  private client: pg.Client | undefined;
  private readonly channel: string;
  private readonly feed: string;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private delay: number;
  private retry: NodeJS.Timeout | undefined;
  private everSynced = false;
  private stopped = false;
  private pid: number | undefined;

  constructor(private readonly options: LiveListenerOptions) {
    this.channel = options.channel ?? LIVE_CHANNEL;
    this.feed = options.feed ?? DEFAULT_FEED;
    this.minDelay = options.reconnectMinMs ?? 250;
    this.maxDelay = options.reconnectMaxMs ?? 5_000;
    this.delay = this.minDelay;
  }

  /** True while listening. */
  get connected(): boolean {
    return this.client !== undefined && this.pid !== undefined;
  }

  /** Backend pid of the LISTEN connection (tests terminate it), undefined when not connected. */
  get backendPid(): number | undefined {
    return this.pid;
  }

  /** Connects (retrying in the background on failure); resolves after the first attempt. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.pid = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName ?? 'timed-live-listener',
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    let lost = false;
    const onLost = (error: unknown) => {
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = undefined;
        this.pid = undefined;
      }
      client.end().catch(() => {});
      if (this.stopped) return;
      this.options.onEvent({ type: 'disconnected', error });
      this.schedule();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('LISTEN connection ended')));
    client.on('notification', (n) => {
      if (n.channel !== this.channel || n.payload === undefined) return;
      const message = parsePayload(n.payload);
      if (message?.kind === 'states') this.options.onEvent({ type: 'states', rows: message.rows });
      else if (message?.kind === 'closed' && message.feed === this.feed) {
        this.options.onEvent({ type: 'closed', closedThrough: message.closedThrough });
      }
    });
    try {
      await client.connect();
      this.client = client;
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
      const pidRes = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const rows = await readLiveState(client);
      const closedThrough = await readClosedThrough(client, this.feed);
      if (lost || this.stopped) return;
      this.pid = pidRes.rows[0]?.pid;
      const reconnect = this.everSynced;
      if (reconnect) this.reconnects++;
      this.everSynced = true;
      this.delay = this.minDelay;
      this.options.onEvent({ type: 'synced', rows, closedThrough, reconnect });
    } catch (err) {
      onLost(err);
    }
  }

  private schedule(): void {
    clearTimeout(this.retry);
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.maxDelay);
    this.retry = setTimeout(() => void this.connect(), delay);
    this.retry.unref();
  }
}
