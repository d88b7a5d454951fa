import { KEYS } from '../kv/keys.js';
import type { CoordinatorStore } from './coordinator-store.js';
import type { ArchiveRecord } from './types.js';

/**
 * The archive of version `version`'s data as it stands `now` (the index's ticker count and first
 * 10 tickers) and its key `timed:archive:{S}:{epochMs}`: what a migration writes in its purge's
 * first slice and a rollback writes before it changes anything.
 */
export function archiveOf(
  store: CoordinatorStore,
  version: string,
  now: number,
): { archiveKey: string; archive: ArchiveRecord } {
  return {
    archiveKey: KEYS.archive(version, now),
    archive: {
      version,
      migratedAt: now,
      tickerCount: store.tickerCount(),
      sampleTickers: store.tickers(10),
    },
  };
}
