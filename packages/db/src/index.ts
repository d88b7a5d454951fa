/** kysely's raw SQL tag, for statements kysely's builder does not express (LISTEN, VACUUM, benchmarks). */
export { sql } from 'kysely';
export {
  type BarRow,
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
  streamBarRows,
  utcTextToDate,
  utcTextToIso,
} from './bars-aggregate.js';
export {
  type CopyJsonPage,
  type CopyRender,
  copyJsonPage,
  copyRowRenderer,
  renderJsonBars,
} from './bars-copy-render.js';
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
  type CreateDbOptions,
  createDb,
  type Database,
  type Db,
  PRICE_BAR_COLUMNS,
  type PriceBarsTable,
  poolOf,
  type ScreenerInstancesTable,
  type TimedMigrationsTable,
} from './database.js';
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
  type LocalDatabase,
  type OpenLocalDatabaseOptions,
  openLocalDatabase,
} from './local-database.js';
export {
  type CriteriaOptions,
  type Criterion,
  type CriterionId,
  evaluateCriteria,
  MIN_DAYS_OF_NEW_DATA,
} from './migration-criteria.js';
export { findMigrationsDir } from './migrations-dir.js';
export { type MigrateOptions, migrate } from './migrator.js';
export {
  type BarCountsRow,
  barCountsBySource,
  type HourlyCoverage,
  type MigrationFacts,
  migrationFacts,
  newestBarPerSource,
  pingDb,
  type ScreenerHeartbeat,
  type SinceSwitch,
  type SwitchErrorRow,
  type SwitchSource,
  screenerHeartbeats,
} from './operations-queries.js';
export { type PreviousClose, previousCloses } from './prev-close.js';
// The screener's live state follows the session day (04:00 New York) by the feed's time.
export { sessionDayOf, sessionDayStart } from './session-day.js';
// Test servers and the embedded-Postgres starter: @timed/db/testing. The seed's runbook behind
// timed-db: @timed/db/runbook.
