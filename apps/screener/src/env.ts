import { HttpUrl, LogLevel, PostgresUrl, parseEnv } from '@timed/schema/env';
import { z } from 'zod';

/** Symbols to subscribe: every symbol of the dataset, or a list of raw symbols. */
export type SymbolSelection = { all: true } | { all: false; symbols: string[] };

const SYMBOL = /^[A-Z0-9][A-Z0-9._/-]{0,31}$/;

/** Parses `ALL_SYMBOLS` or a comma list of raw symbols (upper-cased, de-duplicated). */
export function parseSymbols(text: string): SymbolSelection | string {
  const trimmed = text.trim();
  if (trimmed === 'ALL_SYMBOLS') return { all: true };
  const list = [
    ...new Set(
      trimmed
        .split(',')
        .map((s) => s.trim().toUpperCase())
        .filter((s) => s !== ''),
    ),
  ];
  if (list.length === 0) return 'must be ALL_SYMBOLS or a comma-separated list of symbols';
  const bad = list.find((s) => !SYMBOL.test(s));
  if (bad) return `"${bad}" is not a raw symbol (letters, digits, . _ / -)`;
  return { all: false, symbols: list };
}

const Symbols = z.string().transform((text, ctx): SymbolSelection => {
  const parsed = parseSymbols(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const HostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  })
  .refine((g) => g.port > 0 && g.port < 65536, 'port must be 1-65535');

/**
 * Every environment variable the screener reads; nothing else reads the environment. `parseEnv`
 * trims values and treats blank ones as unset.
 */
export const EnvSchema = z.object({
  DATABASE_URL: PostgresUrl.optional(),
  DATABENTO_API_KEY: z
    .string()
    .regex(/^[\x21-\x7e]{32}$/, 'must be a 32-character Databento API key')
    .optional(),
  DATABENTO_DATASET: z
    .string()
    .regex(/^[A-Z0-9]+\.[A-Z0-9]+$/, 'must be a dataset id such as EQUS.MINI')
    .default('EQUS.MINI'),
  SCREENER_SCHEMA: z
    .enum(['trades', 'mbp-1'], { message: 'must be trades or mbp-1' })
    .default('trades'),
  SCREENER_SYMBOLS: Symbols.default({ all: true }),
  DATABENTO_LIVE_GATEWAY: HostPort.optional(),
  DATABENTO_HISTORICAL_URL: HttpUrl.optional(),
  LOG_LEVEL: LogLevel.default('info'),
});

/** The validated configuration. */
export type Env = z.infer<typeof EnvSchema>;

/** Variables a command cannot run without. */
export type RequiredVar = 'DATABENTO_API_KEY' | 'DATABASE_URL';

const REQUIRED_WHAT: Record<RequiredVar, string> = {
  DATABENTO_API_KEY: 'a 32-character Databento API key',
  DATABASE_URL: 'a postgres:// URL',
};

/**
 * Validates the environment; throws one EnvError naming every missing or invalid variable
 * (the CLI prints it as one line and exits 2).
 */
export function loadEnv(source: NodeJS.ProcessEnv, require: RequiredVar[] = []): Env {
  return parseEnv(EnvSchema, source, {
    required: Object.fromEntries(require.map((name) => [name, REQUIRED_WHAT[name]])),
  });
}

/** The Live gateway to use: the override, else Databento's host for the dataset (port 13000). */
export function liveGateway(env: Env): { host: string; port: number } {
  if (env.DATABENTO_LIVE_GATEWAY) return env.DATABENTO_LIVE_GATEWAY;
  return {
    host: `${env.DATABENTO_DATASET.toLowerCase().replaceAll('.', '-')}.lsg.databento.com`,
    port: 13000,
  };
}

/** Configuration that is safe to log (no key, no database password). */
export function describeEnv(env: Env): Record<string, unknown> {
  return {
    dataset: env.DATABENTO_DATASET,
    schema: env.SCREENER_SCHEMA,
    symbols: env.SCREENER_SYMBOLS.all
      ? 'ALL_SYMBOLS'
      : env.SCREENER_SYMBOLS.symbols.length > 20
        ? `${env.SCREENER_SYMBOLS.symbols.slice(0, 20).join(',')},… (${env.SCREENER_SYMBOLS.symbols.length})`
        : env.SCREENER_SYMBOLS.symbols.join(','),
    database: env.DATABASE_URL ? redactUrl(env.DATABASE_URL) : 'embedded (<repo>/.data/postgres)',
    apiKey: env.DATABENTO_API_KEY ? 'set' : 'unset',
    liveGateway: `${liveGateway(env).host}:${liveGateway(env).port}`,
    historicalUrl: env.DATABENTO_HISTORICAL_URL ?? 'https://hist.databento.com',
  };
}

/** A database URL without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
