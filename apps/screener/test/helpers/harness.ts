import { createDb, type Db } from '@timed/db';
import type { EncodableRecord } from '@timed/dbn';
import {
  type GatewaySource,
  generateTradesSession,
  type LocalGateway,
  type LocalGatewayOptions,
  startLocalGateway,
  type TradesSession,
} from '@timed/dbn/gateway';
import { pino } from 'pino';
import { type DaemonConfig, type DaemonResult, runDaemon } from '../../src/live/daemon.js';
import { normDecimal, type PlainBar, referenceBars, sortBars } from './reference-bars.js';
import { waitFor } from './wait.js';

export { waitFor };

/** The API key the local gateway accepts in tests (32 characters, like Databento's). */
export const TEST_API_KEY = 'db-testkey00000000000000000ABCDE';

/** A silent logger, or a pretty-ish one with SCREENER_TEST_LOGS=1. */
export const testLogger = pino({ level: process.env.SCREENER_TEST_LOGS ? 'debug' : 'silent' });

/** A generated session placed `minutesAgo` minutes before now (inside the replay window). */
export function recentSession(options: {
  seed: number;
  minutes: number;
  minutesAgo: number;
  symbols?: number;
  tradesPerSecond?: number;
}): { session: TradesSession; records: EncodableRecord[]; startMinute: number } {
  const startMinute = Math.floor(Date.now() / 60_000) - options.minutesAgo;
  const start = BigInt(startMinute) * 60_000_000_000n;
  const session = generateTradesSession({
    symbols: options.symbols ?? 30,
    start,
    end: start + BigInt(options.minutes) * 60_000_000_000n,
    seed: options.seed,
    tradesPerSecond: options.tradesPerSecond ?? 20,
  });
  return { session, records: [...session.records()], startMinute };
}

/** Bars the rule implies for a session's trades (the independent rebuild). */
export function expectedBars(
  session: TradesSession,
  records: EncodableRecord[],
  fromMinute = 0,
): PlainBar[] {
  const names = new Map(session.instruments.map((i) => [i.instrument_id, i.symbol]));
  return referenceBars(records, (id) => names.get(id)).filter(
    (b) => Date.parse(b.minute) >= fromMinute * 60_000,
  );
}

/** Every stored bar, normalised for comparison. */
export async function storedBars(db: Db): Promise<PlainBar[]> {
  const rows = await db.selectFrom('price_bars').selectAll().execute();
  return sortBars(
    rows.map((r) => ({
      symbol: r.symbol,
      minute: r.timestamp.toISOString(),
      open: normDecimal(r.open),
      high: normDecimal(r.high),
      low: normDecimal(r.low),
      close: normDecimal(r.close),
      volume: String(r.volume),
      trade_count: r.trade_count,
      data_source: r.data_source ?? '',
      ...(r.is_legacy ? { is_legacy: true } : {}),
    })),
  );
}

/** Waits until the stored bars equal `expected`; returns them either way for a clear diff. */
export async function barsSettle(db: Db, expected: PlainBar[], timeoutMs = 30_000) {
  let last: PlainBar[] = [];
  try {
    await waitFor(
      'stored bars to equal the expected bars',
      async () => {
        last = await storedBars(db);
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      timeoutMs,
    );
  } catch {
    // fall through: the caller's toEqual shows the difference
  }
  return last;
}

/** Starts the local gateway with the test key. */
export function gateway(
  source: GatewaySource,
  options: Partial<LocalGatewayOptions> = {},
): Promise<LocalGateway> {
  return startLocalGateway({ apiKey: TEST_API_KEY, source, ...options });
}

/** A kysely Db for a URL, closed by the caller. */
export function openDb(url: string): Db {
  return createDb(url, { max: 3 });
}

/** A daemon started by startTestDaemon. */
export interface RunningDaemon {
  stop: () => void;
  done: Promise<DaemonResult>;
}

/**
 * runDaemon in process against a local gateway, with the tests' quick timings (1 s heartbeats,
 * 3 s heartbeat timeout, fast reconnects, a heartbeat row every 200 ms); `config` overrides.
 */
export function startTestDaemon(
  gw: LocalGateway,
  target: { db: Db; url: string },
  config: Partial<DaemonConfig> = {},
): RunningDaemon {
  const abort = new AbortController();
  const done = runDaemon(
    {
      dataset: 'EQUS.MINI',
      schema: 'trades',
      symbols: { all: true },
      apiKey: TEST_API_KEY,
      gateway: gw.address,
      heartbeatIntervalS: 1,
      heartbeatTimeoutMs: 3_000,
      reconnectBaseMs: 50,
      reconnectMaxMs: 200,
      heartbeatRowMs: 200,
      ...config,
    },
    { db: target.db, dbUrl: target.url, logger: testLogger, signal: abort.signal },
  );
  return { stop: () => abort.abort(), done };
}
