/**
 * The coordinator's own storage (Durable Object SQLite): a JSON state row, the ticker index and
 * the set of tickers written since the running purge began. Every call is synchronous, so a
 * Durable Object method that only uses this store runs atomically with respect to other calls.
 */
export class CoordinatorStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS tickers (ticker TEXT PRIMARY KEY, last_ms INTEGER NOT NULL)`,
    );
    sql.exec(`CREATE TABLE IF NOT EXISTS protected (ticker TEXT PRIMARY KEY)`);
  }

  /** A JSON value stored under `key`, or undefined. */
  getMeta<T>(key: string): T | undefined {
    const row = this.sql.exec<{ v: string }>('SELECT v FROM meta WHERE k = ?', key).toArray()[0];
    return row ? (JSON.parse(row.v) as T) : undefined;
  }

  /** Stores a JSON value under `key`. */
  setMeta(key: string, value: unknown): void {
    this.sql.exec(
      'INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v',
      key,
      JSON.stringify(value),
    );
  }

  /** Adds a ticker to the index; true when it was not there yet. */
  addTicker(ticker: string, atMs: number): boolean {
    const inserted = this.sql.exec(
      'INSERT INTO tickers (ticker, last_ms) VALUES (?, ?) ON CONFLICT(ticker) DO NOTHING',
      ticker,
      atMs,
    ).rowsWritten;
    if (inserted === 0) {
      this.sql.exec(
        'UPDATE tickers SET last_ms = ? WHERE ticker = ? AND last_ms < ?',
        atMs,
        ticker,
        atMs,
      );
    }
    return inserted > 0;
  }

  /** Number of tickers in the index. */
  tickerCount(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM tickers').one().n;
  }

  /** Tickers in the index, sorted. */
  tickers(limit = -1): string[] {
    return this.sql
      .exec<{ ticker: string }>('SELECT ticker FROM tickers ORDER BY ticker LIMIT ?', limit)
      .toArray()
      .map((r) => r.ticker);
  }

  /** Empties the index. */
  clearTickers(): void {
    this.sql.exec('DELETE FROM tickers');
  }

  /** Marks a ticker as written during the running purge; true when newly marked. */
  protect(ticker: string): boolean {
    return (
      this.sql.exec(
        'INSERT INTO protected (ticker) VALUES (?) ON CONFLICT(ticker) DO NOTHING',
        ticker,
      ).rowsWritten > 0
    );
  }

  /** True when the ticker was written during the running purge. */
  isProtected(ticker: string): boolean {
    return this.sql.exec('SELECT 1 FROM protected WHERE ticker = ?', ticker).toArray().length > 0;
  }

  /** Forgets all protected tickers (a purge ended or restarted). */
  clearProtected(): void {
    this.sql.exec('DELETE FROM protected');
  }
}
