import type { BarSource } from '../aggregate/bar-source.js';
import type { SymbolSelection } from '../env.js';
import type { BarWriterOptions } from '../store/bar-writer.js';

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
  /**
   * Live state published through Postgres (live-state/): on unless false; intervals in ms
   * (publish every 250, live_state upsert every 1,000).
   */
  liveState?: false | { intervalMs?: number; snapshotIntervalMs?: number };
}
