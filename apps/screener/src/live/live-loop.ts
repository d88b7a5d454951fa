import { type DbnRecord, type LiveClient, LiveError, type LiveEvent } from '@timed/dbn';
import type { Logger } from 'pino';
import { BarAggregator } from '../aggregate/bar-aggregator.js';
import type { LivePublishing } from '../live-state/live-publishing.js';
import { createLiveSource, type LiveSourceOptions } from '../sources/live-source.js';
import type { BarWriter } from '../store/bar-writer.js';
import type { DaemonConfig } from './daemon-config.js';

const MINUTE_MS = 60_000;
const MINUTE_NS = 60_000_000_000n;

/** Opens a live client (default: @timed/dbn's LiveClient through createLiveSource). */
export type OpenLive = (options: LiveSourceOptions) => LiveClient;

/** Collaborators of the live loop. */
export interface LiveLoopOptions {
  config: DaemonConfig;
  writer: BarWriter;
  log: Logger;
  openLive?: OpenLive | undefined;
  /** Told about each gateway error (the heartbeat row counts them). */
  onGatewayError: (text: string) => void;
  /** Live state, fed by every aggregated record; none when off. */
  liveState?: LivePublishing | undefined;
}

/** How one live session ended. */
type SessionEnd = 'stopped' | 'recover' | LiveError;

/**
 * Consumes the live client into the aggregator, session after session. Before each reconnect it
 * waits until every record of the old session is aggregated, then resyncs the aggregator to the
 * oldest minute not known complete and asks the gateway to replay from it (minus a margin;
 * earlier records are dropped by ts_recv). When bars were refused during a Postgres outage, it
 * ends the session once Postgres is back and replays from their minute ('recover').
 */
export class LiveLoop {
  readonly aggregator: BarAggregator;
  private client: LiveClient | undefined;
  private readonly replayMarginNs: bigint;
  /** Where the first session starts (also the resume point before any record). */
  private firstMinute = 0;

  constructor(private readonly o: LiveLoopOptions) {
    this.replayMarginNs = BigInt(o.config.replayMarginMs ?? 30_000) * 1_000_000n;
    this.aggregator = new BarAggregator({
      source: o.config.schema,
      symbolOf: (id) => this.client?.symbols.get(id),
      onBars: (closed) => o.writer.enqueue(closed.toBarInputs(), closed.minute),
      onMinuteClosed: o.liveState ? (minute) => o.writer.markClosed(minute) : undefined,
      live: o.liveState?.day,
      onUnmapped: (id, symbol) =>
        o.log.warn(
          { instrumentId: id, symbol },
          'records of an instrument without a storable symbol are skipped',
        ),
    });
  }

  /** Runs until `stop` aborts (undefined) or the feed fails for good (the LiveError). */
  async run(firstMinute: number, stop: AbortSignal): Promise<LiveError | undefined> {
    this.firstMinute = firstMinute;
    let start = firstMinute;
    for (;;) {
      // A stop that came during start-up (resume point, live-state rebuild) fired before any
      // session listened for it.
      if (stop.aborted) return undefined;
      const end = await this.session(start, stop);
      if (end === 'stopped') return undefined;
      if (end !== 'recover') return end;
      start = this.resumeMinute();
    }
  }

  private async session(startMinute: number, stop: AbortSignal): Promise<SessionEnd> {
    const { config, writer, log } = this.o;
    this.aggregator.resync(startMinute);
    const client = (this.o.openLive ?? createLiveSource)({
      apiKey: config.apiKey,
      dataset: config.dataset,
      gateway: config.gateway,
      schema: config.schema,
      symbols: config.symbols.all ? 'ALL_SYMBOLS' : config.symbols.symbols,
      start: this.replayStartOf(startMinute),
      heartbeatIntervalS: config.heartbeatIntervalS ?? 10,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      reconnectBaseMs: config.reconnectBaseMs ?? 1_000,
      reconnectMaxMs: config.reconnectMaxMs ?? 30_000,
      resumeStart: async () => {
        // Every record of the old session aggregated first (it is closed: nothing more comes).
        await client.drained();
        const m = this.resumeMinute();
        this.aggregator.resync(m);
        return this.replayStartOf(m);
      },
      onEvent: (e) => this.onEvent(e),
    });
    this.client = client;
    const onStop = () => void client.close();
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) onStop();
    let recover = false;
    const watchdog = setInterval(() => {
      // Bars refused while Postgres was down: once it is back, replay from them.
      if (writer.droppedFromMinute !== undefined && !writer.inOutage && writer.buffered === 0) {
        recover = true;
        log.warn(
          { from: new Date(writer.droppedFromMinute * MINUTE_MS).toISOString() },
          'rebuilding bars refused during the outage by replaying from their minute',
        );
        void client.close();
      }
    }, 1_000);
    watchdog.unref();
    const records = client[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await records.next();
        if (next.done) break;
        this.aggregator.handleRecord(next.value as DbnRecord);
      }
      if (stop.aborted) return 'stopped';
      return recover ? 'recover' : 'stopped';
    } catch (err) {
      if (stop.aborted) return 'stopped';
      if (err instanceof LiveError) return err;
      throw err;
    } finally {
      clearInterval(watchdog);
      stop.removeEventListener('abort', onStop);
    }
  }

  /** The minute to replay from: the aggregator's, or an older one whose bars were refused. */
  private resumeMinute(): number {
    const { writer } = this.o;
    let m = this.aggregator.resumeMinute ?? this.firstMinute;
    const dropped = writer.droppedFromMinute;
    if (dropped !== undefined && dropped < m) {
      m = dropped;
      writer.clearDropped();
    }
    return m;
  }

  private replayStartOf(minute: number): bigint {
    return BigInt(minute) * MINUTE_NS - this.replayMarginNs;
  }

  private onEvent(e: LiveEvent): void {
    const { log } = this.o;
    if (e.type === 'connected') {
      log.info({ sessionId: e.sessionId, attempt: e.attempt }, 'connected to the live gateway');
    } else if (e.type === 'disconnected') {
      log.warn({ code: e.error.code, err: e.error.message }, 'live connection lost');
    } else if (e.type === 'reconnecting') {
      log.info(
        {
          attempt: e.attempt,
          delayMs: e.delayMs,
          replayFrom:
            typeof e.start === 'bigint'
              ? new Date(Number(e.start / 1_000_000n)).toISOString()
              : e.start,
        },
        'reconnecting with intraday replay',
      );
    } else if (e.type === 'gateway_error') {
      this.o.onGatewayError(e.text);
      log.warn({ gatewayCode: e.code, text: e.text }, 'gateway error');
    } else if (e.type === 'metadata') {
      log.debug({ start: String(e.metadata.start) }, 'session metadata');
    }
  }
}
