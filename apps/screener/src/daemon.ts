import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '@timed/db';
import { upsertBars } from '@timed/db';
import { type DbnRecord, type LiveClient, LiveError, type LiveEvent } from '@timed/dbn';
import type { Logger } from 'pino';
import { BarAggregator, type BarSource } from './bar-aggregator.js';
import { BarWriter, type BarWriterOptions } from './bar-writer.js';
import type { SymbolSelection } from './env.js';
import type { LockHeldError, ScreenerError } from './errors.js';
import { type InstanceCounters, InstanceRegistry, lastWrittenMinute } from './instance-registry.js';
import { createLiveSource, type LiveSourceOptions } from './live-source.js';
import { WriterLock } from './writer-lock.js';

/** Configuration of the live daemon (built from env.ts by the run command, or by tests). */
export interface DaemonConfig {
  dataset: string;
  schema: BarSource;
  symbols: SymbolSelection;
  apiKey: string;
  /** Live gateway `host:port`. */
  gateway: string;
  /** Requested gateway heartbeat interval in s (default 10). */
  heartbeatIntervalS?: number;
  /** Silence after which the connection is declared dead (default interval + 10 s). */
  heartbeatTimeoutMs?: number;
  /** Reconnect backoff (default 1 s doubling to 30 s). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** Wall-clock grace after a minute's end before its provisional snapshot (default 2 s). */
  graceMs?: number;
  /** Heartbeat row interval (default 5 s). */
  heartbeatRowMs?: number;
  /** How far before a resume minute the replay starts, to catch ts_event < ts_recv (30 s). */
  replayMarginMs?: number;
  /** Oldest resume point still inside the gateway's replay window (default 23 h 50 min). */
  maxReplayAgeMs?: number;
  /** Epoch minute to replay from when no recent bars are stored (default: the current minute). */
  coldStartMinute?: number;
  /** Interval of the stats log line (default 60 s). */
  statsLogMs?: number;
  /** Writer tuning (bounded buffer while Postgres is down). */
  writer?: Pick<BarWriterOptions, 'maxBuffered' | 'batchSize' | 'retryMaxMs'>;
  /** Max wait for closed bars to be written on shutdown (default 30 s). */
  shutdownFlushMs?: number;
}

/** Collaborators of the daemon. */
export interface DaemonDeps {
  db: Db;
  /** URL of the same database, for the lock's dedicated connection. */
  dbUrl: string;
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  /** Opens the live client (default: @timed/dbn's LiveClient). */
  openLive?: (options: LiveSourceOptions) => LiveClient;
}

/** How the daemon ended. */
export interface DaemonResult {
  /** 0 clean stop, 1 failure or unflushed bars, 3 lock taken over. */
  exitCode: number;
  barsWritten: number;
  unflushed: number;
}

const MINUTE_MS = 60_000;

/**
 * The live screener: holds the single-writer lock, registers its heartbeat row, subscribes to the
 * Live gateway with intraday replay from the oldest minute not yet written, aggregates bars and
 * writes them; reconnects replay from the open minute, so no gap and nothing counted twice.
 */
export async function runDaemon(config: DaemonConfig, deps: DaemonDeps): Promise<DaemonResult> {
  const { logger, db } = deps;
  const log = logger.child({ dataset: config.dataset, schema: config.schema });
  const instanceId = randomUUID();
  const info = {
    instanceId,
    host: hostname(),
    pid: process.pid,
    dataset: config.dataset,
    schema: config.schema,
  };
  let takenOver: LockHeldError | undefined;
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  deps.signal.addEventListener('abort', stop, { once: true });
  if (deps.signal.aborted) stop();

  const lock = await WriterLock.acquire({
    url: deps.dbUrl,
    dataset: config.dataset,
    schema: config.schema,
    instanceId,
    logger: log,
    onTakenOver: (err) => {
      takenOver = err;
      log.error({ holder: err.holder }, `single-writer lock taken over: ${err.message}`);
      stop();
    },
  });
  const registry = new InstanceRegistry(db, info, log);
  let gatewayErrors = 0;
  let lastGatewayError: { text: string; at: Date } | undefined;
  const writer = new BarWriter({
    write: (bars) => upsertBars(db, bars),
    logger: log,
    canWrite: () => lock.held,
    ...config.writer,
  });
  let aggregator: BarAggregator | undefined;
  const counters = (): InstanceCounters => {
    // The most recent of: a write failure, a gateway error, a lost lock connection.
    const candidates: Array<{ text: string; at: Date }> = [];
    if (writer.stats.lastError && writer.stats.lastErrorAt) {
      candidates.push({ text: writer.stats.lastError, at: writer.stats.lastErrorAt });
    }
    if (lastGatewayError) candidates.push(lastGatewayError);
    if (lock.lastLossAt) {
      candidates.push({ text: 'lost the single-writer lock connection', at: lock.lastLossAt });
    }
    candidates.sort((a, b) => b.at.getTime() - a.at.getTime());
    return {
      tradesSeen: aggregator?.stats.aggregated ?? 0,
      barsWritten: writer.stats.barsWritten,
      errors: writer.stats.failures + gatewayErrors + lock.losses,
      lastError: candidates[0]?.text,
      lastErrorAt: candidates[0]?.at,
    };
  };
  const timers: NodeJS.Timeout[] = [];
  try {
    await registry.register();
    registry.start(config.heartbeatRowMs ?? 5_000, counters);
    log.info({ instanceId, host: info.host, pid: info.pid }, 'single-writer lock held');

    const symbolsList = config.symbols.all ? undefined : config.symbols.symbols;
    const last = await lastWrittenMinute(db, {
      source: config.schema,
      symbols: symbolsList,
      since: new Date(Date.now() - (config.maxReplayAgeMs ?? 23 * 3_600_000 + 50 * 60_000)),
    });
    const coldMinute = config.coldStartMinute ?? Math.floor(Date.now() / MINUTE_MS);
    const firstMinute = last ?? coldMinute;
    log.info(
      {
        resumeFrom: new Date(firstMinute * MINUTE_MS).toISOString(),
        reason:
          last === undefined
            ? 'no recent bars: start of the current minute'
            : 'last written minute',
      },
      'replaying from the oldest minute not known complete',
    );

    const live = startLiveLoop({ config, deps, log, writer, firstMinute, stopped: stopped.signal });
    aggregator = live.aggregator;
    timers.push(setInterval(() => live.aggregator.tick(config.graceMs ?? 2_000), 500));
    timers.push(
      setInterval(() => {
        const a = live.aggregator;
        log.info(
          {
            lagMs: a.streamClockMs > 0 ? Date.now() - a.streamClockMs : undefined,
            openMinute:
              a.openMinute === undefined
                ? undefined
                : new Date(a.openMinute * MINUTE_MS).toISOString(),
            records: a.stats.records,
            aggregated: a.stats.aggregated,
            barsWritten: writer.stats.barsWritten,
            buffered: writer.buffered,
            skipped: {
              undefinedPrice: a.stats.undefinedPrice,
              undefinedSide: a.stats.undefinedSide,
              wideSpread: a.stats.wideSpread,
              unmapped: a.stats.unmapped,
              late: a.stats.late,
            },
          },
          'stats',
        );
      }, config.statsLogMs ?? 60_000),
    );
    for (const t of timers) t.unref();
    live.onGatewayError = (text) => {
      gatewayErrors++;
      lastGatewayError = { text, at: new Date() };
    };
    const failure = await live.done;
    for (const t of timers) clearInterval(t);

    const flushed = await writer.drain(takenOver ? 0 : (config.shutdownFlushMs ?? 30_000));
    const unflushed = writer.buffered;
    if (!flushed) {
      log.error({ unflushed }, 'could not write every closed bar before exiting');
    } else {
      log.info(
        { barsWritten: writer.stats.barsWritten },
        'closed bars written; open minute left to replay',
      );
    }
    let exitCode = 0;
    if (takenOver) exitCode = 3;
    else if (failure || !flushed) exitCode = 1;
    if (failure) log.error({ code: failure.code }, `live feed failed: ${failure.message}`);
    return { exitCode, barsWritten: writer.stats.barsWritten, unflushed };
  } finally {
    for (const t of timers) clearInterval(t);
    writer.close();
    await registry.stop(counters()).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'could not mark the heartbeat row stopped');
    });
    await lock.release();
    deps.signal.removeEventListener('abort', stop);
  }
}

interface LiveLoop {
  aggregator: BarAggregator;
  /** Resolves when the loop ends: undefined on a requested stop, else the failure. */
  done: Promise<LiveError | ScreenerError | undefined>;
  onGatewayError: (text: string) => void;
}

/**
 * Consumes the live client into the aggregator. Before each reconnect it waits until every record
 * of the old session is aggregated, then resyncs the aggregator to the open minute and asks the
 * gateway to replay from it (minus a margin; earlier records are dropped by ts_recv).
 */
function startLiveLoop(args: {
  config: DaemonConfig;
  deps: DaemonDeps;
  log: Logger;
  writer: BarWriter;
  firstMinute: number;
  stopped: AbortSignal;
}): LiveLoop {
  const { config, deps, log, writer, stopped } = args;
  const marginNs = BigInt(config.replayMarginMs ?? 30_000) * 1_000_000n;
  let client: LiveClient | undefined;
  const aggregator = new BarAggregator({
    source: config.schema,
    symbolOf: (id) => client?.symbols.get(id),
    onBars: (closed) => writer.enqueue(closed.toBarInputs(), closed.minute),
    onUnmapped: (id, symbol) =>
      log.warn(
        { instrumentId: id, symbol },
        'records of an instrument without a storable symbol are skipped',
      ),
  });
  const loop: LiveLoop = { aggregator, done: Promise.resolve(undefined), onGatewayError: () => {} };
  let processed = 0;
  let idle = false;
  const drained = async () => {
    // The old session is closed: once the consumer waits on an empty queue across a macrotask,
    // every record it delivered has been aggregated.
    for (;;) {
      const before = processed;
      await new Promise((r) => setImmediate(r));
      if (idle && processed === before) return;
    }
  };
  const startFor = (minute: number): bigint => BigInt(minute) * 60_000_000_000n - marginNs;
  const resumeMinute = (): number => {
    let m = aggregator.resumeMinute ?? args.firstMinute;
    const dropped = writer.droppedFromMinute;
    if (dropped !== undefined && dropped < m) {
      m = dropped;
      writer.clearDropped();
    }
    return m;
  };

  const onEvent = (e: LiveEvent) => {
    if (e.type === 'connected')
      log.info({ sessionId: e.sessionId, attempt: e.attempt }, 'connected to the live gateway');
    else if (e.type === 'disconnected')
      log.warn({ code: e.error.code, err: e.error.message }, 'live connection lost');
    else if (e.type === 'reconnecting') {
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
      loop.onGatewayError(e.text);
      log.warn({ gatewayCode: e.code, text: e.text }, 'gateway error');
    } else if (e.type === 'metadata')
      log.debug({ start: String(e.metadata.start) }, 'session metadata');
  };

  const session = async (startMinute: number): Promise<'stopped' | 'recover' | LiveError> => {
    aggregator.resync(startMinute);
    const options: LiveSourceOptions = {
      apiKey: config.apiKey,
      dataset: config.dataset,
      gateway: config.gateway,
      schema: config.schema,
      symbols: config.symbols.all ? 'ALL_SYMBOLS' : config.symbols.symbols,
      start: startFor(startMinute),
      heartbeatIntervalS: config.heartbeatIntervalS ?? 10,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      reconnectBaseMs: config.reconnectBaseMs ?? 1_000,
      reconnectMaxMs: config.reconnectMaxMs ?? 30_000,
      resumeStart: async () => {
        await drained();
        const m = resumeMinute();
        aggregator.resync(m);
        return startFor(m);
      },
      onEvent,
    };
    const c = (deps.openLive ?? createLiveSource)(options);
    client = c;
    const onStop = () => void c.close();
    stopped.addEventListener('abort', onStop, { once: true });
    let recover = false;
    const watchdog = setInterval(() => {
      // Bars refused while Postgres was down: once it is back, replay from them.
      if (writer.droppedFromMinute !== undefined && !writer.inOutage && writer.buffered === 0) {
        recover = true;
        log.warn(
          { from: new Date(writer.droppedFromMinute * MINUTE_MS).toISOString() },
          'rebuilding bars refused during the outage by replaying from their minute',
        );
        void c.close();
      }
    }, 1_000);
    watchdog.unref();
    const it = c[Symbol.asyncIterator]();
    try {
      for (;;) {
        idle = true;
        const r = await it.next();
        idle = false;
        if (r.done) break;
        processed++;
        aggregator.handleRecord(r.value as DbnRecord);
      }
      if (stopped.aborted) return 'stopped';
      return recover ? 'recover' : 'stopped';
    } catch (err) {
      if (stopped.aborted) return 'stopped';
      if (err instanceof LiveError) return err;
      throw err;
    } finally {
      idle = true;
      clearInterval(watchdog);
      stopped.removeEventListener('abort', onStop);
    }
  };

  loop.done = (async () => {
    let start = args.firstMinute;
    for (;;) {
      const outcome = await session(start);
      if (outcome === 'stopped') return undefined;
      if (outcome === 'recover') {
        start = resumeMinute();
        continue;
      }
      return outcome;
    }
  })();
  return loop;
}
