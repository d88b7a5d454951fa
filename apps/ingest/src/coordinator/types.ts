/** The coordinator's view of the data version, as isolates cache it. */
export interface GateState {
  /** S: the stored data version, or null before the first payload. */
  stored: string | null;
  /** E: CURRENT_DATA_VERSION as the coordinator sees it. */
  expected: string;
  /** True while a purge (migration or manual) is running: every write must be admitted. */
  purging: boolean;
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
  reason: 'migration' | 'manual';
  keepVersion: string | null;
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
}

/** Answer of a manual purge. */
export interface PurgeResult {
  complete: boolean;
  /** Tickers whose latest value this purge has deleted so far. */
  purged: number;
  /** Tickers in the index when the purge began. */
  tickerCount: number;
  version: string | null;
}
