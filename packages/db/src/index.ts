/** kysely's raw SQL tag, for consumers that run raw statements on a Db (benchmarks, tools). */
export { sql } from 'kysely';
export {
  type BarRow,
  type BarsRender,
  barsReadSql,
  bucketInSession,
  copyOutCount,
  copyRenderedBars,
  GapFiller,
  inRegularSession,
  type QueryBarsAtIntervalOptions,
  queryBarsAtInterval,
  type ReadBarsOptions,
  readBarRows,
  readRenderedBars,
  renderedBarsSql,
  streamBarRows,
  utcTextToDate,
  utcTextToIso,
} from './bars-aggregate.js';
export {
  type BarsPosition,
  decodeBarsCursor,
  decodeBarsPosition,
  encodeBarsCursor,
  encodeBarsPosition,
  type QueryBarsOptions,
  queryBars,
  type StoredBar,
  upsertBars,
} from './bars-repository.js';
export {
  checkCleanupGates,
  describeCriterion,
  GATED_ACTIONS,
  type GateVerdict,
  resolveMinDays,
} from './cleanup-gates.js';
export {
  type CreateDbOptions,
  createDb,
  type Database,
  type Db,
  type PriceBarsTable,
  poolOf,
  type ScreenerInstancesTable,
  type TimedMigrationsTable,
} from './database.js';
export {
  type EmbeddedPostgresHandle,
  type EmbeddedPostgresOptions,
  ensureDatabase,
  freePort,
  startEmbeddedPostgres,
} from './embedded-postgres.js';
export { DbError, type DbErrorCode, InvalidBarError } from './errors.js';
export { barsBetween, type LiveBar } from './live-bars.js';
export {
  type LiveEvent,
  LiveListener,
  type LiveListenerOptions,
  readClosedThrough,
  readLiveState,
} from './live-listener.js';
export {
  LivePublisher,
  type LivePublisherOptions,
  type LivePublisherStats,
} from './live-publisher.js';
export {
  DEFAULT_FEED,
  LIVE_CHANNEL,
  type LiveStateRow,
  type LiveSymbolState,
  MAX_PAYLOAD_BYTES,
  pctFromYesterday,
} from './live-state.js';
export {
  type CriteriaOptions,
  type Criterion,
  type CriterionId,
  evaluateCriteria,
  MIN_DAYS_OF_NEW_DATA,
  MIN_NEW_BARS,
} from './migration-criteria.js';
export { findMigrationsDir, type MigrationFile, readMigrations } from './migrations-dir.js';
export { type MigrateOptions, type MigrationState, migrate, migrationStatus } from './migrator.js';
export {
  type BarCountsRow,
  barCountsBySource,
  type HourlyCoverage,
  type MigrationFacts,
  migrationFacts,
  newestBarPerSource,
  pingDb,
  SCREENER_ALIVE_SECONDS,
  type ScreenerHeartbeat,
  type SinceSwitch,
  type SwitchErrorRow,
  type SwitchSource,
  screenerHeartbeats,
  sinceSwitch,
} from './operations-queries.js';
export { type PreviousClose, previousCloses } from './prev-close.js';
export {
  archiveLegacy,
  backupRows,
  deleteLegacy,
  inTransaction,
  monitorSnapshot,
  planFor,
  purgeSoftDeleted,
  type RunbookAction,
  type RunbookPlan,
  restoreBackup,
  restoreSoftDeleted,
  rollbackTrades,
  softDeleteLegacy,
  unarchiveLegacy,
} from './runbook.js';
export { SESSION_START_HOUR, sessionDayOf, sessionDayStart } from './session-day.js';
export {
  createTestDatabase,
  type ProvidingProject,
  provideTestServer,
  startTestServer,
  type TestServer,
} from './test-database.js';
