import { LiveClient, type LiveEvent } from '@timed/dbn';

/** What the daemon needs from a Live connection (a thin adapter over dbn's LiveClient). */
export interface LiveSourceOptions {
  apiKey: string;
  dataset: string;
  /** `host:port`. */
  gateway: string;
  schema: 'trades' | 'mbp-1';
  symbols: string[] | 'ALL_SYMBOLS';
  /** Intraday replay start of the first connection (UNIX ns). */
  start: bigint;
  heartbeatIntervalS: number;
  heartbeatTimeoutMs: number | undefined;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Asked before every reconnect for the replay start (UNIX ns). */
  resumeStart: () => Promise<bigint>;
  onEvent: (event: LiveEvent) => void;
}

/** Opens @timed/dbn's LiveClient for one raw-symbol subscription with replay and reconnects. */
export function createLiveSource(o: LiveSourceOptions): LiveClient {
  return new LiveClient({
    apiKey: o.apiKey,
    dataset: o.dataset,
    gateway: o.gateway,
    subscriptions: [
      { schema: o.schema, symbols: o.symbols, stypeIn: 'raw_symbol', start: o.start },
    ],
    heartbeatIntervalS: o.heartbeatIntervalS,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    reconnect: { baseDelayMs: o.reconnectBaseMs, maxDelayMs: o.reconnectMaxMs },
    resumeStart: () => o.resumeStart(),
    client: 'timed-screener/0.1.0',
    onEvent: o.onEvent,
  });
}
