#!/usr/bin/env node
// The local stack behind `pnpm start`: embedded Postgres (or DATABASE_URL), migrations, then the
// apps, each with its log lines prefixed. Ctrl-C stops everything and leaves no process behind.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase, migrate, startEmbeddedPostgres } from '@timed/db';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line) => process.stdout.write(`[stack] ${line}\n`);

async function main() {
  let databaseUrl = process.env.DATABASE_URL;
  let pgServer;
  if (!databaseUrl) {
    const dataDir = join(root, '.data', 'postgres');
    mkdirSync(dirname(dataDir), { recursive: true });
    log(`starting embedded Postgres in ${dataDir}`);
    pgServer = await startEmbeddedPostgres({
      dataDir,
      port: Number(process.env.TIMED_PG_PORT ?? 54329),
    });
    databaseUrl = await ensureDatabase(pgServer.url(), 'timed');
  }
  const { applied } = await migrate({ url: databaseUrl, log: (l) => log(l) });
  log(applied.length ? `${applied.length} migration(s) applied` : 'database is up to date');
  log(`DATABASE_URL=${databaseUrl}`);
  log('up; press Ctrl-C to stop');

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await pgServer?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  setInterval(() => {}, 1 << 30);
}

main().catch((err) => {
  process.stderr.write(`[stack] failed: ${err?.message ?? err}\n`);
  process.exit(1);
});
