import { EnvFlag, HttpUrl, LogLevel, PostgresUrl, parseEnv, wholeNumber } from '@timed/schema/env';
import { z } from 'zod';

/** Everything the API reads from its environment, validated once at start. */
export const Env = z.object({
  /** Postgres URL; unset = an embedded Postgres under EMBEDDED_PG_DIR. */
  DATABASE_URL: PostgresUrl.optional(),
  PORT: wholeNumber(0, 65_535).default(3000),
  /** 127.0.0.1 locally; 0.0.0.0 in a container or behind a load balancer. */
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: LogLevel.default('info'),
  /** `*` (any origin), a comma-separated list of origins, or `false` (no CORS headers). */
  CORS_ORIGIN: z.string().default('*'),
  /** Requests per client IP per window; 0 turns rate limiting off. */
  RATE_LIMIT_MAX: wholeNumber(0).default(600),
  RATE_LIMIT_WINDOW_MS: wholeNumber(1).default(60_000),
  /** Trust X-Forwarded-For (behind a proxy), so rate limits apply per real client. */
  TRUST_PROXY: EnvFlag.default(false),
  /** Identical /bars queries within this many ms share one database read; 0 = off. */
  BARS_CACHE_TTL_MS: wholeNumber(0, 60_000).default(1_000),
  DB_POOL_MAX: wholeNumber(1, 200).default(10),
  /** Seconds a 503 (database unreachable) tells clients to wait. */
  RETRY_AFTER_SECONDS: wholeNumber(1).default(5),
  /** Most time shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: wholeNumber(1).default(10_000),
  /** Data folder of the embedded Postgres (default <repo>/.data/postgres). */
  EMBEDDED_PG_DIR: z.string().min(1).optional(),
  /** Base URL of the ingest Worker: leaderboard rows then carry its TradingView state and scores. */
  TIMED_WORKER_URL: HttpUrl.optional(),
  /** Server-Sent Event streams one API process serves at once (GET /stream). */
  LIVE_MAX_STREAMS: wholeNumber(1).default(2_000),
  /** Symbols one stream may follow. */
  LIVE_MAX_SYMBOLS_PER_STREAM: wholeNumber(1, 8_000).default(100),
  /** Port of the embedded Postgres (default: a free one). */
  EMBEDDED_PG_PORT: wholeNumber(1, 65_535).optional(),
});
export type Env = z.infer<typeof Env>;

/**
 * Parses the environment (values trimmed, blank = unset); throws one EnvError naming every bad
 * variable.
 */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return parseEnv(Env, source);
}

/** CORS_ORIGIN as @fastify/cors wants it: true (any), a list, or false (off). */
export function corsOrigins(value: string): true | string[] | false {
  const v = value.trim();
  if (v === '*') return true;
  if (v === 'false' || v === '') return false;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
