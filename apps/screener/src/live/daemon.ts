import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '@timed/db';
import { createDb, upsertBars } from '@timed/db';
import type { Logger } from 'pino';
import type { LockHeldError } from '../errors.js';
import { LivePublishing } from '../live-state/live-publishing.js';
import { BarWriter } from '../store/bar-writer.js';
import { lastWrittenMinute } from '../store/last-written.js';
import type { DaemonConfig } from './daemon-config.js';
import { InstanceRegistry } from './instance-registry.js';
import { LiveLoop, type OpenLive } from './live-loop.js';
import { GatewayErrors, instanceCounters, logStats } from './stats-log.js';
import { WriterLock } from './writer-lock.js';

export type { DaemonConfig };

/** Collaborators of the daemon. */
export interface DaemonDeps {
  db: Db;
  /** URL of the same database, for the lock's dedicated connection. */
  dbUrl: string;
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  /** Opens the live client (default: @timed/dbn's LiveClient). */
  openLive?: OpenLive;
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
 * Wiring only: lock -> registry -> writer -> LiveLoop -> drain -> exit code.
 */
export async function runDaemon(config: DaemonConfig, deps: DaemonDeps): Promise<DaemonResult> {
  const { db } = deps;
  const log = deps.logger.child({ dataset: config.dataset, schema: config.schema });
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
    instanceId,
    logger: log,
    onTakenOver: (err) => {
      takenOver = err;
      log.error({ holder: err.holder }, `single-writer lock taken over: ${err.message}`);
      stop();
    },
  });
  const registry = new InstanceRegistry(db, info, log);
  const gatewayErrors = new GatewayErrors();
  const liveOptions = config.liveState === false ? undefined : (config.liveState ?? {});
  // Its own small pool: publishing (and its retries while Postgres is away) never holds a
  // connection a bar write is waiting for.
  const liveDb =
    liveOptions && createDb(deps.dbUrl, { max: 2, applicationName: 'timed-screener-live' });
  const liveState =
    liveOptions &&
    liveDb &&
    new LivePublishing({ db: liveDb, source: config.schema, log, ...liveOptions });
  const writer = new BarWriter({
    write: (bars) => upsertBars(db, bars),
    logger: log,
    canWrite: () => lock.held,
    onClosedWritten: liveState ? (minute) => liveState.minuteWritten(minute) : undefined,
    ...config.writer,
  });
  let loop: LiveLoop | undefined;
  const counters = () =>
    instanceCounters({ aggregator: loop?.aggregator, writer, lock, gateway: gatewayErrors });
  const timers: NodeJS.Timeout[] = [];
  try {
    await registry.register();
    registry.start(config.heartbeatRowMs ?? 5_000, counters);
    log.info({ instanceId, host: info.host, pid: info.pid }, 'single-writer lock held');

    const firstMinute = await resumeFrom(db, config, log);
    // Today's figures from the stored bars before the replay adds the rest.
    await liveState?.restore(firstMinute, config.symbols.all ? undefined : config.symbols.symbols);
    const live = new LiveLoop({
      config,
      writer,
      log,
      openLive: deps.openLive,
      onGatewayError: (text) => gatewayErrors.note(text),
      liveState,
    });
    loop = live;
    liveState?.start(live.aggregator);
    timers.push(setInterval(() => live.aggregator.tick(config.graceMs ?? 2_000), 500));
    timers.push(
      setInterval(() => logStats(log, live.aggregator, writer), config.statsLogMs ?? 60_000),
    );
    for (const t of timers) t.unref();
    const failure = await live.run(firstMinute, stopped.signal);
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
    await liveState?.close().catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'could not close live publishing');
    });
    await liveDb?.destroy().catch(() => {});
    await registry.stop(counters()).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'could not mark the heartbeat row stopped');
    });
    await lock.release();
    deps.signal.removeEventListener('abort', stop);
  }
}

/** The newest minute already stored (within the replay window), else the cold-start minute. */
async function resumeFrom(db: Db, config: DaemonConfig, log: Logger): Promise<number> {
  const last = await lastWrittenMinute(db, {
    source: config.schema,
    symbols: config.symbols.all ? undefined : config.symbols.symbols,
    since: new Date(Date.now() - (config.maxReplayAgeMs ?? 23 * 3_600_000 + 50 * 60_000)),
  });
  const firstMinute = last ?? config.coldStartMinute ?? Math.floor(Date.now() / MINUTE_MS);
  log.info(
    {
      resumeFrom: new Date(firstMinute * MINUTE_MS).toISOString(),
      reason:
        last === undefined ? 'no recent bars: start of the current minute' : 'last written minute',
    },
    'replaying from the oldest minute not known complete',
  );
  return firstMinute;
}
