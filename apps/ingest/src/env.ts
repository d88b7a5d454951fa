import { SemverString } from '@timed/schema';
import { checkEnv, EnvFlag, HttpUrl, wholeNumber } from '@timed/schema/env';
import { EnvError, type EnvIssue } from '@timed/schema/errors';
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

const ConfigSchema = z.object({
  CURRENT_DATA_VERSION: SemverString,
  TIMED_API_KEY: z.string().min(8, { message: 'must be at least 8 characters' }).optional(),
  DISCORD_WEBHOOK_URL: HttpUrl.optional(),
  // KV refuses an expirationTtl under 60 s.
  ARCHIVE_TTL_SECONDS: wholeNumber(60, 31_536_000).default(2_592_000),
  PURGE_ON_PATCH: EnvFlag.default(false),
  TRAIL_LENGTH: wholeNumber(1, 1_000).default(100),
  VERSION_CACHE_MS: wholeNumber(0, 60_000).default(2_000),
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

const parsed = new WeakMap<object, AppEnv>();

/** Validates the raw bindings once per environment object and returns the typed view. */
export function readEnv(raw: RawEnv): AppEnv {
  const cached = parsed.get(raw);
  if (cached) return cached;
  // Missing bindings and bad variables are reported together, by name, never by value.
  const issues: EnvIssue[] = [];
  if (!raw.TIMED_KV || typeof raw.TIMED_KV.get !== 'function') {
    issues.push({ variable: 'TIMED_KV', message: 'KV binding is missing' });
  }
  if (!raw.VERSION_COORDINATOR || typeof raw.VERSION_COORDINATOR.idFromName !== 'function') {
    issues.push({ variable: 'VERSION_COORDINATOR', message: 'Durable Object binding is missing' });
  }
  const result = checkEnv(ConfigSchema, raw as unknown as Record<string, unknown>);
  if (!result.ok) issues.push(...result.issues);
  if (issues.length > 0 || !result.ok) throw new EnvError(issues);
  const c = result.env;
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
