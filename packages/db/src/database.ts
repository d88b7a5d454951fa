import { type ColumnType, type Generated, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

/** `price_bars`: one 1-minute bar per symbol and minute (see migrations/). */
export interface PriceBarsTable {
  symbol: string;
  timestamp: ColumnType<Date, Date | string, Date | string>;
  /** numeric: read as exact decimal text. */
  open: ColumnType<string, string | number, string | number>;
  high: ColumnType<string, string | number, string | number>;
  low: ColumnType<string, string | number, string | number>;
  close: ColumnType<string, string | number, string | number>;
  /** bigint: read as decimal text. */
  volume: ColumnType<string, string | number | bigint, string | number | bigint>;
  trade_count: number;
  is_legacy: Generated<boolean | null>;
  data_source: Generated<string | null>;
  migrated_at: Generated<Date | null>;
  /** Volume-weighted average price (migration 0005), exact decimal text; NULL = unknown. */
  vwap: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  /** Soft-delete mark (migration 0004); set rows are hidden from reads. */
  deleted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/**
 * The columns a bar is made of, in table order: what readers and writers of whole bars name
 * (bookkeeping `migrated_at` and `deleted_at` left out). The runbook's backups read the table's
 * columns when they run instead, so a backup keeps whatever a later migration adds.
 */
export const PRICE_BAR_COLUMNS = [
  'symbol',
  'timestamp',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'trade_count',
  'is_legacy',
  'data_source',
  'vwap',
] as const satisfies readonly (keyof PriceBarsTable)[];

/** Bookkeeping of the migrator: one row per applied file. */
export interface TimedMigrationsTable {
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

/** `screener_instances`: a heartbeat row per screener process (migration 0003). */
export interface ScreenerInstancesTable {
  instance_id: string;
  host: string;
  pid: number;
  dataset: string;
  schema: string;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_seen: ColumnType<Date, Date | string | undefined, Date | string>;
  /** bigint counters: read as decimal text. */
  trades_seen: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
  bars_written: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
  errors: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
  last_error: string | null;
  last_error_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  stopped_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** The typed schema kysely sees. Later migrations add their tables here. */
export interface Database {
  price_bars: PriceBarsTable;
  timed_migrations: TimedMigrationsTable;
  screener_instances: ScreenerInstancesTable;
}

export type Db = Kysely<Database>;

/** Options of createDb. */
export interface CreateDbOptions {
  /** Pool size (default 10). */
  max?: number;
  /** application_name reported to Postgres. */
  applicationName?: string;
}

/** Creates a kysely instance over a pg pool for `url`; `db.destroy()` closes the pool. */
export function createDb(url: string, options: CreateDbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'timed',
    connectionTimeoutMillis: 5_000,
  });
  // A client losing its server must not crash the process; the next query reports it. The pool
  // listens on idle clients only: it takes its listener off a client while it is checked out
  // (between a transaction's statements, say), so each client gets its own as well.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

const pools = new WeakMap<Db, pg.Pool>();

/** The pg pool under a Db made by createDb (for reads that need pg's own query options). */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this Db was not made by createDb');
  return pool;
}
