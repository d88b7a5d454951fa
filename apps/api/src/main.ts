// Entry point: reads the environment, connects (or starts) Postgres, builds the app, listens, and
// shuts down gracefully. Everything else lives in app.ts and the route files.
import { createDb, openLocalDatabase } from '@timed/db';
import { type Logger, pino } from 'pino';
import { buildApp } from './app.js';
import { corsOrigins, type Env, loadEnv } from './env.js';
import { LiveHub } from './live-hub.js';
import { installGracefulShutdown } from './shutdown.js';
import { WorkerScores } from './worker-scores.js';

async function main(): Promise<void> {
  const env = loadEnv();
  // Synchronous stdout: lines leave in order and none is left behind by process.exit (pino's
  // default asynchronous stream flushes its buffer at exit ahead of a write still in flight).
  const log = pino(
    { level: env.LOG_LEVEL, name: 'timed-api' },
    pino.destination({ dest: 1, sync: true }),
  );
  const local = env.DATABASE_URL
    ? undefined
    : await openLocalDatabase({
        dataDir: env.EMBEDDED_PG_DIR,
        port: env.EMBEDDED_PG_PORT,
        log: (line) => log.info(`DATABASE_URL unset: ${line}`),
      });
  try {
    await serve(env, log, local);
  } catch (err) {
    // Do not leave the embedded Postgres running behind a failed start.
    await local?.stop().catch(() => {});
    throw err;
  }
}

async function serve(
  env: Env,
  log: Logger,
  local: { url: string; stop: () => Promise<void> } | undefined,
): Promise<void> {
  const url = env.DATABASE_URL ?? local!.url;
  const db = createDb(url, { max: env.DB_POOL_MAX, applicationName: 'timed-api' });
  const live = new LiveHub({
    db,
    url,
    maxStreams: env.LIVE_MAX_STREAMS,
    maxSymbolsPerStream: env.LIVE_MAX_SYMBOLS_PER_STREAM,
    log,
    ...(env.TIMED_WORKER_URL
      ? { workerScores: new WorkerScores({ url: env.TIMED_WORKER_URL }) }
      : {}),
  });
  await live.start();
  const app = await buildApp({
    db,
    logger: log,
    corsOrigin: corsOrigins(env.CORS_ORIGIN),
    rateLimit: { max: env.RATE_LIMIT_MAX, timeWindowMs: env.RATE_LIMIT_WINDOW_MS },
    trustProxy: env.TRUST_PROXY,
    retryAfterSeconds: env.RETRY_AFTER_SECONDS,
    barsCacheTtlMs: env.BARS_CACHE_TTL_MS,
    live,
  });
  installGracefulShutdown({
    log,
    timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    steps: [
      { name: 'http', run: () => app.close() },
      { name: 'live', run: () => live.close() },
      { name: 'db-pool', run: () => db.destroy() },
      ...(local ? [{ name: 'embedded-postgres', run: local.stop }] : []),
    ],
  });
  try {
    await app.listen({ port: env.PORT, host: env.HOST });
  } catch (err) {
    await app.close();
    await live.close();
    await db.destroy();
    throw listenError(err, env);
  }
}

/** A listen failure as one line an operator can act on. */
function listenError(err: unknown, env: Env): Error {
  const code = (err as { code?: string }).code;
  const why =
    code === 'EADDRINUSE'
      ? 'the address is in use (another process listens there; set PORT)'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? 'no such address on this machine (check HOST)'
          : (err as Error).message;
  return new Error(`cannot listen on ${env.HOST}:${env.PORT}: ${why}`, { cause: err });
}

main().catch((err: unknown) => {
  // Configuration and startup failures: one clear line, non-zero exit.
  const e = err as Error & { code?: string };
  process.stderr.write(`timed-api: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
  process.exit(1);
});
