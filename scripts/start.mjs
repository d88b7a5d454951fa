#!/usr/bin/env node
// The local stack behind `pnpm start`: embedded Postgres (or DATABASE_URL) and migrations; the
// local Databento gateway streaming a generated US-equities session in real time (unless
// DATABENTO_API_KEY is set); the screener in live mode; the API with the dashboard; the ingest
// Worker under `wrangler dev`. Logs are prefixed per app. Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createDb, migrate, openLocalDatabase } from '@timed/db';
import { generateTradesSession, startLocalGateway, tradesSource } from '@timed/dbn/gateway';
import { seedHistory } from './seed-history.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
// Local state (Postgres data, the Worker's KV): git-ignored .data/ unless TIMED_DATA_DIR says otherwise.
const dataRoot = env.TIMED_DATA_DIR ?? join(root, '.data');
const API_PORT = Number(env.PORT ?? 3000);
const WORKER_PORT = Number(env.TIMED_WORKER_PORT ?? 8787);
const GATEWAY_PORT = Number(env.TIMED_GATEWAY_PORT ?? 13000);
const LOCAL_KEY = 'db-localstackkey0000000000000000';
const WORKER_KEY = env.TIMED_API_KEY ?? 'local-dev-key';
const COLORS = { stack: 36, gateway: 35, screener: 33, api: 32, ingest: 34 };
const tty = process.stdout.isTTY;

function prefix(name) {
  const tag = `[${name}]`.padEnd(11);
  return tty ? `\x1b[${COLORS[name] ?? 37}m${tag}\x1b[0m` : tag;
}
const log = (line) => process.stdout.write(`${prefix('stack')} ${line}\n`);

const children = [];

/**
 * Starts `command` in its own process group with prefixed output. With `quietUntil`, lines before
 * the first one matching it are held back (a tool's start-up chatter), and shown only if the
 * process exits before that line.
 */
function run(name, command, args, extraEnv, quietUntil) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...env, ...extraEnv },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let held = quietUntil ? [] : undefined;
  const print = (line) => process.stdout.write(`${prefix(name)} ${line}\n`);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (held && !quietUntil.test(line)) {
        held.push(line);
        return;
      }
      held = undefined;
      print(line);
    });
  }
  child.on('exit', (code, signal) => {
    for (const line of held ?? []) print(line);
    held = undefined;
    if (!stopping) log(`${name} exited (${signal ?? code}); stopping the stack`);
    void stop(1);
  });
  children.push(child);
  return child;
}

let stopping = false;
let pgServer;
let gateway;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  const exits = children
    .filter((c) => c.exitCode === null && c.signalCode === null)
    .map(
      (c) =>
        new Promise((resolve) => {
          c.once('exit', resolve);
          try {
            process.kill(-c.pid, 'SIGTERM');
          } catch {
            resolve();
          }
          setTimeout(() => {
            try {
              process.kill(-c.pid, 'SIGKILL');
            } catch {}
            resolve();
          }, 10_000).unref();
        }),
    );
  await Promise.all(exits);
  await gateway?.close().catch(() => {});
  await pgServer?.stop().catch(() => {});
  log('stopped');
  process.exit(code);
}

/** Seeds the local stack's history once (see seed-history.mjs) and says what it did. */
async function seedLocalHistory(databaseUrl, instruments, seed, tradesPerSecond) {
  const db = createDb(databaseUrl, { applicationName: 'timed-start-seed' });
  const started = performance.now();
  try {
    const r = await seedHistory(db, {
      instruments,
      seed,
      tradesPerSecond,
      dataset: 'EQUS.MINI',
      log,
    });
    if (r.seeded) {
      log(
        `seeded history: ${r.bars.toLocaleString('en-US')} bars for ${instruments.length} symbols in ${((performance.now() - started) / 1000).toFixed(1)} s: legacy MBP-1 ${r.legacyDays.join(', ')}; the switch to trades ${r.switchAt.toISOString()}; trades ${r.tradesDays.join(', ')}`,
      );
    } else {
      log(`history not seeded: ${r.reason}`);
    }
  } finally {
    await db.destroy();
  }
}

async function main() {
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = join(dataRoot, 'postgres');
    mkdirSync(dirname(dataDir), { recursive: true });
    pgServer = await openLocalDatabase({
      dataDir,
      port: Number(env.TIMED_PG_PORT ?? 54329),
      log: (l) => log(l),
    });
    databaseUrl = pgServer.url;
  } else {
    const { applied } = await migrate({ url: databaseUrl, log: (l) => log(l) });
    log(applied.length ? `${applied.length} migration(s) applied` : 'database is up to date');
  }

  const screenerEnv = {
    DATABASE_URL: databaseUrl,
    SCREENER_SCHEMA: env.SCREENER_SCHEMA ?? 'trades',
  };
  if (env.DATABENTO_API_KEY) {
    log('DATABENTO_API_KEY is set: the screener connects to Databento');
  } else {
    // A session that opened 30 minutes ago (so the screener's replay has history) and runs a day.
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const seed = Number(env.TIMED_LOCAL_SEED ?? 1);
    const tradesPerSecond = Number(env.TIMED_LOCAL_TPS ?? 300);
    const session = generateTradesSession({
      symbols: Number(env.TIMED_LOCAL_SYMBOLS ?? 300),
      start: nowNs - 30n * 60n * 1_000_000_000n,
      end: nowNs + 24n * 3600n * 1_000_000_000n,
      seed,
      tradesPerSecond,
    });
    // Days of history before going live (and before the screener loads previous closes).
    // The busiest symbols (first in the session's list): the chart's and the leaderboard's.
    const seedSymbols = Number(env.TIMED_SEED_SYMBOLS || 100);
    if (!Number.isInteger(seedSymbols) || seedSymbols < 1) {
      throw new Error(
        `TIMED_SEED_SYMBOLS must be a whole number >= 1, got ${JSON.stringify(env.TIMED_SEED_SYMBOLS)}`,
      );
    }
    const seeded = session.instruments.slice(0, seedSymbols);
    if (env.TIMED_SEED_HISTORY !== '0') {
      await seedLocalHistory(databaseUrl, seeded, seed, tradesPerSecond);
    }
    gateway = await startLocalGateway({
      apiKey: LOCAL_KEY,
      port: GATEWAY_PORT,
      source: tradesSource(session),
      rate: 'realtime',
    });
    log(
      `local Databento gateway on ${gateway.address}: ${session.instruments.length} symbols, generated trades in real time`,
    );
    Object.assign(screenerEnv, {
      DATABENTO_API_KEY: LOCAL_KEY,
      DATABENTO_DATASET: 'EQUS.MINI',
      DATABENTO_LIVE_GATEWAY: gateway.address,
      SCREENER_SYMBOLS: env.SCREENER_SYMBOLS ?? 'ALL_SYMBOLS',
    });
  }

  run('screener', process.execPath, [join(root, 'apps/screener/dist/main.js'), 'run'], screenerEnv);
  run('api', process.execPath, [join(root, 'apps/api/dist/main.js')], {
    DATABASE_URL: databaseUrl,
    PORT: String(API_PORT),
    HOST: env.HOST ?? '127.0.0.1',
    // Leaderboard rows carry the TradingView state and scores from the local Worker.
    TIMED_WORKER_URL: env.TIMED_WORKER_URL ?? `http://127.0.0.1:${WORKER_PORT}`,
  });
  run(
    'ingest',
    process.execPath,
    [
      join(root, 'apps/ingest/node_modules/wrangler/bin/wrangler.js'),
      'dev',
      '--cwd',
      join(root, 'apps/ingest'),
      '--ip',
      '127.0.0.1',
      '--port',
      String(WORKER_PORT),
      '--persist-to',
      join(dataRoot, 'wrangler'),
      '--var',
      `TIMED_API_KEY:${WORKER_KEY}`,
      '--show-interactive-dev-session=false',
    ],
    // No metrics, no banner or update notice; the bindings table is held back until it is ready.
    {
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_HIDE_BANNER: 'true',
    },
    /Ready on /,
  );

  const api = `http://127.0.0.1:${API_PORT}`;
  const worker = `http://127.0.0.1:${WORKER_PORT}`;
  log('');
  log(`dashboard     ${api}/`);
  log(`API docs      ${api}/docs`);
  log(`bars          ${api}/bars/AAPL?include_legacy=true`);
  log(`worker        ${worker}/timed/health`);
  log('send a TradingView-style webhook:');
  log(
    `  curl -X POST '${worker}/timed/ingest?key=${WORKER_KEY}' -H 'content-type: application/json' -d '{"script_version":"2.1.0","ticker":"AAPL","ts":${Date.now()},"price":187.5,"htf_score":42,"ltf_score":-12,"state":"Q1"}'`,
  );
  log(`Postgres      ${databaseUrl}`);
  log('candles appear on the dashboard as each minute closes; Ctrl-C stops everything');
}

main().catch((err) => {
  // Ctrl-C while starting: stop() is already taking everything down (Postgres included).
  if (stopping) return;
  process.stderr.write(`${prefix('stack')} failed: ${err?.stack ?? err}\n`);
  void stop(1);
});
