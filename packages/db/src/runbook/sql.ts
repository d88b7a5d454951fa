import pg from 'pg';

// Shared by the runbook's commands: one client, a transaction, counts and the table's columns.

/** A double-quoted SQL identifier. */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** Column names as a quoted, comma-separated SQL list. */
export const list = (names: string[]) => names.map(quoteIdent).join(', ');

/**
 * The columns of `table` in table order with their SQL types, read when a command runs: later
 * migrations add columns (vwap, say), and a list fixed here would silently leave them behind.
 */
export async function columnsOf(
  c: pg.Client,
  table: string,
): Promise<{ name: string; type: string }[]> {
  const r = await c.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return r.rows;
}

/** The column names of `table`, in table order. */
export async function columnNames(c: pg.Client, table: string): Promise<string[]> {
  return (await columnsOf(c, table)).map((x) => x.name);
}

/** Runs `fn` on one client inside a transaction; any error (or a kill) leaves the table as it was. */
export async function inTransaction<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'timed-db' });
  await client.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

/** Runs `fn` on one client of its own (no transaction). */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'timed-db' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Counts the rows of `table` matching `where`. */
export async function count(
  c: pg.Client | pg.PoolClient,
  where: string,
  table = 'price_bars',
): Promise<number> {
  const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`);
  return r.rows[0]?.n ?? 0;
}
