import { parseSemver } from '@timed/schema';
import { KEYS } from '../kv/keys.js';
import { KvStore } from '../kv/kv-store.js';
import { errorText, logEvent } from '../log.js';
import type { CoordinatorStore } from './coordinator-store.js';
import { type FlushState, initialFlushState } from './index-flusher.js';
import type { PurgeJob } from './purge-job.js';
import type { CoordinatorStatus, MigrationSummary, VersionChange } from './types.js';

/** Everything the coordinator keeps besides the ticker tables, stored as one JSON row. */
export interface PersistedState {
  version: string | null;
  job: PurgeJob | null;
  epochSeq: number;
  lastIngestMs: number | null;
  staleRejected: number;
  mismatch: CoordinatorStatus['mismatch'];
  migrations: number;
  lastMigration: MigrationSummary | null;
  lastPurge: PurgeSummary | null;
  /** When the index was last emptied: notes of writes from before then are not indexed. */
  indexClearedAt: number;
  flush: FlushState;
  /** After a skip: the oldest version whose data is still kept as current (see GateState). */
  keepFrom: string | null;
  /** The last hand-set `timed:data_version` handled, so a stale read of it is not re-applied. */
  kvSeen: string | null;
  lastVersionChange: VersionChange | null;
}

/** The last finished purge (manual or migration). */
export interface PurgeSummary {
  epoch: number;
  reason: PurgeJob['reason'];
  completedAt: number;
  deletedKeys: number;
  deletedTickers: number;
}

const STATE_KEY = 'state';

/** The state of a coordinator that has seen nothing yet (no S, no job, no counts). */
export function freshCoordinatorState(): PersistedState {
  return {
    version: null,
    job: null,
    epochSeq: 0,
    lastIngestMs: null,
    staleRejected: 0,
    mismatch: null,
    migrations: 0,
    lastMigration: null,
    lastPurge: null,
    indexClearedAt: 0,
    flush: initialFlushState(),
    keepFrom: null,
    kvSeen: null,
    lastVersionChange: null,
  };
}

/** Writes the state row. */
export function saveCoordinatorState(store: CoordinatorStore, state: PersistedState): void {
  store.setMeta(STATE_KEY, state);
}

/**
 * Reads the state row. On the very first start there is none: S and the ticker index are adopted
 * from what a pre-coordinator Worker left in KV (`timed:data_version`, `timed:tickers`).
 */
export async function loadCoordinatorState(
  store: CoordinatorStore,
  kvNamespace: KVNamespace,
): Promise<PersistedState> {
  const saved = store.getMeta<PersistedState>(STATE_KEY);
  // Rows written before skip/rollback existed lack their fields.
  if (saved) {
    return {
      ...saved,
      keepFrom: saved.keepFrom ?? null,
      kvSeen: saved.kvSeen ?? null,
      lastVersionChange: saved.lastVersionChange ?? null,
    };
  }
  const state = freshCoordinatorState();
  const kv = new KvStore(kvNamespace, 'coordinator-bootstrap');
  try {
    const [version, index] = await Promise.all([
      kv.getText(KEYS.dataVersion),
      kv.getJson<unknown>(KEYS.tickers),
    ]);
    const v = version.value?.trim();
    if (v && parseSemver(v)) state.version = v;
    // Adopted here already: a later (possibly stale) read of the same value is not a new skip.
    if (v) state.kvSeen = v;
    if (Array.isArray(index.value)) {
      const now = Date.now();
      for (const t of index.value) if (typeof t === 'string' && t) store.addTicker(t, now);
    }
  } catch (error) {
    logEvent('error', 'coordinator_bootstrap_failed', { error: errorText(error) });
  }
  saveCoordinatorState(store, state);
  return state;
}
