import { createDb, type Db, openLocalDatabase } from '@timed/db';
import type { Logger } from 'pino';
import { redactUrl } from '../env.js';
import { ScreenerError } from '../errors.js';

/** An open database and how to let go of it. */
export interface OpenDatabase {
  url: string;
  db: Db;
  /** True when the embedded fallback is in use. */
  embedded: boolean;
  close(): Promise<void>;
}

/** Port of the embedded fallback Postgres (when this process starts it). */
export const EMBEDDED_PORT = 54329;

/**
 * Opens DATABASE_URL, or when it is unset the embedded Postgres under `<repo>/.data/postgres`
 * (reusing it when already running, else starting it on port 54329, creating database `timed`
 * and applying the migrations). Fails with a clear error when the tables are missing.
 */
export async function openDatabase(url: string | undefined, logger: Logger): Promise<OpenDatabase> {
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dbUrl = url;
  if (!dbUrl) {
    const local = await openLocalDatabase({ port: EMBEDDED_PORT, reuseRunning: true });
    stopEmbedded = local.started ? () => local.stop() : undefined;
    dbUrl = local.url;
    logger.info(
      { dataDir: local.dataDir, port: local.port },
      local.started
        ? 'DATABASE_URL unset: started embedded Postgres'
        : 'DATABASE_URL unset: using the running embedded Postgres',
    );
  }
  const db = createDb(dbUrl, { max: 4, applicationName: 'timed-screener' });
  try {
    await db.selectFrom('screener_instances').select('instance_id').limit(1).execute();
    await db.selectFrom('price_bars').select('symbol').limit(1).execute();
  } catch (err) {
    await db.destroy();
    await stopEmbedded?.();
    const missing = /does not exist/.test((err as Error).message);
    throw new ScreenerError(
      'DATABASE',
      missing
        ? `database ${redactUrl(dbUrl)} lacks the screener tables; apply the migrations first (timed-db migrate)`
        : `cannot reach the database ${redactUrl(dbUrl)}: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  return {
    url: dbUrl,
    db,
    embedded: url === undefined,
    close: async () => {
      await db.destroy();
      await stopEmbedded?.();
    },
  };
}
