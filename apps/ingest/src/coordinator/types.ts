/** The coordinator's view of the data version, as isolates cache it. */
export interface GateState {
  /** S: the stored data version, or null before the first payload. */
  stored: string | null;
  /** E: CURRENT_DATA_VERSION as the coordinator sees it. */
  expected: string;
  /** True while a purge (migration, manual or rollback) is running: every write must be admitted. */
  purging: boolean;
  /**
   * After a skipped migration: the oldest data version still kept as the current model (its
   * values are served and its trails continued); null when only S (and its patches) counts.
   */
  keepFrom: string | null;
}

/** What to do with one payload, decided by the coordinator. */
export type AdmitAction = 'initialize' | 'ingest' | 'migrate' | 'bump' | 'stale' | 'mismatch';

/** The coordinator's answer to an admission request. */
export interface AdmitResult {
  action: AdmitAction;
  state: GateState;
  /**
   * True when the ticker is written for the first time since a purge began: the writer must not
   * build on its old trail/state and must remove per-ticker keys it does not rewrite.
   */
  fresh: boolean;
  /** Set when this payload started a migration. */
  migration?: { from: string; to: string; archiveKey: string };
}

/** What a Worker tells the coordinator after handling a payload (feeds index, health, counters). */
export interface IngestNote {
  kind: 'stored' | 'stale';
  ticker: string;
  version: string;
  /** When the Worker handled it (epoch ms). */
  atMs: number;
}

/** An archive record `timed:archive:{S}:{epochMs}`. */
export interface ArchiveRecord {
  version: string;
  migratedAt: number;
  tickerCount: number;
  sampleTickers: string[];
}

/** Progress of a running purge, for health and tests. */
export interface PurgeProgress {
  reason: 'migration' | 'manual' | 'rollback';
  keepVersion: string | null;
  /** A rollback's target: values tagged newer than it are deleted. */
  dropAbove: string | null;
  startedAt: number;
  runAfter: number;
  prefix: string | null;
  deletedKeys: number;
  deletedTickers: number;
  slices: number;
}

/** A finished migration. */
export interface MigrationSummary {
  from: string;
  to: string;
  archiveKey: string;
  startedAt: number;
  completedAt: number;
  tickerCount: number;
  deletedKeys: number;
}

/** Everything health and version report. */
export interface CoordinatorStatus {
  stored: string | null;
  expected: string;
  lastIngestMs: number | null;
  tickers: number;
  purge: PurgeProgress | null;
  staleRejected: number;
  mismatch: { version: string; ticker: string; count: number; lastSeenMs: number } | null;
  migrations: number;
  lastMigration: MigrationSummary | null;
  keepFrom: string | null;
  lastVersionChange: VersionChange | null;
}

/** An operator's change of S: a skip or rollback, or a hand-set KV value that was refused. */
export interface VersionChange {
  kind: 'initialize' | 'skip' | 'migrate' | 'rollback' | 'refused';
  /** `kv`: a hand-set `timed:data_version`; `route`: `POST /timed/version`. */
  via: 'kv' | 'route';
  from: string | null;
  to: string;
  purge: boolean;
  archiveKey?: string;
  /** Why a hand-set value was not adopted. */
  reason?: string;
  atMs: number;
}

/** What `POST /timed/version` asks for (validated by the route). */
export interface VersionRequest {
  version: string;
  purge?: boolean;
  rollback?: boolean;
}

/** The coordinator's answer to `POST /timed/version`: done, or refused with an HTTP error. */
export type VersionChangeResult =
  | {
      ok: true;
      action: 'unchanged' | VersionChange['kind'];
      from: string | null;
      to: string;
      purge: boolean;
      archiveKey?: string;
      state: GateState;
    }
  | { ok: false; status: 409 | 503; code: string; message: string; details?: unknown };

/** Answer of a manual purge. */
export interface PurgeResult {
  complete: boolean;
  /** Tickers whose latest value this purge has deleted so far. */
  purged: number;
  /** Tickers in the index when the purge began. */
  tickerCount: number;
  version: string | null;
}
