import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const flag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
  .transform((v) => v === 'true' || v === '1');

const count = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** Everything the API reads from its environment, validated once at start. */
export const Env = z.object({
  /** Postgres URL; unset = an embedded Postgres under EMBEDDED_PG_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })
    .optional(),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  /** 127.0.0.1 locally; 0.0.0.0 in a container or behind a load balancer. */
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** `*` (any origin), a comma-separated list of origins, or `false` (no CORS headers). */
  CORS_ORIGIN: z.string().default('*'),
  /** Requests per client IP per window; 0 turns rate limiting off. */
  RATE_LIMIT_MAX: count(600),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1).default(60_000),
  /** Trust X-Forwarded-For (behind a proxy), so rate limits apply per real client. */
  TRUST_PROXY: flag.default(false),
  /** Identical /bars queries within this many ms share one database read; 0 = off. */
  BARS_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** Seconds a 503 (database unreachable) tells clients to wait. */
  RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).default(5),
  /** Most time shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  /** Data folder of the embedded Postgres (default <repo>/.data/postgres). */
  EMBEDDED_PG_DIR: z.string().min(1).optional(),
  /** Base URL of the ingest Worker: leaderboard rows then carry its TradingView state and scores. */
  TIMED_WORKER_URL: z.string().url({ message: 'must be an http(s) URL' }).optional(),
  /** Server-Sent Event streams one API process serves at once (GET /stream). */
  LIVE_MAX_STREAMS: z.coerce.number().int().min(1).default(2_000),
  /** Symbols one stream may follow. */
  LIVE_MAX_SYMBOLS_PER_STREAM: z.coerce.number().int().min(1).max(8_000).default(100),
  /** Port of the embedded Postgres (default: a free one). */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
});
export type Env = z.infer<typeof Env>;

/** A configuration problem: the process cannot start. */
export class EnvError extends Error {
  override readonly name = 'EnvError';
  readonly code = 'INVALID_ENV';
  constructor(
    message: string,
    readonly issues: { variable: string; message: string }[],
  ) {
    super(message);
  }
}

/** Parses the environment (empty values count as unset); throws EnvError naming each variable. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const present = Object.fromEntries(
    Object.keys(Env.shape)
      .map((k) => [k, source[k]?.trim()] as const)
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = Env.safeParse(present);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    variable: String(i.path[0] ?? '(env)'),
    message: i.message,
  }));
  throw new EnvError(
    `invalid environment: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`,
    issues,
  );
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
