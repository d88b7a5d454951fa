// Child process of the live peak benchmark: the screener's live daemon (runDaemon, as
// `timed-screener run` wires it) with live publishing on or off, which the CLI cannot switch.
// It counts the trades the daemon takes off the Live client and reports, over IPC, when the
// `trades`-th was taken (the rate phase's end). Configured by BENCH_DAEMON (JSON).
import type { LiveClient } from '@timed/dbn';
import { pino } from 'pino';
import { runDaemon } from '../../../apps/screener/src/live/daemon.js';
import { createLiveSource } from '../../../apps/screener/src/sources/live-source.js';
import { openDatabase } from '../../../apps/screener/src/store/database.js';
import type { DaemonChildMessage } from './ipc.js';

interface ChildConfig {
  url: string;
  gateway: string;
  apiKey: string;
  live: boolean;
  /** Report once this many trades were taken. */
  trades: number;
}

const cfg = JSON.parse(process.env.BENCH_DAEMON ?? '{}') as ChildConfig;
const logger = pino(
  { level: process.env.BENCH_DAEMON_LOG_LEVEL ?? 'warn', name: 'bench-daemon' },
  pino.destination({ dest: 2, sync: true }),
);
const send = (m: DaemonChildMessage) => process.send?.(m);

let taken = 0;
let firstMs = 0;

/** The Live client, its iterator wrapped to count the trades handed to the aggregator. */
function openCounted(o: Parameters<typeof createLiveSource>[0]): LiveClient {
  const client = createLiveSource(o);
  const iterate = client[Symbol.asyncIterator].bind(client);
  client[Symbol.asyncIterator] = () => {
    const it = iterate();
    return {
      next: () =>
        it.next().then((r) => {
          if (!r.done && r.value.kind === 'TradeMsg') {
            taken++;
            if (taken === 1) firstMs = Date.now();
            if (taken === cfg.trades)
              send({ type: 'consumed', trades: taken, firstMs, lastMs: Date.now() });
          }
          return r;
        }),
      return: (v?: unknown) =>
        it.return ? it.return(v) : Promise.resolve({ done: true, value: v }),
    } as ReturnType<typeof iterate>;
  };
  return client;
}

const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
const database = await openDatabase(cfg.url, logger);
const result = await runDaemon(
  {
    dataset: 'EQUS.MINI',
    schema: 'trades',
    symbols: { all: true },
    apiKey: cfg.apiKey,
    gateway: cfg.gateway,
    liveState: cfg.live ? {} : false,
  },
  { db: database.db, dbUrl: database.url, logger, signal: stop.signal, openLive: openCounted },
);
await database.close();
send({ type: 'exit', code: result.exitCode });
process.exit(result.exitCode);
