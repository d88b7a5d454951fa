import { LiveError } from '../errors.js';
import { RType } from '../layout.js';
import type { Metadata } from '../metadata.js';
import type { DbnRecord } from '../records.js';
import { SymbolMap } from '../symbol-map.js';
import { LiveSession } from './live-session.js';
import {
  type Clock,
  defaultGateway,
  type LiveSubscription,
  parseHostPort,
  systemClock,
} from './protocol.js';

/** What the resume callback is told before each reconnect. */
export interface ResumeContext {
  /** 1 for the first reconnect after a failure, 2 for the next... */
  attempt: number;
  /** Why the previous connection ended. */
  error: LiveError;
  /** Latest `ts_event` of a data record received so far (any session). */
  lastTsEvent: bigint | undefined;
}

/** Lifecycle events, for logs and metrics. */
export type LiveEvent =
  | { type: 'connected'; sessionId: string; attempt: number }
  | { type: 'metadata'; metadata: Metadata }
  | { type: 'disconnected'; error: LiveError }
  | { type: 'reconnecting'; attempt: number; delayMs: number; start: bigint | string | undefined }
  | { type: 'gateway_error'; text: string; code: number | undefined };

/** Options of LiveClient. Everything comes from arguments; nothing reads the environment. */
export interface LiveClientOptions {
  apiKey: string;
  dataset: string;
  /** `host:port` override (default `<dataset>.lsg.databento.com:13000`). */
  gateway?: string;
  /** Subscriptions sent before start_session. */
  subscriptions: LiveSubscription[];
  tsOut?: boolean;
  /** `zstd` asks the gateway to compress the stream (decoded transparently). */
  compression?: 'none' | 'zstd';
  /** Requested heartbeat interval in seconds (default 30). */
  heartbeatIntervalS?: number;
  /** Silence that marks the connection dead (default (interval + 10) s). */
  heartbeatTimeoutMs?: number;
  connectTimeoutMs?: number;
  authTimeoutMs?: number;
  slowReaderBehavior?: 'warn' | 'skip';
  /** Reconnect policy; `false` disables reconnecting. */
  reconnect?:
    | false
    | {
        /** Consecutive failed attempts before giving up (default Infinity). */
        maxAttempts?: number;
        /** First backoff delay (default 1000 ms; the gateway wants >= 1 s). */
        baseDelayMs?: number;
        /** Backoff cap (default 60 000 ms). */
        maxDelayMs?: number;
      };
  /** Asked before each reconnect for the replay `start` of every subscription. */
  resumeStart?: (
    ctx: ResumeContext,
  ) => bigint | string | undefined | Promise<bigint | string | undefined>;
  /** Records buffered before the socket is paused (default 20 000). */
  highWaterMark?: number;
  clock?: Clock;
  /** Random source for backoff jitter (default Math.random). */
  random?: () => number;
  /** Client identification sent to the gateway. */
  client?: string;
  onEvent?: (event: LiveEvent) => void;
}

function isDataRecord(r: DbnRecord): boolean {
  return r.rtype !== RType.SYSTEM && r.rtype !== RType.ERROR && r.rtype !== RType.SYMBOL_MAPPING;
}

/**
 * Databento Live (Raw API) client: `for await (const rec of client)` yields every record
 * (data, SymbolMappingMsg, SystemMsg, ErrorMsg) with backpressure, and reconnects with
 * exponential backoff and jitter, asking `resumeStart` for the replay start each time.
 */
export class LiveClient implements AsyncIterable<DbnRecord> {
  readonly symbols = new SymbolMap();
  metadata: Metadata | undefined;
  sessionId: string | undefined;
  private readonly opts: LiveClientOptions;
  private readonly clock: Clock;
  private readonly host: string;
  private readonly port: number;
  private readonly hwm: number;
  private queue: DbnRecord[] = [];
  private head = 0;
  private session: LiveSession | undefined;
  private wake: (() => void) | undefined;
  private failure: LiveError | undefined;
  private done = false;
  private closed = false;
  private running: Promise<void> | undefined;
  private firstOpen: Promise<void> | undefined;
  private sleepTimer: unknown;
  private sleepResolve: (() => void) | undefined;
  private lastTsEvent: bigint | undefined;
  private iterating = false;
  private iterationEnded = false;
  private drainWaiters: Array<() => void> = [];

  constructor(options: LiveClientOptions) {
    if (!options.apiKey || options.apiKey.length < 5) {
      throw new LiveError('INVALID_ARGUMENT', 'apiKey must be at least 5 characters');
    }
    if (options.subscriptions.length === 0) {
      throw new LiveError('INVALID_ARGUMENT', 'at least one subscription is required');
    }
    this.opts = options;
    this.clock = options.clock ?? systemClock;
    const gw = options.gateway ? parseHostPort(options.gateway) : defaultGateway(options.dataset);
    this.host = gw.host;
    this.port = gw.port;
    this.hwm = options.highWaterMark ?? 20_000;
  }

  /**
   * Connect, authenticate and start the session. Resolves once the first session started;
   * rejects with LiveError if that first attempt fails for good (e.g. AUTH_FAILED).
   */
  start(): Promise<void> {
    if (!this.firstOpen) {
      let resolveFirst!: () => void;
      let rejectFirst!: (e: unknown) => void;
      this.firstOpen = new Promise((res, rej) => {
        resolveFirst = res;
        rejectFirst = rej;
      });
      this.firstOpen.catch(() => {});
      this.running = this.supervise(resolveFirst, rejectFirst).catch((err: unknown) => {
        // e.g. a throwing resumeStart callback: end the stream with that error.
        const e =
          err instanceof LiveError
            ? err
            : new LiveError('INVALID_ARGUMENT', `live client stopped: ${(err as Error).message}`, {
                cause: err,
              });
        rejectFirst(e);
        this.session?.close();
        this.finishIteration(e);
      });
    }
    return this.firstOpen;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<DbnRecord> {
    if (this.iterating) throw new LiveError('INVALID_ARGUMENT', 'a LiveClient is iterated once');
    this.iterating = true;
    void this.start();
    try {
      for (;;) {
        if (this.head < this.queue.length) {
          const rec = this.queue[this.head++]!;
          if (this.head === this.queue.length) {
            this.queue = [];
            this.head = 0;
            this.session?.resume();
          } else if (this.head > this.hwm / 2 && this.queue.length - this.head < this.hwm / 2) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
            this.session?.resume();
          }
          yield rec;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.done) return;
        await new Promise<void>((res) => {
          this.wake = res;
          this.wakeDrainWaiters();
        });
      }
    } finally {
      this.iterationEnded = true;
      this.wakeDrainWaiters();
      await this.close();
    }
  }

  /**
   * Resolves once the iterator waits for a record with none queued (every record received so far
   * was handed out and its consumer has asked for the next) or iteration ended: what a consumer
   * waits for in `resumeStart` before it computes the resume point.
   */
  drained(): Promise<void> {
    if (this.wake !== undefined || this.iterationEnded) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Close the connection and stop reconnecting; pending iteration ends. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sleepTimer !== undefined) this.clock.clearTimeout(this.sleepTimer);
    this.sleepResolve?.();
    this.session?.close();
    this.finishIteration();
    await this.running?.catch(() => {});
  }

  private finishIteration(err?: LiveError): void {
    if (err && !this.failure) this.failure = err;
    this.done = true;
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private emit(event: LiveEvent): void {
    this.opts.onEvent?.(event);
  }

  private policy(): { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number } {
    return this.opts.reconnect === false ? {} : (this.opts.reconnect ?? {});
  }

  private backoff(attempt: number): number {
    const r = this.policy();
    const base = r.baseDelayMs ?? 1000;
    const cap = r.maxDelayMs ?? 60_000;
    const exp = Math.min(cap, base * 2 ** (attempt - 1));
    // "Equal jitter": at least half the exponential delay, never a thundering herd.
    return Math.round(exp / 2 + (this.opts.random ?? Math.random)() * (exp / 2));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      this.sleepResolve = res;
      this.sleepTimer = this.clock.setTimeout(() => {
        this.sleepTimer = undefined;
        res();
      }, ms);
    });
  }

  private async supervise(resolveFirst: () => void, rejectFirst: (e: unknown) => void) {
    let subscriptions = this.opts.subscriptions;
    let attempt = 0;
    let started = false;
    const maxAttempts = this.policy().maxAttempts ?? Number.POSITIVE_INFINITY;
    while (!this.closed) {
      const session = this.newSession(subscriptions);
      this.session = session;
      let error: LiveError | null;
      try {
        this.sessionId = await session.open();
        this.emit({ type: 'connected', sessionId: this.sessionId, attempt });
        if (!started) resolveFirst();
        started = true;
        attempt = 0;
        error = await session.ended;
      } catch (err) {
        error = err as LiveError;
        await session.ended;
      }
      if (this.closed || error === null) break;
      this.emit({ type: 'disconnected', error });
      attempt++;
      if (!error.retryable || this.opts.reconnect === false || attempt > maxAttempts) {
        const final =
          error.retryable && this.opts.reconnect !== false
            ? new LiveError('RECONNECT_EXHAUSTED', `gave up after ${attempt - 1} reconnects`, {
                cause: error,
              })
            : error;
        if (!started) rejectFirst(final);
        this.finishIteration(final);
        return;
      }
      const delayMs = this.backoff(attempt);
      const start = await this.opts.resumeStart?.({
        attempt,
        error,
        lastTsEvent: this.lastTsEvent,
      });
      subscriptions = this.opts.subscriptions.map((s) => ({ ...s, start }));
      this.emit({ type: 'reconnecting', attempt, delayMs, start });
      await this.sleep(delayMs);
    }
    this.finishIteration();
  }

  private newSession(subscriptions: LiveSubscription[]): LiveSession {
    const o = this.opts;
    const interval = o.heartbeatIntervalS ?? 30;
    const session: LiveSession = new LiveSession(
      {
        host: this.host,
        port: this.port,
        apiKey: o.apiKey,
        dataset: o.dataset,
        subscriptions,
        tsOut: o.tsOut ?? false,
        compression: o.compression ?? 'none',
        heartbeatIntervalS: interval,
        heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? (interval + 10) * 1000,
        connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
        authTimeoutMs: o.authTimeoutMs ?? 30_000,
        slowReaderBehavior: o.slowReaderBehavior,
        client: o.client ?? 'timed-dbn/0.1.0 node',
        clock: this.clock,
      },
      {
        onMetadata: (md) => {
          this.metadata = md;
          this.emit({ type: 'metadata', metadata: md });
        },
        onRecords: (records) => {
          for (const r of records) {
            if (r.kind === 'SymbolMappingMsg') this.symbols.addMapping(r);
            else if (r.kind === 'ErrorMsg') {
              this.emit({ type: 'gateway_error', text: r.err, code: r.code });
            } else if (
              isDataRecord(r) &&
              (this.lastTsEvent === undefined || r.ts_event > this.lastTsEvent)
            ) {
              this.lastTsEvent = r.ts_event;
            }
            this.queue.push(r);
          }
          if (this.queue.length - this.head >= this.hwm) session.pause();
          this.signal();
        },
      },
    );
    return session;
  }
}
