import { z } from 'zod';
import { EnvError, type EnvIssue } from './errors.js';

/**
 * Reading the environment, the one way every app does it: each app's `env.ts` declares a
 * `z.object` of its variables built from these pieces and calls `parseEnv`. A blank value counts
 * as unset and values are trimmed, so `X=` in a .env file means "use the default".
 */

/**
 * The process's environment (Node only), for an entry or test helper that hands it on as an
 * argument (`main({ env })`, `startTestServer(env)`): Biome's `noProcessEnv` allows `process.env`
 * in the env modules only, and this is the one way out of them.
 */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}

/** `true`, `false`, `1` or `0` → boolean. */
export const EnvFlag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
  .transform((v) => v === 'true' || v === '1');

/** A whole number in [min, max], from its decimal text. */
export function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const message =
    max === Number.MAX_SAFE_INTEGER
      ? `must be a whole number of at least ${min}`
      : `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message });
}

/** A Postgres connection URL (`postgres://` or `postgresql://`, no spaces). */
export const PostgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// or postgresql:// URL' });

/** An http(s) URL. */
export const HttpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

/** pino's levels. */
export const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  message: 'must be fatal, error, warn, info, debug, trace or silent',
});

/** The variables of `schema` present in `source`: trimmed, blanks dropped (unset). */
function present(shape: Record<string, unknown>, source: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) {
    const value = source[key];
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed !== '') out[key] = trimmed;
    } else if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/** Options of `checkEnv` / `parseEnv`. */
export interface ParseEnvOptions {
  /** Variables that must be set here although the schema allows them unset: name → what it is. */
  required?: Record<string, string>;
}

/** Validates `source` against `schema`; every problem, not just the first. */
export function checkEnv<S extends z.ZodObject>(
  schema: S,
  source: Record<string, unknown>,
  options: ParseEnvOptions = {},
): { ok: true; env: z.output<S> } | { ok: false; issues: EnvIssue[] } {
  const values = present(schema.shape, source);
  const result = schema.safeParse(values);
  const issues: EnvIssue[] = result.success
    ? []
    : result.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '(environment)'),
        message: i.message,
      }));
  for (const [name, what] of Object.entries(options.required ?? {})) {
    if (values[name] === undefined)
      issues.push({ variable: name, message: `is required (${what})` });
  }
  if (issues.length > 0 || !result.success) return { ok: false, issues };
  return { ok: true, env: result.data };
}

/** Validates `source` against `schema`; throws one EnvError listing every bad variable. */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  source: Record<string, unknown>,
  options: ParseEnvOptions = {},
): z.output<S> {
  const checked = checkEnv(schema, source, options);
  if (!checked.ok) throw new EnvError(checked.issues);
  return checked.env;
}
