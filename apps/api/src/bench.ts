// pnpm bench for @timed/api.
// 1) Throughput on varied keys (the headline): each request asks for a random symbol-day among
//    thousands (a dashboard per symbol, a research script walking days), so a cache rarely helps.
//    The API without its micro-cache against pgbench running the plain row query of a day's bars
//    (same keys, same concurrency) on the same database: how close the API gets to Postgres itself.
//    Beside it, labelled, the API with the 1 s micro-cache (as deployed) on the same varied keys,
//    and on one identical URL. Alternating rounds of the same run, medians.
// 2) Bulk export: a year of one symbol's minutes as NDJSON and CSV, rows/s against
//    `COPY (SELECT ...) TO STDOUT` of the same rows; and the API's RSS during a 1M-row export.
// 3) Scale: the day query's latency on a 1M-row and a 20M-row price_bars, sampled alternately.
// Prints figures and ratios; asserts nothing.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyOutCount, createDb, type Db, PRICE_BAR_COLUMNS, readBarRows, sql } from '@timed/db';
import { createTestDatabase, startEmbeddedPostgres } from '@timed/db/testing';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import {
  BARS_PER_SYMBOL,
  BENCH_DAY,
  BENCH_SYMBOL,
  countBars,
  EXPORT_SYMBOL,
  fillBars,
  fillExportYear,
} from './bench-data.js';

const SMALL = Number(process.env.BENCH_SMALL_ROWS ?? 1_000_000);
const BIG = Number(process.env.BENCH_BIG_ROWS ?? 20_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const EXPORT_ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
const PATH = `/bars/${BENCH_SYMBOL}?start=${BENCH_DAY}&end=${BENCH_DAY}`;
const DAYS = 256;
const FIRST_DAY = Date.parse('2024-01-01T00:00:00Z');

type Urls = { uncachedUrl: string; cachedUrl: string; bytes: number };

/** Child mode: the API without and with its micro-cache on ephemeral ports; reports the URLs. */
async function serve(url: string): Promise<void> {
  // One pool for both apps, as large as the load's concurrency (pgbench gets as many connections).
  const db = createDb(url, { max: CONNECTIONS, applicationName: 'timed-api-bench' });
  const uncached = await buildApp({ db, rateLimit: false, barsCacheTtlMs: 0 });
  const uncachedUrl = await uncached.listen({ port: 0, host: '127.0.0.1' });
  const cached = await buildApp({ db, rateLimit: false, barsCacheTtlMs: 1_000 });
  const cachedUrl = await cached.listen({ port: 0, host: '127.0.0.1' });
  const bytes = (await uncached.inject({ method: 'GET', url: PATH })).rawPayload.length;
  const urls: Urls = { uncachedUrl, cachedUrl, bytes };
  if (!process.send) {
    // Run alone (`node --cpu-prof dist/bench.js serve <url>`) to profile under an outside load:
    // prints the URLs; Ctrl-C exits normally so the profile is written.
    console.log(JSON.stringify(urls));
    process.on('SIGINT', () => process.exit(0));
  }
  process.send?.(urls);
  process.on('message', (m) => {
    if (m === 'rss') process.send?.({ rss: process.memoryUsage().rss });
  });
}

/** The symbols the generator wrote in full (AAPL, F0001, ...). */
function symbolsOf(rows: number): string[] {
  const n = Math.max(1, Math.floor(rows / BARS_PER_SYMBOL));
  return Array.from({ length: n }, (_, i) =>
    i === 0 ? BENCH_SYMBOL : `F${String(i).padStart(4, '0')}`,
  );
}

function randomDayPath(symbols: string[]): string {
  const symbol = symbols[Math.floor(Math.random() * symbols.length)]!;
  const day = new Date(FIRST_DAY + Math.floor(Math.random() * DAYS) * 86_400_000)
    .toISOString()
    .slice(0, 10);
  return `/bars/${symbol}?start=${day}&end=${day}`;
}

type Run = { rps: number; p99: number; errors: number };

async function cannon(url: string, seconds: number, symbols?: string[]): Promise<Run> {
  const r = await autocannon({
    url: symbols ? url : url + PATH,
    connections: CONNECTIONS,
    duration: seconds,
    pipelining: 1,
    ...(symbols
      ? {
          requests: [
            { method: 'GET', setupRequest: (req) => ({ ...req, path: randomDayPath(symbols) }) },
          ],
        }
      : {}),
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

/** pgbench of this machine: PGBENCH, the PATH, or Debian's per-version folders. */
function findPgbench(): string | undefined {
  if (process.env.PGBENCH) return process.env.PGBENCH;
  try {
    return execFileSync('which', ['pgbench'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return undefined;
    return readdirSync(root)
      .map((v) => join(root, v, 'bin', 'pgbench'))
      .find((p) => existsSync(p));
  }
}

/**
 * The plain row query of a day's bars, as the repository runs it (1-minute read), for a random
 * symbol-day of the generated data, as a pgbench script.
 */
function pgbenchScript(symbols: number): string {
  const day = `('2024-01-01'::date + :d::int)::timestamp AT TIME ZONE 'UTC'`;
  return `\\set s random(0, ${symbols - 1})
\\set d random(0, ${DAYS - 1})
SELECT ${PRICE_BAR_COLUMNS.join(', ')} FROM price_bars WHERE symbol = CASE WHEN :s::int = 0 THEN '${BENCH_SYMBOL}' ELSE 'F' || lpad(:s::text, 4, '0') END AND deleted_at IS NULL AND timestamp >= ${day} AND timestamp <= ${day} + interval '1 day' - interval '1 millisecond' AND (is_legacy = false OR is_legacy IS NULL) ORDER BY timestamp LIMIT 10001;
`;
}

/** One pgbench round: the same concurrency as the HTTP load, prepared statements, like the API. */
function pgbenchRound(pgbench: string, url: string, script: string, seconds: number): Run {
  const out = execFileSync(
    pgbench,
    [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(CONNECTIONS),
      '-j',
      '2',
      '-T',
      String(seconds),
      '-f',
      script,
      url,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const tps = /tps = ([\d.]+)/.exec(out);
  const lat = /latency average = ([\d.]+) ms/.exec(out);
  const failed = /number of failed transactions: (\d+)/.exec(out);
  if (!tps) throw new Error(`pgbench printed no tps:\n${out}`);
  return {
    rps: Number(tps[1]),
    p99: Number(lat?.[1] ?? Number.NaN),
    errors: Number(failed?.[1] ?? 0),
  };
}

/**
 * Without pgbench: the same row query from a separate Node process on CONNECTIONS connections
 * (pg, prepared, rows left as text), counting answers per second.
 */
async function pgLoad(url: string, symbols: number, seconds: number): Promise<Run> {
  const child = fork(new URL(import.meta.url), ['pgload', url, String(symbols), String(seconds)], {
    stdio: 'inherit',
  });
  return new Promise<Run>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Run));
    child.once('exit', (code) => code && reject(new Error(`pgload exited with ${code}`)));
  });
}

async function pgLoadChild(url: string, symbols: number, seconds: number): Promise<void> {
  const db = createDb(url, { max: CONNECTIONS, applicationName: 'timed-api-bench-pgload' });
  const list = symbolsOf(symbols * BARS_PER_SYMBOL);
  let done = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        const path = randomDayPath(list);
        const [symbol, day] = [path.slice(6, path.indexOf('?')), path.slice(-10)];
        await readBarRows(db, {
          symbols: [symbol!],
          start: new Date(`${day}T00:00:00Z`),
          end: new Date(`${day}T23:59:59.999Z`),
          interval: '1m',
          limit: 10_001,
        });
        done++;
      }
    }),
  );
  process.send?.({ rps: done / seconds, p99: Number.NaN, errors: 0 });
  await db.destroy();
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const f = (x: number, d = 2) => x.toFixed(d);

async function throughput(urls: Urls, dbUrl: string, symbols: string[]): Promise<void> {
  const pgbench = findPgbench();
  const dir = mkdtempSync(join(tmpdir(), 'timed-pgbench-'));
  const script = join(dir, 'day.sql');
  writeFileSync(script, pgbenchScript(symbols.length));
  const ceilingLabel = pgbench ? 'pgbench, plain row query' : 'pg load process, plain row query';
  const targets: Record<string, (s: number) => Promise<Run>> = {
    'API, no cache': (s) => cannon(urls.uncachedUrl, s, symbols),
    [ceilingLabel]: async (s) =>
      pgbench ? pgbenchRound(pgbench, dbUrl, script, s) : pgLoad(dbUrl, symbols.length, s),
    'API, 1 s micro-cache (as deployed)': (s) => cannon(urls.cachedUrl, s, symbols),
    'API, micro-cache, one identical URL': (s) => cannon(urls.cachedUrl, s),
  };
  const runs = new Map<string, Run[]>(Object.keys(targets).map((k) => [k, []]));
  try {
    for (const run of Object.values(targets)) await run(1);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, run] of Object.entries(targets)) runs.get(label)!.push(await run(SECONDS));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\nthroughput on varied keys (a random day of ${symbols.length} symbols x ${DAYS} days = ` +
      `${(symbols.length * DAYS).toLocaleString()} keys), ${CONNECTIONS} connections each side, ` +
      `${ROUNDS} alternating rounds of ${SECONDS} s (medians)${pgbench ? `, ${pgbench}` : ''}:`,
  );
  const med = new Map<string, number>();
  for (const [label, rs] of runs) {
    const m = { rps: median(rs.map((r) => r.rps)), p99: median(rs.map((r) => r.p99)) };
    med.set(label, m.rps);
    const errors = rs.reduce((n, r) => n + r.errors, 0);
    const lat = label.startsWith('API') ? `p99 ${m.p99} ms` : `avg latency ${f(m.p99)} ms`;
    console.log(
      `  ${label.padEnd(38)} ${f(m.rps, 0).padStart(7)} req/s  ${lat}  errors ${errors}  (rounds: ${rs.map((r) => f(r.rps, 0)).join(', ')})`,
    );
  }
  const api = med.get('API, no cache')!;
  const ceiling = med.get(ceilingLabel)!;
  console.log(
    `  ratio API (no cache) / ${ceilingLabel}: ${f(api / ceiling)} (goal >= 0.6); ` +
      `with the micro-cache on the same keys ${f(med.get('API, 1 s micro-cache (as deployed)')! / ceiling)}`,
  );
}

const dayQuery = {
  symbols: [BENCH_SYMBOL],
  start: new Date(`${BENCH_DAY}T00:00:00Z`),
  end: new Date(`${BENCH_DAY}T23:59:59.999Z`),
  limit: 10_001,
  interval: '1m' as const,
};

/** Reads a whole export over HTTP: rows (lines) and seconds; samples the server's RSS meanwhile. */
async function exportOnce(url: string, child?: ChildProcess) {
  let peak = 0;
  const onRss = (m: unknown) => {
    const rss = (m as { rss?: number }).rss;
    if (rss !== undefined) peak = Math.max(peak, rss);
  };
  child?.on('message', onRss);
  const poll = child ? setInterval(() => child.send('rss'), 20) : undefined;
  const t0 = performance.now();
  const res = await fetch(url);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(poll);
  child?.off('message', onRss);
  if (res.status !== 200) throw new Error(`export answered ${res.status}`);
  return { lines, bytes, seconds, peak };
}

/** Asks the serving child for its RSS. */
function rssOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const rss = (m as { rss?: number }).rss;
      if (rss !== undefined) {
        child.off('message', on);
        resolve(rss);
      }
    };
    child.on('message', on);
    child.send('rss');
  });
}

/** Bulk export: NDJSON and CSV of a year of minutes vs COPY of the same rows; RSS on 1M rows. */
async function bulkExport(adminUrl: string): Promise<string> {
  const url = await createTestDatabase(adminUrl, { prefix: 'bench_api_export' });
  const db = createDb(url);
  let child: ChildProcess | undefined;
  try {
    const year = 252 * 960;
    console.log(
      `\nbulk export: ${EXPORT_SYMBOL} ${year.toLocaleString()} bars (a year of extended-hours minutes), BULK ${EXPORT_ROWS.toLocaleString()} bars`,
    );
    await fillExportYear(db, EXPORT_SYMBOL, year);
    await fillExportYear(db, 'BULK', EXPORT_ROWS);
    child = fork(new URL(import.meta.url), ['serve', url], { stdio: 'inherit' });
    const urls = await new Promise<Urls>((resolve) =>
      child!.once('message', (m) => resolve(m as Urls)),
    );
    const select = `SELECT ${PRICE_BAR_COLUMNS.join(', ')}
      FROM price_bars WHERE symbol = '${EXPORT_SYMBOL}' AND deleted_at IS NULL
      AND (is_legacy = false OR is_legacy IS NULL) ORDER BY timestamp`;
    const copy: number[] = [];
    const nd: number[] = [];
    const csv: number[] = [];
    await copyOutCount(db, select);
    await exportOnce(`${urls.uncachedUrl}/bars/${EXPORT_SYMBOL}?format=ndjson`);
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const c = await copyOutCount(db, select);
      copy.push(c.lines / ((performance.now() - t0) / 1000));
      const n = await exportOnce(`${urls.uncachedUrl}/bars/${EXPORT_SYMBOL}?format=ndjson`);
      nd.push(n.lines / n.seconds);
      const v = await exportOnce(`${urls.uncachedUrl}/bars/${EXPORT_SYMBOL}?format=csv`);
      csv.push((v.lines - 1) / v.seconds);
      if (c.lines !== year || n.lines !== year || v.lines !== year + 1)
        throw new Error(
          `export row counts differ: copy ${c.lines}, ndjson ${n.lines}, csv ${v.lines - 1}`,
        );
    }
    const [mc, mn, mv] = [median(copy), median(nd), median(csv)];
    console.log(
      `  COPY (SELECT ...) TO STDOUT   ${f(mc / 1000, 0).padStart(6)}k rows/s  (rounds: ${copy.map((x) => f(x / 1000, 0)).join(', ')}k)`,
    );
    console.log(
      `  GET ?format=ndjson            ${f(mn / 1000, 0).padStart(6)}k rows/s  ratio ${f(mn / mc)} (goal >= 0.5)`,
    );
    console.log(
      `  GET ?format=csv               ${f(mv / 1000, 0).padStart(6)}k rows/s  ratio ${f(mv / mc)} (goal >= 0.5)`,
    );
    const before = await rssOf(child);
    const big = await exportOnce(`${urls.uncachedUrl}/bars/BULK?format=ndjson`, child);
    console.log(
      `  ${big.lines.toLocaleString()}-row NDJSON export (${f(big.bytes / 1e6, 0)} MB in ${f(big.seconds, 1)} s): ` +
        `API RSS ${f(before / 1e6, 0)} MB before, peak ${f(big.peak / 1e6, 0)} MB, growth ${f((big.peak - before) / 1e6, 1)} MB (goal < 50 MB)`,
    );
    return url;
  } finally {
    child?.kill();
    await db.destroy();
  }
}

/** Latency of the day query on each database (SQL on the pool, and over HTTP), sampled in turn. */
async function latency(targets: { label: string; db: Db; url: string }[], n = 500) {
  const samples = targets.map(() => ({ sql: [] as number[], http: [] as number[] }));
  for (let i = 0; i < n + 50; i++) {
    for (const [k, t] of targets.entries()) {
      const t0 = performance.now();
      const bars = await readBarRows(t.db, dayQuery);
      const t1 = performance.now();
      const res = await fetch(t.url + PATH);
      await res.arrayBuffer();
      const t2 = performance.now();
      if (bars.length !== 390 || res.status !== 200)
        throw new Error(`unexpected answer (${t.label})`);
      if (i >= 50) {
        samples[k]!.sql.push(t1 - t0);
        samples[k]!.http.push(t2 - t1);
      }
    }
  }
  return samples.map((s) => {
    s.sql.sort((a, b) => a - b);
    s.http.sort((a, b) => a - b);
    return {
      sqlP50: percentile(s.sql, 50),
      sqlP99: percentile(s.sql, 99),
      httpP50: percentile(s.http, 50),
      httpP99: percentile(s.http, 99),
    };
  });
}

/** Drops a bench database on a server we do not own (DATABASE_URL). */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = createDb(adminUrl, { max: 1 });
  try {
    await sql`DROP DATABASE IF EXISTS ${sql.id(name)}`.execute(admin);
  } finally {
    await admin.destroy();
  }
}

async function fill(db: Db, rows: number): Promise<number> {
  const t = Date.now();
  await fillBars(db, 0, rows, (n) => process.stdout.write(`\r  ${n.toLocaleString()} rows`));
  const count = await countBars(db);
  console.log(`\r  ${count.toLocaleString()} rows in ${f((Date.now() - t) / 1000, 1)} s`);
  return count;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const dataDir = join(tmpdir(), `timed-api-bench-${randomBytes(4).toString('hex')}`);
  const embedded = process.env.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir, persistent: false });
  const adminUrl = process.env.DATABASE_URL ?? embedded!.url();
  const smallUrl = await createTestDatabase(adminUrl, { prefix: 'bench_api_small' });
  const bigUrl = await createTestDatabase(adminUrl, { prefix: 'bench_api_big' });
  const small = createDb(smallUrl);
  const big = createDb(bigUrl);
  const apps: FastifyInstance[] = [];
  let child: ChildProcess | undefined;
  let exportUrl: string | undefined;
  try {
    console.log(
      `price_bars of ${SMALL.toLocaleString()} rows (INSERT ... SELECT generate_series):`,
    );
    const smallRows = await fill(small, SMALL);
    child = fork(new URL(import.meta.url), ['serve', smallUrl], { stdio: 'inherit' });
    const urls = await new Promise<Urls>((resolve) =>
      child!.once('message', (m) => resolve(m as Urls)),
    );
    console.log(`response: 390 bars, ${urls.bytes.toLocaleString()} bytes of JSON`);
    await throughput(urls, smallUrl, symbolsOf(smallRows));
    child.kill();
    child = undefined;
    exportUrl = await bulkExport(adminUrl);

    console.log(`\nprice_bars of ${BIG.toLocaleString()} rows in a second database:`);
    const bigRows = await fill(big, BIG);
    const targets = [];
    for (const [label, db] of [
      [`${smallRows.toLocaleString()} rows`, small],
      [`${bigRows.toLocaleString()} rows`, big],
    ] as const) {
      const app = await buildApp({ db, rateLimit: false, barsCacheTtlMs: 0 });
      apps.push(app);
      targets.push({ label, db, url: await app.listen({ port: 0, host: '127.0.0.1' }) });
    }
    const [s, b] = (await latency(targets)) as [
      Awaited<ReturnType<typeof latency>>[number],
      Awaited<ReturnType<typeof latency>>[number],
    ];
    console.log(
      '\nlatency of the day query (no cache, sequential, 500 samples each, alternating):',
    );
    for (const [label, r] of [
      [targets[0]!.label, s],
      [targets[1]!.label, b],
    ] as const) {
      console.log(
        `  ${label.padEnd(18)} SQL p50 ${f(r.sqlP50)} ms p99 ${f(r.sqlP99)} ms | HTTP p50 ${f(r.httpP50)} ms p99 ${f(r.httpP99)} ms`,
      );
    }
    console.log(
      `  ${targets[1]!.label} vs ${targets[0]!.label}: SQL p50 x${f(b.sqlP50 / s.sqlP50)}, HTTP p50 x${f(b.httpP50 / s.httpP50)} (goal: within 20%)`,
    );
    console.log(`\nbench finished in ${f((Date.now() - t0) / 1000, 0)} s`);
  } finally {
    child?.kill();
    for (const app of apps) await app.close();
    await small.destroy();
    await big.destroy();
    if (embedded) await embedded.stop();
    else {
      await dropDatabase(adminUrl, new URL(smallUrl).pathname.slice(1));
      await dropDatabase(adminUrl, new URL(bigUrl).pathname.slice(1));
      if (exportUrl) await dropDatabase(adminUrl, new URL(exportUrl).pathname.slice(1));
    }
  }
}

if (process.argv[2] === 'serve') {
  void serve(process.argv[3]!);
} else if (process.argv[2] === 'pgload') {
  void pgLoadChild(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
