import { SemverString } from '@timed/schema';
import { z } from 'zod';

/** Bindings and variables exactly as the runtime hands them to the Worker and the Durable Object. */
export interface RawEnv {
  TIMED_KV: KVNamespace;
  // Untyped here so env.ts imports nothing of the coordinator (which reads its config from here);
  // CoordinatorClient types the stub.
  VERSION_COORDINATOR: DurableObjectNamespace;
  CURRENT_DATA_VERSION: string;
  TIMED_API_KEY?: string;
  DISCORD_WEBHOOK_URL?: string;
  ARCHIVE_TTL_SECONDS?: string;
  PURGE_ON_PATCH?: string;
  TRAIL_LENGTH?: string;
  VERSION_CACHE_MS?: string;
}

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const flag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
  .transform((v) => v === 'true' || v === '1');

const wholeNumber = (min: number, max: number) =>
  z.coerce
    .number({ message: `must be a whole number from ${min} to ${max}` })
    .int({ message: `must be a whole number from ${min} to ${max}` })
    .min(min, { message: `must be a whole number from ${min} to ${max}` })
    .max(max, { message: `must be a whole number from ${min} to ${max}` });

const ConfigSchema = z.object({
  CURRENT_DATA_VERSION: SemverString,
  TIMED_API_KEY: z.preprocess(
    emptyToUndefined,
    z.string().min(8, { message: 'must be at least 8 characters' }).optional(),
  ),
  DISCORD_WEBHOOK_URL: z.preprocess(
    emptyToUndefined,
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  ),
  // KV refuses an expirationTtl under 60 s.
  ARCHIVE_TTL_SECONDS: z.preprocess(
    emptyToUndefined,
    wholeNumber(60, 31_536_000).default(2_592_000),
  ),
  PURGE_ON_PATCH: z.preprocess(emptyToUndefined, flag.default(false)),
  TRAIL_LENGTH: z.preprocess(emptyToUndefined, wholeNumber(1, 1_000).default(100)),
  VERSION_CACHE_MS: z.preprocess(emptyToUndefined, wholeNumber(0, 60_000).default(2_000)),
});

/** Validated configuration plus the bindings; the only view of the environment the code uses. */
export interface AppEnv {
  kv: KVNamespace;
  coordinator: DurableObjectNamespace;
  expectedVersion: string;
  apiKey: string | undefined;
  discordWebhookUrl: string | undefined;
  archiveTtlSeconds: number;
  purgeOnPatch: boolean;
  trailLength: number;
  versionCacheMs: number;
}

/** A configuration problem: names the variable, never echoes a secret's value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
  constructor(
    message: string,
    readonly details: { variables: string[] },
  ) {
    super(message);
  }
}

const parsed = new WeakMap<object, AppEnv>();

/** Validates the raw bindings once per environment object and returns the typed view. */
export function readEnv(raw: RawEnv): AppEnv {
  const cached = parsed.get(raw);
  if (cached) return cached;
  if (!raw.TIMED_KV || typeof raw.TIMED_KV.get !== 'function') {
    throw new ConfigError('KV binding TIMED_KV is missing', { variables: ['TIMED_KV'] });
  }
  if (!raw.VERSION_COORDINATOR || typeof raw.VERSION_COORDINATOR.idFromName !== 'function') {
    throw new ConfigError('Durable Object binding VERSION_COORDINATOR is missing', {
      variables: ['VERSION_COORDINATOR'],
    });
  }
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const variables = [...new Set(result.error.issues.map((i) => String(i.path[0])))];
    const message = result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${message}`, { variables });
  }
  const c = result.data;
  const env: AppEnv = {
    kv: raw.TIMED_KV,
    coordinator: raw.VERSION_COORDINATOR,
    expectedVersion: c.CURRENT_DATA_VERSION,
    apiKey: c.TIMED_API_KEY,
    discordWebhookUrl: c.DISCORD_WEBHOOK_URL,
    archiveTtlSeconds: c.ARCHIVE_TTL_SECONDS,
    purgeOnPatch: c.PURGE_ON_PATCH,
    trailLength: c.TRAIL_LENGTH,
    versionCacheMs: c.VERSION_CACHE_MS,
  };
  parsed.set(raw, env);
  return env;
}
