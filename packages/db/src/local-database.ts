import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase, startEmbeddedPostgres } from './embedded-postgres.js';
import { migrate } from './migrator.js';

/** Options of openLocalDatabase. */
export interface OpenLocalDatabaseOptions {
  /** Data folder, kept between runs (default `<repo>/.data/postgres`). */
  dataDir?: string;
  /** Port when this call starts the server (default: a free one). */
  port?: number;
  /** Use the server already running on `dataDir` (found by its postmaster.pid) when there is one. */
  reuseRunning?: boolean;
  /** Progress lines, the migrator's included (default: dropped). */
  log?: (line: string) => void;
}

/** The local database: database `timed` on an embedded Postgres, migrated. */
export interface LocalDatabase {
  url: string;
  dataDir: string;
  port: number;
  /** False when a running server was reused (stop then leaves it running). */
  started: boolean;
  /** Migration files applied by this call. */
  applied: string[];
  /** Stops the server when this call started it. */
  stop(): Promise<void>;
}

/** The workspace root: the nearest folder above this module holding pnpm-workspace.yaml, else cwd. */
function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Port of the live server whose postmaster.pid is in `dataDir`, if one runs. */
function runningPort(dataDir: string): number | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * What the apps and `pnpm start` do when DATABASE_URL is unset: start (or, with `reuseRunning`,
 * reuse) the embedded Postgres in `dataDir`, create database `timed` and apply the migrations.
 */
export async function openLocalDatabase(
  options: OpenLocalDatabaseOptions = {},
): Promise<LocalDatabase> {
  const dataDir = resolve(options.dataDir ?? join(repoRoot(), '.data', 'postgres'));
  const log = options.log ?? (() => {});
  const reused = options.reuseRunning ? runningPort(dataDir) : undefined;
  let port: number;
  let adminUrl: string;
  let stop = async () => {};
  if (reused !== undefined) {
    port = reused;
    adminUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    log(`using the embedded Postgres already running in ${dataDir} (port ${port})`);
  } else {
    log(`starting embedded Postgres in ${dataDir}`);
    const server = await startEmbeddedPostgres({ dataDir, port: options.port, persistent: true });
    port = server.port;
    adminUrl = server.url();
    stop = () => server.stop();
  }
  try {
    const url = await ensureDatabase(adminUrl, 'timed');
    const { applied } = await migrate({ url, log });
    log(
      `embedded Postgres on 127.0.0.1:${port}, database timed, ${applied.length} migration(s) applied`,
    );
    return { url, dataDir, port, started: reused === undefined, applied, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
