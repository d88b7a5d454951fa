// pnpm bench for @timed/api.
// 1) Throughput: autocannon, 50 connections, GET /bars/:symbol for one session (390 bars): the API
//    with its micro-cache (as deployed), without it, and a bare Fastify route answering the same
//    JSON precomputed (the ceiling); all three in one child process, measured in alternating
//    rounds of the same run (medians), so machine noise hits them alike.
// 2) Scale: the same query's latency on a 1M-row and a 20M-row price_bars (two databases on one
//    server), sampled alternately. Prints figures and ratios; asserts nothing.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDb,
  createTestDatabase,
  type Db,
  queryBarsAtInterval,
  sql,
  startEmbeddedPostgres,
} from '@timed/db';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { BENCH_DAY, BENCH_SYMBOL, countBars, fillBars } from './bench-data.js';

const SMALL = Number(process.env.BENCH_SMALL_ROWS ?? 1_000_000);
const BIG = Number(process.env.BENCH_BIG_ROWS ?? 20_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PATH = `/bars/${BENCH_SYMBOL}?start=${BENCH_DAY}&end=${BENCH_DAY}`;

type Urls = { apiUrl: string; uncachedUrl: string; ceilingUrl: string; bytes: number };

/** Child mode: the API (cached, uncached) and the ceiling on ephemeral ports; reports the URLs. */
async function serve(url: string): Promise<void> {
  const db = createDb(url, { max: 10, applicationName: 'timed-api-bench' });
  const api = await buildApp({ db, rateLimit: false, barsCacheTtlMs: 1_000 });
  const apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
  const uncached = await buildApp({ db, rateLimit: false, barsCacheTtlMs: 0 });
  const uncachedUrl = await uncached.listen({ port: 0, host: '127.0.0.1' });
  // Precomputed as bytes, as the API keeps a cached page's body.
  const body = (await api.inject({ method: 'GET', url: PATH })).rawPayload;
  const ceiling = Fastify();
  ceiling.get('/bars/:symbol', (_request, reply) => {
    reply.type('application/json; charset=utf-8').send(body);
  });
  const ceilingUrl = await ceiling.listen({ port: 0, host: '127.0.0.1' });
  const urls: Urls = { apiUrl, uncachedUrl, ceilingUrl, bytes: body.length };
  process.send?.(urls);
}

type Run = { rps: number; p99: number; errors: number };

async function cannon(url: string, seconds: number): Promise<Run> {
  const r = await autocannon({ url, connections: 50, duration: seconds, pipelining: 1 });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const f = (x: number, d = 2) => x.toFixed(d);

async function throughput(urls: Urls): Promise<void> {
  const targets = {
    'API (1 s micro-cache, as deployed)': urls.apiUrl,
    'API without cache': urls.uncachedUrl,
    'ceiling (same JSON, precomputed)': urls.ceilingUrl,
  };
  const runs = new Map<string, Run[]>(Object.keys(targets).map((k) => [k, []]));
  for (const url of Object.values(targets)) await cannon(url + PATH, 1);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, url] of Object.entries(targets))
      runs.get(label)!.push(await cannon(url + PATH, SECONDS));
  }
  console.log(
    `\nthroughput, autocannon 50 connections, ${ROUNDS} alternating rounds of ${SECONDS} s (medians), GET ${PATH}:`,
  );
  const med = new Map<string, { rps: number; p99: number }>();
  for (const [label, rs] of runs) {
    const m = { rps: median(rs.map((r) => r.rps)), p99: median(rs.map((r) => r.p99)) };
    med.set(label, m);
    const errors = rs.reduce((n, r) => n + r.errors, 0);
    console.log(
      `  ${label.padEnd(36)} ${f(m.rps, 0).padStart(7)} req/s  p99 ${m.p99} ms  errors ${errors}  (rounds: ${rs.map((r) => f(r.rps, 0)).join(', ')})`,
    );
  }
  const [api, uncached, ceil] = [...med.values()] as [
    { rps: number; p99: number },
    { rps: number; p99: number },
    { rps: number; p99: number },
  ];
  console.log(
    `  ratio API/ceiling ${f(api.rps / ceil.rps)} (goal >= 0.5; without cache ${f(uncached.rps / ceil.rps)}); ` +
      `API p99 ${api.p99} ms (goal <= 10 ms; ceiling ${ceil.p99} ms, without cache ${uncached.p99} ms)`,
  );
}

const dayQuery = {
  symbol: BENCH_SYMBOL,
  start: new Date(`${BENCH_DAY}T00:00:00Z`),
  end: new Date(`${BENCH_DAY}T23:59:59.999Z`),
  limit: 1000,
  interval: '1m' as const,
};

/** Latency of the day query on each database (SQL on the pool, and over HTTP), sampled in turn. */
async function latency(targets: { label: string; db: Db; url: string }[], n = 500) {
  const samples = targets.map(() => ({ sql: [] as number[], http: [] as number[] }));
  for (let i = 0; i < n + 50; i++) {
    for (const [k, t] of targets.entries()) {
      const t0 = performance.now();
      const { bars } = await queryBarsAtInterval(t.db, dayQuery);
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
    await throughput(urls);
    child.kill();
    child = undefined;

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
    }
  }
}

if (process.argv[2] === 'serve') {
  void serve(process.argv[3]!);
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
