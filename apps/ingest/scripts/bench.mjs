#!/usr/bin/env node
// Benchmark of the ingest Worker in local workerd (wrangler's unstable_dev, Miniflare).
// Prints: ingest req/s and p99 vs the no-op route GET /timed/ping of the same Worker (ratio, goal
// >= 0.5), KV operations per normal ingest (goal <= 4 writes, <= 2 reads), and how fast a migrating
// webhook answers while its purge continues in the background. In the same rounds it loads a second
// Worker (scripts/kv-floor-worker.ts) that does only the ingest's KV work, and one bare KV read and
// write, so the figures show how much of an ingest is Miniflare's local KV and how much is our code.
// Env: BENCH_REQUESTS (per round, default 2000), BENCH_CONCURRENCY (default 16), BENCH_ROUNDS (3),
// BENCH_MIGRATION_TICKERS (1000), BENCH_STATE_DIR (where local KV/DO state goes; default /dev/shm).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const { unstable_dev } = await import('wrangler');

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEY = 'bench-key-0123456789';
// Local KV/DO state lives in files; on a slow disk their fsyncs, not the Worker, dominate the
// figures, so a RAM disk is used when there is one (BENCH_STATE_DIR overrides).
const stateRoot = process.env.BENCH_STATE_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const persistTo = mkdtempSync(join(stateRoot, 'timed-ingest-bench-'));

const worker = await unstable_dev(join(appDir, 'src/index.ts'), {
  config: join(appDir, 'wrangler.toml'),
  ip: '127.0.0.1',
  persistTo,
  logLevel: 'warn',
  vars: { TIMED_API_KEY: KEY, CURRENT_DATA_VERSION: '2.2.0', DISCORD_WEBHOOK_URL: '' },
  experimental: { disableExperimentalWarning: true },
});
const base = `http://${worker.address}:${worker.port}`;
const floorPersistTo = mkdtempSync(join(stateRoot, 'timed-ingest-bench-floor-'));
const floorWorker = await unstable_dev(join(appDir, 'scripts/kv-floor-worker.ts'), {
  config: join(appDir, 'wrangler.toml'),
  ip: '127.0.0.1',
  persistTo: floorPersistTo,
  logLevel: 'warn',
  vars: { TIMED_API_KEY: KEY, CURRENT_DATA_VERSION: '2.2.0', DISCORD_WEBHOOK_URL: '' },
  experimental: { disableExperimentalWarning: true },
});
const floorBase = `http://${floorWorker.address}:${floorWorker.port}`;

let seq = 0;
const perTicker = new Map();
/** A realistic alert: scores move every time, the state every 5th and momentum every 10th alert. */
function alertBody(ticker, version) {
  seq++;
  const n = (perTicker.get(ticker) ?? 0) + 1;
  perTicker.set(ticker, n);
  return JSON.stringify({
    script_version: version,
    ticker,
    ts: 1_704_067_200_000 + seq * 1000,
    exchange: 'NASDAQ',
    interval: '5',
    price: 100 + (seq % 50),
    htf_score: (seq % 40) - 20,
    ltf_score: (seq % 30) - 15,
    score: seq % 25,
    state: `Q${(Math.floor(n / 5) % 4) + 1}`,
    momentum: { elite: Math.floor(n / 10) % 2 === 0, score: Math.floor(n / 10) % 100 },
  });
}

/** Runs `count` requests made by `make(i)` with CONCURRENCY in flight; returns latencies (ms). */
async function load(count, make, onResponse) {
  const latencies = new Array(count);
  let next = 0;
  const started = performance.now();
  async function lane() {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const [url, init] = make(i);
      const t0 = performance.now();
      const res = await fetch(url, init);
      const body = await res.text();
      latencies[i] = performance.now() - t0;
      if (!res.ok) throw new Error(`${url} answered ${res.status}: ${body}`);
      onResponse?.(res, body);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - started) / 1000;
  return { rps: count / seconds, latencies };
}

function pct(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const median = (xs) => pct(xs, 50);
const fmt = (n, d = 1) => n.toFixed(d);

const ops = { n: 0, reads: 0, writes: 0, maxReads: 0, maxWrites: 0 };
function countOps(res) {
  const h = res.headers.get('x-timed-kv-ops');
  if (!h) return;
  const m = /reads=(\d+), writes=(\d+)/.exec(h);
  const reads = Number(m[1]);
  const writes = Number(m[2]);
  ops.n++;
  ops.reads += reads;
  ops.writes += writes;
  ops.maxReads = Math.max(ops.maxReads, reads);
  ops.maxWrites = Math.max(ops.maxWrites, writes);
}

try {
  const ingestUrl = `${base}/timed/ingest?key=${KEY}`;
  const post = (ticker, version) => [
    ingestUrl,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: alertBody(ticker, version),
    },
  ];
  // Warm up: S = 2.2.0, JIT, isolate version cache.
  await load(200, (i) => post(`W${i % 50}`, '2.2.0'));
  await load(200, () => [`${base}/timed/ping`]);
  // The floor Worker's alerts: the same generator on other tickers (F…), so each phase sees the
  // same pattern of state and momentum changes per ticker.
  const floorPost = (path, ticker) => [
    `${floorBase}${path}?ticker=${ticker}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: alertBody(ticker, '2.2.0'),
    },
  ];
  await load(200, (i) => floorPost('/floor/store', `FW${i % 50}`));

  const noop = [];
  const ingest = [];
  const floor = [];
  const bareGet = [];
  const barePut = [];
  const sample = (x) => ({ rps: x.rps, p99: pct(x.latencies, 99), p50: pct(x.latencies, 50) });
  const floorOps = { n: 0, reads: 0, writes: 0 };
  const countFloorOps = (_res, text) => {
    const body = JSON.parse(text);
    floorOps.n++;
    floorOps.reads += body.reads;
    floorOps.writes += body.writes;
  };
  for (let r = 0; r < ROUNDS; r++) {
    const a = await load(REQUESTS, () => [`${base}/timed/ping`]);
    noop.push(sample(a));
    const b = await load(REQUESTS, (i) => post(`T${i % 500}`, '2.2.0'), countOps);
    ingest.push(sample(b));
    const f = await load(REQUESTS, (i) => floorPost('/floor/store', `F${i % 500}`), countFloorOps);
    floor.push(sample(f));
    const g = await load(REQUESTS, (i) => [`${floorBase}/floor/get?ticker=F${i % 500}`]);
    bareGet.push(sample(g));
    const p = await load(REQUESTS, (i) => floorPost('/floor/put', `P${i % 500}`));
    barePut.push(sample(p));
  }
  const noopRps = median(noop.map((x) => x.rps));
  const ingestRps = median(ingest.map((x) => x.rps));
  const ratio = ingestRps / noopRps;
  const floorRps = median(floor.map((x) => x.rps));
  await floorWorker.stop();

  // A migrating webhook while N tickers wait to be purged.
  const TICKERS = Number(process.env.BENCH_MIGRATION_TICKERS ?? 1000);
  await load(TICKERS, (i) => post(`M${i}`, '2.2.0'));
  // A deploy that expects 2.3.0: restart on the same persisted state, send the first 2.3.0 alert.
  await worker.stop();
  const migrating = await unstable_dev(join(appDir, 'src/index.ts'), {
    config: join(appDir, 'wrangler.toml'),
    ip: '127.0.0.1',
    persistTo,
    logLevel: 'warn',
    vars: { TIMED_API_KEY: KEY, CURRENT_DATA_VERSION: '2.3.0', DISCORD_WEBHOOK_URL: '' },
    experimental: { disableExperimentalWarning: true },
  });
  const mBase = `http://${migrating.address}:${migrating.port}`;
  // Warm the new isolate and wake the coordinator, so the figure is the migration, not a cold start.
  await (await fetch(`${mBase}/timed/ping`)).text();
  await (await fetch(`${mBase}/timed/health`)).text();
  const t0 = performance.now();
  const res = await fetch(`${mBase}/timed/ingest?key=${KEY}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: alertBody('FIRST', '2.3.0'),
  });
  const migrationAnswerMs = performance.now() - t0;
  const answer = await res.json();
  let purgeMs = Number.NaN;
  for (;;) {
    const h = await (await fetch(`${mBase}/timed/health`)).json();
    if (h.purge === null) {
      purgeMs = performance.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await migrating.stop();

  console.log('\n@timed/ingest benchmark (local workerd via wrangler unstable_dev)');
  console.log(
    `requests per round ${REQUESTS}, concurrency ${CONCURRENCY}, rounds ${ROUNDS} (medians); state in ${stateRoot}`,
  );
  console.log('');
  console.log(
    `no-op  GET /timed/ping    ${fmt(noopRps, 0).padStart(6)} req/s   p50 ${fmt(median(noop.map((x) => x.p50)))} ms   p99 ${fmt(median(noop.map((x) => x.p99)))} ms`,
  );
  console.log(
    `ingest POST /timed/ingest ${fmt(ingestRps, 0).padStart(6)} req/s   p50 ${fmt(median(ingest.map((x) => x.p50)))} ms   p99 ${fmt(median(ingest.map((x) => x.p99)))} ms`,
  );
  console.log(
    `ratio ingest/no-op        ${fmt(ratio, 2)}   (goal >= 0.50: ${ratio >= 0.5 ? 'met' : 'NOT met'})   per round ${ingest.map((x, i) => fmt(x.rps / noop[i].rps, 2)).join(' ')}`,
  );
  console.log('');
  console.log("KV floor (second Worker: the same KV work, nothing else; Miniflare's local KV)");
  const line = (label, xs) =>
    console.log(
      `${label.padEnd(26)}${fmt(median(xs.map((x) => x.rps)), 0).padStart(6)} req/s   p50 ${fmt(median(xs.map((x) => x.p50)))} ms   p99 ${fmt(median(xs.map((x) => x.p99)))} ms   ratio to no-op ${fmt(median(xs.map((x) => x.rps)) / noopRps, 2)}`,
    );
  line('storePayload only', floor);
  line('one bare KV get', bareGet);
  line('one bare KV put', barePut);
  console.log(
    `                          storePayload only: reads avg ${fmt(floorOps.reads / floorOps.n, 2)}, writes avg ${fmt(floorOps.writes / floorOps.n, 2)}; ingest/floor ${fmt(ingestRps / floorRps, 2)} (the share of the floor's rate the full ingest keeps)`,
  );
  console.log('');
  const avgR = ops.reads / ops.n;
  const avgW = ops.writes / ops.n;
  console.log(
    `KV ops per normal ingest  reads avg ${fmt(avgR, 2)} max ${ops.maxReads}   writes avg ${fmt(avgW, 2)} max ${ops.maxWrites}   (${ops.n} ingests)`,
  );
  console.log(
    `                          (goal <= 4 writes and <= 2 reads: ${ops.maxWrites <= 4 && ops.maxReads <= 2 ? 'met' : 'NOT met'}; index and last-ingest time are written by the coordinator at most once a second)`,
  );
  console.log('');
  console.log(
    `migration 2.2.0 -> 2.3.0 with ${TICKERS + 50 + 500} tickers of old data: webhook answered ${answer.action} in ${fmt(migrationAnswerMs, 0)} ms (TradingView cancels at 3000 ms); purge finished ${fmt(purgeMs / 1000, 2)} s after the request`,
  );
} finally {
  await worker.stop().catch(() => {});
  await floorWorker.stop().catch(() => {});
  rmSync(persistTo, { recursive: true, force: true });
  rmSync(floorPersistTo, { recursive: true, force: true });
}
