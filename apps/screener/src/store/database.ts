import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, type Db, ensureDatabase, migrate, startEmbeddedPostgres } from '@timed/db';
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

/** The monorepo root: the nearest parent folder holding pnpm-workspace.yaml. */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function runningPort(dataDir: string): number | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * Opens DATABASE_URL, or when it is unset the embedded Postgres under `<repo>/.data/postgres`
 * (reusing it when already running, else starting it on port 54329, creating database `timed`
 * and applying the migrations). Fails with a clear error when the tables are missing.
 */
export async function openDatabase(url: string | undefined, logger: Logger): Promise<OpenDatabase> {
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dbUrl = url;
  if (!dbUrl) {
    const dataDir = join(repoRoot(), '.data', 'postgres');
    const port = runningPort(dataDir);
    let adminUrl: string;
    if (port) {
      adminUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
      logger.info({ dataDir, port }, 'DATABASE_URL unset: using the running embedded Postgres');
    } else {
      const pg = await startEmbeddedPostgres({ dataDir, port: EMBEDDED_PORT, persistent: true });
      stopEmbedded = () => pg.stop();
      adminUrl = pg.url();
      logger.info({ dataDir, port: pg.port }, 'DATABASE_URL unset: started embedded Postgres');
    }
    dbUrl = await ensureDatabase(adminUrl, 'timed');
    await migrate({ url: dbUrl });
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
