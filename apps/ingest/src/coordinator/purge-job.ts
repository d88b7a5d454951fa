import { compareSemver, parseSemver } from '@timed/schema';
import { TICKER_PREFIXES, tickerOfKey } from '../kv/keys.js';
import type { KvStore, ListedKey } from '../kv/kv-store.js';
import type { ArchiveRecord, PurgeProgress } from './types.js';

/** A migration waiting for (or done with) its archive, carried by a purge job. */
export interface MigrationRecord {
  from: string;
  to: string;
  archiveKey: string;
  archive: ArchiveRecord;
  archived: boolean;
  startedAt: number;
}

/** A purge in progress, persisted between alarm invocations. */
export interface PurgeJob {
  /** Changes whenever the job restarts; a slice that sees a new epoch stops. */
  epoch: number;
  reason: 'migration' | 'manual' | 'rollback';
  /** Values tagged with this version or newer are kept (a migration's target); null = delete all. */
  keepVersion: string | null;
  /** A rollback's target: only values tagged newer than it are deleted (untagged ones stay). */
  dropAbove?: string;
  startedAt: number;
  /** Not before this time (lets isolates' cached versions expire first). */
  runAfter: number;
  /** Index into TICKER_PREFIXES. */
  phase: number;
  cursor?: string;
  deletedKeys: number;
  deletedTickers: number;
  slices: number;
  tickerCount: number;
  migrations: MigrationRecord[];
}

/** Most KV operations one invocation may make; KV allows 1,000, the rest is headroom. */
export const KV_OPS_PER_INVOCATION = 900;
/** Deletes in flight at once. */
const DELETE_CONCURRENCY = 50;

/** True when a listed key must go: not written since the purge began and not of the kept version. */
export function shouldDelete(
  key: ListedKey,
  job: Pick<PurgeJob, 'keepVersion' | 'dropAbove'>,
  isProtected: (ticker: string) => boolean,
): boolean {
  const ticker = tickerOfKey(key.name);
  if (ticker === undefined || isProtected(ticker)) return false;
  const v = key.meta?.v;
  const version = v !== undefined && parseSemver(v) ? v : undefined;
  if (job.dropAbove !== undefined) {
    return version !== undefined && compareSemver(version, job.dropAbove) > 0;
  }
  if (job.keepVersion === null) return true;
  return !(version !== undefined && compareSemver(version, job.keepVersion) >= 0);
}

/** Public view of a job. */
export function progressOf(job: PurgeJob): PurgeProgress {
  return {
    reason: job.reason,
    keepVersion: job.keepVersion,
    dropAbove: job.dropAbove ?? null,
    startedAt: job.startedAt,
    runAfter: job.runAfter,
    prefix: TICKER_PREFIXES[job.phase] ?? null,
    deletedKeys: job.deletedKeys,
    deletedTickers: job.deletedTickers,
    slices: job.slices,
  };
}

/** What the runner needs from the coordinator. */
export interface PurgeHost {
  current(): PurgeJob | null;
  save(): void;
  isProtected(ticker: string): boolean;
  archiveTtlSeconds: number;
  /** Deletes in flight per ticker, so an admission can wait for them before its writes. */
  deleting: Map<string, Promise<void>>;
}

/**
 * Runs one slice of the current purge within the invocation's KV budget: writes pending archives,
 * then pages through each per-ticker prefix with `list()` and its cursor, deleting what must go.
 * Returns 'done' when the job finished, 'more' when another invocation must continue it.
 */
export async function runPurgeSlice(
  host: PurgeHost,
  kv: KvStore,
  now: number,
): Promise<'idle' | 'waiting' | 'more' | 'done'> {
  const job = host.current();
  if (!job) return 'idle';
  if (now < job.runAfter) return 'waiting';
  const epoch = job.epoch;
  const stillCurrent = () => host.current()?.epoch === epoch;
  job.slices++;
  host.save();

  for (const m of job.migrations) {
    if (m.archived) continue;
    await kv.put(m.archiveKey, JSON.stringify(m.archive), {
      meta: { v: m.from },
      expirationTtl: host.archiveTtlSeconds,
    });
    m.archived = true;
    host.save();
  }

  while (job.phase < TICKER_PREFIXES.length) {
    if (!stillCurrent()) return 'more';
    const room = KV_OPS_PER_INVOCATION - kv.ops - 1;
    if (room < 1) return 'more';
    const prefix = TICKER_PREFIXES[job.phase]!;
    const page = await kv.list(prefix, job.cursor, Math.min(1_000, room));
    if (!stillCurrent()) return 'more';
    const victims = page.keys.filter((k) => shouldDelete(k, job, host.isProtected));
    const batch = deleteKeys(
      kv,
      victims.map((k) => k.name),
    );
    const tickers = victims.map((k) => tickerOfKey(k.name)!);
    for (const t of tickers) host.deleting.set(t, batch);
    try {
      await batch;
    } finally {
      for (const t of tickers) if (host.deleting.get(t) === batch) host.deleting.delete(t);
    }
    if (!stillCurrent()) return 'more';
    job.deletedKeys += victims.length;
    if (prefix === TICKER_PREFIXES[0]) job.deletedTickers += victims.length;
    if (page.complete) {
      job.phase++;
      delete job.cursor;
    } else {
      job.cursor = page.cursor;
    }
    host.save();
  }
  return 'done';
}

async function deleteKeys(kv: KvStore, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
    await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((k) => kv.delete(k)));
  }
}
