import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase, migrate, startEmbeddedPostgres } from '@timed/db';

/** The workspace root (the folder holding pnpm-workspace.yaml above this module), else cwd. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return process.cwd();
}

/**
 * Starts the local embedded Postgres (data kept in `dataDir`, default <repo>/.data/postgres),
 * creates the `timed` database and applies migrations. Used when DATABASE_URL is unset.
 */
export async function startLocalDatabase(options: {
  dataDir?: string;
  port?: number;
  log: (line: string) => void;
}): Promise<{ url: string; stop: () => Promise<void> }> {
  const dataDir = resolve(options.dataDir ?? join(repoRoot(), '.data', 'postgres'));
  options.log(`DATABASE_URL unset: starting embedded Postgres in ${dataDir}`);
  const server = await startEmbeddedPostgres({ dataDir, port: options.port, persistent: true });
  try {
    const url = await ensureDatabase(server.url(), 'timed');
    const { applied } = await migrate({ url, log: options.log });
    options.log(
      `embedded Postgres on 127.0.0.1:${server.port}, database timed, ${applied.length} migration(s) applied`,
    );
    return { url, stop: () => server.stop() };
  } catch (err) {
    await server.stop().catch(() => {});
    throw err;
  }
}
