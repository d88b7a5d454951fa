// `pnpm --filter @timed/e2e bench` (also run by the root `pnpm bench`; needs the apps built, which
// turbo's bench task does): the live screener at the feed's peak (issue 15's benchmark). Prints
// figures and ratios; asserts nothing. About 5 minutes at full size.
//
// Phase "peak": the local Databento gateway (@timed/dbn/gateway) sends trades at BENCH_LIVE_RATE
// (120,000/s) over BENCH_LIVE_SYMBOLS (8,000) for BENCH_LIVE_SECONDS (60) to the built screener
// daemon (`timed-screener run`), each trade's ts_recv stamped with the wall-clock time the gateway
// writes it (its beforeSend hook); the built API serves BENCH_LIVE_CLIENTS (1,000) SSE clients of
// /stream (BENCH_LIVE_CLIENT_SYMBOLS = 20 random symbols each, BENCH_LIVE_LEADERBOARD_CLIENTS =
// 100 also on the leaderboard) in BENCH_LIVE_CLIENT_PROCS (2) processes. Reported: trade sent ->
// `price` event received (p50/p99, goals 300 ms / 1 s), and the daemon's + Postgres' share of it
// (a LISTEN tap of our own, tap-child.ts; BENCH_LIVE_TAP=0 leaves it out); closed bars (count,
// trade_count and volume sums) and last prices delivered vs what the gateway sent; clients
// dropped; RSS and CPU of each process.
// Phase "rate": the daemon (runDaemon in a child, daemon-child.ts, as the CLI cannot turn live
// publishing off) takes BENCH_RATE_TRADES (6,000,000: rounds of 5-10 s; 2M-trade rounds of about a
// second swung from 0.28 to 1.27 on/off with GC and start-up) trades as fast as it can from the gateway,
// live publishing on vs off, alternating rounds (BENCH_RATE_ROUNDS = 3 each), medians (goal:
// on >= 0.9 x off).
// BENCH_LIVE_PROFILE=api,daemon writes V8 CPU profiles of those processes (daemon: both phases) to
// BENCH_LIVE_PROFILE_DIR (default <tmp>/timed-live-bench-profiles); they slow what they profile.
// BENCH_LIVE_PHASES=peak,rate picks phases. Progress: JSON lines on stderr; the report on stdout
// (readable lines, then one JSON line). A quick run:
//   BENCH_LIVE_SECONDS=10 BENCH_LIVE_RATE=20000 BENCH_LIVE_CLIENTS=100 BENCH_LIVE_CLIENT_PROCS=1 \
//   BENCH_LIVE_LEADERBOARD_CLIENTS=10 BENCH_RATE_TRADES=200000 BENCH_RATE_ROUNDS=1 pnpm bench
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createDb, type Db, sql, upsertBars } from '@timed/db';
import { createTestDatabase, freePort, startEmbeddedPostgres } from '@timed/db/testing';
import { type EncodableRecord, writeRecord } from '@timed/dbn';
import { type LocalGateway, startLocalGateway } from '@timed/dbn/gateway';
import { Rng } from '@timed/dbn/prng';
import { API, type App, SCREENER, spawnApp } from '../processes.js';
import { Ledger, type Trade, TradeMaker, Universe } from './feed.js';
import {
  ask,
  type ClientReport,
  type ClientSpec,
  type ClientsReport,
  type ClientsStats,
  cpuSeconds,
  type DaemonChildMessage,
  machineBusySeconds,
  median,
  quantile,
  rssMb,
  type TapStats,
} from './ipc.js';

const num = (name: string, dflt: number) => {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
};
const SECONDS = num('BENCH_LIVE_SECONDS', 60);
const RATE = num('BENCH_LIVE_RATE', 120_000);
const SYMBOLS = num('BENCH_LIVE_SYMBOLS', 8_000);
const CLIENTS = num('BENCH_LIVE_CLIENTS', 1_000);
const CLIENT_SYMBOLS = num('BENCH_LIVE_CLIENT_SYMBOLS', 20);
const LEADERBOARD_CLIENTS = num('BENCH_LIVE_LEADERBOARD_CLIENTS', 100);
const CLIENT_PROCS = num('BENCH_LIVE_CLIENT_PROCS', 2);
const RATE_TRADES = num('BENCH_RATE_TRADES', 6_000_000);
const RATE_ROUNDS = num('BENCH_RATE_ROUNDS', 3);
const PHASES = (process.env.BENCH_LIVE_PHASES ?? 'peak,rate').split(',').map((s) => s.trim());
const TAP = process.env.BENCH_LIVE_TAP !== '0';
/** `api`, `daemon` or both: V8 CPU profiles of those processes into BENCH_LIVE_PROFILE_DIR. */
const PROFILE = (process.env.BENCH_LIVE_PROFILE ?? '').split(',').map((s) => s.trim());
const PROFILE_DIR =
  process.env.BENCH_LIVE_PROFILE_DIR ?? join(tmpdir(), 'timed-live-bench-profiles');
/** spawnApp, with `node --cpu-prof` for the processes BENCH_LIVE_PROFILE names. */
const launch = (name: string, script: string, args: string[], env: Record<string, string>) =>
  PROFILE.includes(name)
    ? spawnApp('--cpu-prof', [`--cpu-prof-dir=${PROFILE_DIR}`, script, ...args], env)
    : spawnApp(script, args, env);
const KEY = 'db-livebenchkey0123456789ABCDEFG';
const MINUTE_MS = 60_000;
/** A v3 TradeMsg on the wire. */
const TRADE_BYTES = 48;
const HERE = fileURLToPath(new URL('.', import.meta.url));

function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(
    `${JSON.stringify({ t: new Date().toISOString(), event, ...fields, load1: round(loadavg()[0]!, 2) })}\n`,
  );
}
const round = (x: number, d = 1) => (Number.isFinite(x) ? Number(x.toFixed(d)) : x);

async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** A close for every symbol on an earlier day, so pct_from_yesterday and the leaderboard exist. */
async function seedPreviousCloses(db: Db, universe: Universe): Promise<void> {
  // Two UTC days back at 19:00 UTC: a regular-session minute of an earlier session day (EST or EDT).
  const day = new Date(Date.now() - 2 * 86_400_000);
  day.setUTCHours(19, 0, 0, 0);
  const bars = universe.symbols.map((symbol, i) => {
    const p = (universe.openCents[i]! / 100).toFixed(2);
    return {
      symbol,
      timestamp: day,
      open: p,
      high: p,
      low: p,
      close: p,
      volume: 100,
      trade_count: 1,
    };
  });
  for (let i = 0; i < bars.length; i += 2000) await upsertBars(db, bars.slice(i, i + 2000));
}

async function health(
  base: string,
): Promise<{ live: { streams: number; dropped_clients: number } | null }> {
  const r = await fetch(`${base}/health`);
  return (await r.json()) as { live: { streams: number; dropped_clients: number } | null };
}

/** RSS (max, last) and CPU time of the bench's processes, sampled every second. */
class ProcWatch {
  readonly max = new Map<string, number>();
  readonly last = new Map<string, number>();
  private readonly cpuMarks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly pids: () => Record<string, number | undefined>) {}
  start(): this {
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
    return this;
  }
  sample(): void {
    for (const [name, pid] of Object.entries(this.pids())) {
      const mb = rssMb(pid);
      if (mb === undefined) continue;
      this.last.set(name, mb);
      this.max.set(name, Math.max(this.max.get(name) ?? 0, mb));
    }
  }
  /** Starts a CPU measurement window (see cpuShare). */
  markCpu(): void {
    this.cpuMarks.clear();
    for (const [name, pid] of Object.entries(this.pids())) {
      const s = cpuSeconds(pid);
      if (s !== undefined) this.cpuMarks.set(name, s);
    }
    this.cpuMarks.set('@wall', Date.now() / 1000);
    this.cpuMarks.set('@machine', machineBusySeconds() ?? Number.NaN);
  }
  /** Share of one core each process used since markCpu (1 = a whole core). */
  cpuShare(): Record<string, number> {
    const wall = Date.now() / 1000 - (this.cpuMarks.get('@wall') ?? 0);
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids())) {
      const s = cpuSeconds(pid);
      const m = this.cpuMarks.get(name);
      if (s !== undefined && m !== undefined) out[name] = round((s - m) / wall, 2);
    }
    // Everything on the machine, other work included: how contended the cores were.
    const busy = machineBusySeconds();
    if (busy !== undefined) out.machine = round((busy - this.cpuMarks.get('@machine')!) / wall, 2);
    return out;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

interface PeakResult {
  seconds: number;
  targetRate: number;
  sent: number;
  sentRate: number;
  gatewayLagP99Ms: number;
  gatewayLagMaxMs: number;
  clients: number;
  clientsOpenAtStart: number;
  /** Trade sent -> its state's NOTIFY received by a listener of our own (the daemon's part). */
  publishedP50Ms: number;
  publishedP99Ms: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  priceEvents: number;
  negativeLatencies: number;
  finalBars: { delivered: number; expected: number; clientsComplete: number; duplicates: number };
  barTotalsMatch: number;
  lastPrices: { matched: number; expected: number; clientsComplete: number };
  provisionalBars: number;
  leaderboard: { clients: number; eventsMedian: number; connectedS: number; withVolume: number };
  dropped: { byHealth: number; byClients: number; errors: string[] };
  rssMb: Record<string, number>;
  /** Share of a core each process used while the feed ran (the machine has os.cpus() cores). */
  cpu: Record<string, number>;
  daemonExit: number | string;
}

async function peakPhase(adminUrl: string): Promise<PeakResult> {
  const url = await createTestDatabase(adminUrl, { prefix: 'bench_live_peak' });
  const universe = new Universe(SYMBOLS);
  const db = createDb(url, { max: 2, applicationName: 'timed-live-bench' });
  await seedPreviousCloses(db, universe);
  log('peak.database', { symbols: SYMBOLS });

  const ledger = new Ledger(universe);
  const maker = new TradeMaker(universe, 15);
  const total = Math.round(RATE * SECONDS);
  const stepNs = 1e9 / RATE;
  let startFeed!: (t0Ms: number) => void;
  const go = new Promise<number>((r) => {
    startFeed = r;
  });
  // Gateway pacing lag: send time - scheduled time, 1 ms buckets.
  const lag = new Map<number, number>();
  let lagMax = 0;
  async function* paced(): AsyncGenerator<Trade> {
    const t0Ns = BigInt(await go) * 1_000_000n;
    for (let i = 0; i < total; i++) yield maker.next(t0Ns + BigInt(Math.round(i * stepNs)));
  }
  let sessions = 0;
  const gateway: LocalGateway = await startLocalGateway({
    apiKey: KEY,
    source: () => {
      sessions++;
      if (sessions > 1)
        log('peak.warning', { msg: 'the daemon reconnected: the feed is not replayed' });
      return { instruments: universe.instruments, records: sessions === 1 ? paced() : [] };
    },
    // Each record when the clock reaches its scheduled ts_event: RATE per second.
    rate: 'realtime',
    heartbeatMs: 1000,
    beforeSend: (rec) => {
      if (rec.kind !== 'TradeMsg') return rec;
      const now = Date.now();
      const ms = Math.max(0, Math.round(now - Number(rec.ts_event) / 1e6));
      lag.set(ms, (lag.get(ms) ?? 0) + 1);
      if (ms > lagMax) lagMax = ms;
      // ts_recv = when the gateway writes it; ts_event just before, as a venue's would be.
      const stamp = BigInt(now) * 1_000_000n;
      rec.ts_recv = stamp;
      rec.ts_event = stamp - 20_000n;
      ledger.note(rec);
      return rec;
    },
  });

  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  let daemon: App | undefined;
  let api: App | undefined;
  let tap: ChildProcess | undefined;
  const procs: ChildProcess[] = [];
  const rss = new ProcWatch(() => ({
    api: api?.child.pid,
    daemon: daemon?.child.pid,
    bench: process.pid,
    tap: tap?.pid,
    ...Object.fromEntries(procs.map((p, i) => [`clients${i}`, p.pid])),
  })).start();
  try {
    daemon = launch('daemon', SCREENER, ['run'], {
      DATABASE_URL: url,
      DATABENTO_API_KEY: KEY,
      DATABENTO_LIVE_GATEWAY: gateway.address,
      LOG_LEVEL: 'info',
    });
    await daemon.waitFor(/connected to the live gateway/, 120_000);
    log('peak.daemon', { pid: daemon.child.pid });
    if (TAP) {
      const child = fork(join(HERE, 'tap-child.js'), [], {
        stdio: 'inherit',
        env: { ...process.env, BENCH_TAP_URL: url },
      });
      tap = child;
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`the tap exited (${code})`)));
      });
    }
    api = launch('api', API, [], {
      DATABASE_URL: url,
      PORT: String(apiPort),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '0',
      LIVE_MAX_STREAMS: String(Math.max(2_000, CLIENTS + 100)),
      LIVE_MAX_SYMBOLS_PER_STREAM: String(Math.max(100, CLIENT_SYMBOLS)),
    });
    const apiApp = api;
    await until(
      () => {
        if (apiApp.child.exitCode !== null)
          throw new Error(`the API exited: ${apiApp.output.slice(-5).join(' | ')}`);
        return health(base).catch(() => undefined);
      },
      'the API',
      120_000,
    );
    log('peak.api', { pid: api.child.pid, base });

    // Clients: CLIENT_SYMBOLS random distinct symbols each; every (CLIENTS / LEADERBOARD)-th
    // client also follows the leaderboard.
    const rng = new Rng(2026);
    const specs: ClientSpec[] = [];
    const symbolIdx: number[][] = [];
    const lbEvery = Math.max(1, Math.floor(CLIENTS / LEADERBOARD_CLIENTS));
    for (let id = 0; id < CLIENTS; id++) {
      const picked = new Set<number>();
      while (picked.size < Math.min(CLIENT_SYMBOLS, SYMBOLS)) picked.add(rng.int(0, SYMBOLS - 1));
      symbolIdx.push([...picked]);
      specs.push({
        id,
        symbols: [...picked].map((i) => universe.symbols[i]!),
        leaderboard: id % lbEvery === 0 && id / lbEvery < LEADERBOARD_CLIENTS,
      });
    }
    const clientScript = join(HERE, 'sse-clients.js');
    for (let p = 0; p < CLIENT_PROCS; p++) procs.push(fork(clientScript, [], { stdio: 'inherit' }));
    const opened = await Promise.all(
      procs.map((child, p) =>
        ask<ClientsStats>(
          child,
          { type: 'open', base, clients: specs.filter((s) => s.id % CLIENT_PROCS === p) },
          300_000,
        ),
      ),
    );
    const clientsOpen = opened.reduce((a, s) => a + s.open, 0);
    const openedAt = Date.now();
    await until(
      async () => ((await health(base)).live?.streams ?? 0) >= clientsOpen,
      'the API to count the streams',
      60_000,
    );
    log('peak.clients', { open: clientsOpen, failed: opened.reduce((a, s) => a + s.error, 0) });

    // The feed.
    const t0 = Date.now() + 500;
    startFeed(t0);
    rss.markCpu();
    log('peak.feed', { rate: RATE, seconds: SECONDS, symbols: SYMBOLS, trades: total });
    let lastSent = 0;
    let lastAt = t0;
    while (ledger.sent < total) {
      await until(
        () => ledger.sent >= total || Date.now() - lastAt >= 5_000,
        'a progress tick',
        10_000,
      );
      if (ledger.sent >= total) break;
      const stats = await Promise.all(procs.map((c) => ask<ClientsStats>(c, { type: 'stats' })));
      const now = Date.now();
      rss.sample();
      const window = stats.flatMap((x) => x.latency);
      const tapWindow = tap ? (await ask<TapStats>(tap, { type: 'stats' })).latency : [];
      log('peak.progress', {
        elapsedS: round((now - t0) / 1000),
        latencyP50Ms: quantile(window, 0.5),
        latencyP99Ms: quantile(window, 0.99),
        publishedP50Ms: quantile(tapWindow, 0.5),
        sent: ledger.sent,
        rate: Math.round(((ledger.sent - lastSent) * 1000) / (now - lastAt)),
        gatewayLagMaxMs: lagMax,
        clientsOpen: stats.reduce((a, s) => a + s.open, 0),
        clientEvents: stats.reduce((a, s) => a + s.events, 0),
        finalBars: stats.reduce((a, s) => a + s.finalBars, 0),
        rssMb: Object.fromEntries([...rss.last].map(([k, v]) => [k, Math.round(v)])),
      });
      lastSent = ledger.sent;
      lastAt = now;
      if (now - t0 > SECONDS * 1000 * 3 + 60_000) {
        log('peak.warning', {
          msg: 'the gateway could not send the feed in 3x its duration; stopping it',
        });
        break;
      }
    }
    // Sent over the span of the send stamps (first to last ts_recv).
    const cpu = rss.cpuShare();
    const spanMs = ledger.lastRecvMs - ledger.firstRecvMs;
    const sentRate = spanMs > 0 ? ((ledger.sent - 1) * 1000) / spanMs : Number.NaN;
    log('peak.feedDone', {
      sent: ledger.sent,
      seconds: round(spanMs / 1000),
      rate: Math.round(sentRate),
    });

    // The last minute closes on the gateway's first heartbeat after its end; then the clients
    // should hold every closed bar and each symbol's last price. Wait until they do, or until
    // no event at all has arrived for 20 s (a backlog still draining keeps us waiting), at most
    // 10 minutes.
    const lastMinute = ledger.lastRecvMs - (ledger.lastRecvMs % MINUTE_MS);
    const expected = symbolIdx.map((s) => ledger.expectedBars(s));
    const expectedBars = expected.reduce((a, e) => a + e.bars, 0);
    await until(
      () => Date.now() > lastMinute + MINUTE_MS + 3_000,
      'the last minute to end',
      120_000,
    );
    const settleFrom = Date.now();
    let seenEvents = -1;
    let still = Date.now();
    let loggedAt = 0;
    for (;;) {
      const stats = await Promise.all(procs.map((c) => ask<ClientsStats>(c, { type: 'stats' })));
      const bars = stats.reduce((a, s) => a + s.finalBars, 0);
      const events = stats.reduce((a, s) => a + s.events, 0);
      if (bars >= expectedBars) break;
      if (events !== seenEvents) {
        seenEvents = events;
        still = Date.now();
      }
      if (Date.now() - loggedAt >= 5_000) {
        loggedAt = Date.now();
        log('peak.settling', { finalBars: bars, expected: expectedBars, events });
      }
      if (Date.now() - still > 20_000) {
        log('peak.warning', { msg: 'nothing arrived for 20 s short of the expected closed bars' });
        break;
      }
      if (Date.now() - settleFrom > 600_000) {
        log('peak.warning', { msg: 'still short of the expected closed bars after 10 minutes' });
        break;
      }
      await sleep(1_000);
    }
    await sleep(1_000); // the last publish (every 250 ms) of each symbol's final state
    rss.sample();
    const h = await health(base);
    const reports = await Promise.all(procs.map((c) => ask<ClientsReport>(c, { type: 'report' })));
    const tapAll = tap ? (await ask<TapStats>(tap, { type: 'report' })).latency : [];
    tap?.send({ type: 'exit' });
    const connectedS = round((Date.now() - openedAt) / 1000);
    const all: ClientReport[] = reports.flatMap((r) => r.clients).sort((a, b) => a.id - b.id);
    const hist = new Map<number, number>();
    for (const r of reports) for (const [ms, n] of r.latency) hist.set(ms, (hist.get(ms) ?? 0) + n);
    const pairs = [...hist];

    let delivered = 0;
    let complete = 0;
    let duplicates = 0;
    let totalsMatch = 0;
    let pricesExpected = 0;
    let pricesMatched = 0;
    let pricesComplete = 0;
    for (const c of all) {
      const e = expected[c.id]!;
      delivered += c.finalBars;
      duplicates += c.duplicateFinalBars;
      if (c.finalBars === e.bars) complete++;
      if (c.finalBars === e.bars && c.finalTrades === e.trades && c.finalVolume === e.volume)
        totalsMatch++;
      let ok = 0;
      let want = 0;
      symbolIdx[c.id]!.forEach((i, k) => {
        const cents = ledger.lastCents[i]!;
        if (cents < 0) return;
        want++;
        if (Math.round(c.lastPrice[k]! * 100) === cents) ok++;
      });
      pricesExpected += want;
      pricesMatched += ok;
      if (ok === want) pricesComplete++;
    }
    const lbClients = all.filter((c) => specs[c.id]!.leaderboard);
    const result: PeakResult = {
      seconds: SECONDS,
      targetRate: RATE,
      sent: ledger.sent,
      sentRate,
      gatewayLagP99Ms: quantile([...lag], 0.99),
      gatewayLagMaxMs: lagMax,
      clients: CLIENTS,
      clientsOpenAtStart: clientsOpen,
      publishedP50Ms: quantile(tapAll, 0.5),
      publishedP99Ms: quantile(tapAll, 0.99),
      latencyP50Ms: quantile(pairs, 0.5),
      latencyP99Ms: quantile(pairs, 0.99),
      latencyMaxMs: pairs.length ? Math.max(...pairs.map(([ms]) => ms)) : Number.NaN,
      priceEvents: all.reduce((a, c) => a + c.priceEvents, 0),
      negativeLatencies: reports.reduce((a, r) => a + r.negative, 0),
      finalBars: { delivered, expected: expectedBars, clientsComplete: complete, duplicates },
      barTotalsMatch: totalsMatch,
      lastPrices: {
        matched: pricesMatched,
        expected: pricesExpected,
        clientsComplete: pricesComplete,
      },
      provisionalBars: all.reduce((a, c) => a + c.provisionalBars, 0),
      leaderboard: {
        clients: lbClients.length,
        eventsMedian: median(lbClients.map((c) => c.leaderboardEvents)),
        connectedS,
        withVolume: lbClients.filter((c) => c.leaderboardWithVolume > 0).length,
      },
      dropped: {
        byHealth: h.live?.dropped_clients ?? -1,
        byClients: all.filter((c) => c.state === 'error').length,
        errors: [
          ...new Set(all.filter((c) => c.error && c.state === 'error').map((c) => c.error!)),
        ].slice(0, 5),
      },
      rssMb: Object.fromEntries([...rss.max].map(([k, v]) => [k, Math.round(v)])),
      cpu,
      daemonExit: 'running',
    };
    for (const c of procs) c.send({ type: 'exit' });
    await api.stop();
    result.daemonExit = await daemon.stop();
    return result;
  } finally {
    rss.stop();
    if (tap && tap.exitCode === null) tap.kill();
    for (const c of procs) if (c.exitCode === null) c.kill();
    await api?.stop();
    await daemon?.stop();
    await gateway.close();
    await db.destroy();
  }
}

interface RateRound {
  live: boolean;
  trades: number;
  consumeMs: number;
  rate: number;
  /** First trade taken -> every bar of the closed minutes in price_bars. */
  writtenMs: number;
  gatewayWaitingShare: number;
  daemonRssMb: number;
}

/** One round: a fresh database, a gateway sending `RATE_TRADES` trades as fast as read. */
async function rateRound(
  adminUrl: string,
  universe: Universe,
  live: boolean,
  round: number,
): Promise<RateRound> {
  const url = await createTestDatabase(adminUrl, { prefix: `bench_live_rate${round}` });
  const db = createDb(url, { max: 2, applicationName: 'timed-live-bench' });
  await seedPreviousCloses(db, universe);
  const ledger = new Ledger(universe);
  const maker = new TradeMaker(universe, 100 + round);
  // Feed time from two minutes ahead on (never before the daemon's replay start, whenever it
  // starts), at the peak's spacing so minutes close as live; the sending runs ahead of the wall
  // clock as fast as the daemon reads. One trade a minute later closes the last minute.
  // Encoded beforehand (raw records): the gateway only copies bytes, so the daemon, not the
  // gateway, sets the pace (the report shows how often the gateway waited on it).
  const now = Date.now();
  const base = now - (now % MINUTE_MS) + 2 * MINUTE_MS;
  const baseNs = BigInt(base) * 1_000_000n;
  const stepNs = 1e9 / RATE;
  const bytes = new Uint8Array((RATE_TRADES + 1) * TRADE_BYTES);
  const view = new DataView(bytes.buffer);
  const feed: EncodableRecord[] = [];
  let last = 0n;
  for (let i = 0; i <= RATE_TRADES; i++) {
    const ts =
      i < RATE_TRADES
        ? baseNs + BigInt(Math.round(i * stepNs))
        : last - (last % 60_000_000_000n) + 60_000_000_000n;
    last = ts;
    const t = maker.next(ts);
    ledger.note(t);
    const off = i * TRADE_BYTES;
    writeRecord(bytes, view, off, t, 3, false);
    feed.push({
      kind: 'RawRecord',
      rtype: t.rtype,
      publisher_id: t.publisher_id,
      instrument_id: t.instrument_id,
      ts_event: t.ts_event,
      bytes: bytes.subarray(off, off + TRADE_BYTES),
    });
  }
  let sessions = 0;
  const gateway = await startLocalGateway({
    apiKey: KEY,
    source: () => ({ instruments: universe.instruments, records: sessions++ === 0 ? feed : [] }),
    heartbeatMs: 1000,
  });
  const child = fork(join(HERE, 'daemon-child.js'), [], {
    stdio: 'inherit',
    execArgv: PROFILE.includes('daemon') ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [],
    env: {
      ...process.env,
      BENCH_DAEMON: JSON.stringify({
        url,
        gateway: gateway.address,
        apiKey: KEY,
        live,
        trades: RATE_TRADES + 1,
      }),
    },
  });
  let waiting = 0;
  let samples = 0;
  let rssMax = 0;
  const sampler = setInterval(() => {
    const s = gateway.sessions[0];
    if (!s?.started) return;
    samples++;
    if (s.waitingForDrain) waiting++;
    rssMax = Math.max(rssMax, rssMb(child.pid) ?? 0);
  }, 20);
  try {
    const consumed = await new Promise<DaemonChildMessage & { type: 'consumed' }>(
      (resolve, reject) => {
        child.on('message', (m: DaemonChildMessage) => {
          if (m.type === 'consumed') resolve(m);
        });
        child.once('exit', (code) =>
          reject(new Error(`the daemon child exited (${code}) before the end`)),
        );
        const sessions = () =>
          JSON.stringify(
            gateway.sessions.map((x) => ({ sent: x.recordsSent, waiting: x.waitingForDrain })),
          );
        setTimeout(
          () =>
            reject(
              new Error(
                `the daemon took no ${RATE_TRADES + 1} trades in 10 minutes; gateway sessions ${sessions()}`,
              ),
            ),
          600_000,
        ).unref();
      },
    );
    clearInterval(sampler);
    // Written = every trade before the sentinel's minute is in a stored bar (trade_count sums);
    // bars per minute are then compared with what was sent.
    const sentinelMinute = ledger.lastRecvMs - (ledger.lastRecvMs % MINUTE_MS);
    const sums = async () =>
      (
        await sql<{ minute: Date; bars: string; trades: string }>`
          SELECT timestamp AS minute, count(*)::text AS bars, sum(trade_count)::text AS trades
          FROM price_bars WHERE timestamp >= ${new Date(base - MINUTE_MS)}
            AND timestamp < ${new Date(sentinelMinute)}
          GROUP BY timestamp ORDER BY timestamp`.execute(db)
      ).rows;
    let writtenOk = true;
    try {
      await until(
        async () => (await sums()).reduce((a, r) => a + Number(r.trades), 0) >= RATE_TRADES,
        'the closed minutes written',
        120_000,
      );
    } catch {
      writtenOk = false;
    }
    const stored = await sums();
    const sent = [...ledger.minutes]
      .filter(([m]) => m < sentinelMinute)
      .map(([m, t]) => ({
        minute: new Date(m).toISOString(),
        bars: t.trades.filter((n) => n > 0).length,
        trades: t.trades.reduce((a, n) => a + n, 0),
      }));
    const storedView = stored.map((r) => ({
      minute: r.minute.toISOString(),
      bars: Number(r.bars),
      trades: Number(r.trades),
    }));
    if (!writtenOk || JSON.stringify(storedView) !== JSON.stringify(sent)) {
      log('rate.warning', {
        msg: 'stored bars differ from what the gateway sent',
        round,
        sent,
        stored: storedView,
      });
    }
    const written = writtenOk ? Date.now() : Number.NaN;
    const consumeMs = consumed.lastMs - consumed.firstMs;
    return {
      live,
      trades: consumed.trades,
      consumeMs,
      rate: (consumed.trades * 1000) / consumeMs,
      writtenMs: written - consumed.firstMs,
      gatewayWaitingShare: samples ? waiting / samples : Number.NaN,
      daemonRssMb: rssMax,
    };
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await gateway.close();
    await db.destroy();
  }
}

interface RateResult {
  rounds: RateRound[];
  offMedian: number;
  onMedian: number;
  ratio: number;
}

async function ratePhase(adminUrl: string): Promise<RateResult> {
  const universe = new Universe(SYMBOLS);
  const rounds: RateRound[] = [];
  // Alternating, off first: drift on the machine hits both modes alike.
  for (let r = 0; r < RATE_ROUNDS * 2; r++) {
    const live = r % 2 === 1;
    const res = await rateRound(adminUrl, universe, live, r);
    rounds.push(res);
    log('rate.round', {
      round: r + 1,
      live,
      trades: res.trades,
      perSecond: Math.round(res.rate),
      writtenS: round(res.writtenMs / 1000, 2),
      gatewayWaitingShare: round(res.gatewayWaitingShare, 2),
      daemonRssMb: Math.round(res.daemonRssMb),
    });
  }
  const offMedian = median(rounds.filter((r) => !r.live).map((r) => r.rate));
  const onMedian = median(rounds.filter((r) => r.live).map((r) => r.rate));
  return { rounds, offMedian, onMedian, ratio: onMedian / offMedian };
}

function printPeak(p: PeakResult): void {
  const pct = (a: number, b: number) => `${round((100 * a) / b, 2)}%`;
  const lines = [
    `peak: ${p.sent.toLocaleString('en-US')} trades over ${SYMBOLS} symbols sent at ${Math.round(p.sentRate).toLocaleString('en-US')}/s (target ${p.targetRate.toLocaleString('en-US')}/s for ${p.seconds} s); gateway pacing lag p99 ${p.gatewayLagP99Ms} ms, max ${p.gatewayLagMaxMs} ms`,
    `  clients: ${p.clientsOpenAtStart}/${p.clients} connected (${CLIENT_SYMBOLS} symbols each, ${p.leaderboard.clients} also on the leaderboard) in ${CLIENT_PROCS} processes`,
    `  latency, trade sent by the gateway (ts_recv) -> price event received: p50 ${p.latencyP50Ms} ms (goal <= 300), p99 ${p.latencyP99Ms} ms (goal <= 1000), max ${p.latencyMaxMs} ms over ${p.priceEvents.toLocaleString('en-US')} price events${p.negativeLatencies ? ` (${p.negativeLatencies} negative, counted as 0)` : ''}`,
    `  of which trade sent -> its state's NOTIFY received by a LISTEN connection of this script (the daemon and Postgres): ${TAP ? `p50 ${p.publishedP50Ms} ms, p99 ${p.publishedP99Ms} ms` : 'not measured (BENCH_LIVE_TAP=0)'}`,
    `  closed bars (final=true; expected = each client's symbols x the minutes in which the gateway sent them a trade): ${p.finalBars.delivered}/${p.finalBars.expected} (${pct(p.finalBars.delivered, p.finalBars.expected)}); clients with all: ${p.finalBars.clientsComplete}/${p.clients}; with trade_count and volume sums equal to what was sent: ${p.barTotalsMatch}/${p.clients}; duplicates ${p.finalBars.duplicates}`,
    `  last price per symbol = the last trade the gateway sent: ${p.lastPrices.matched}/${p.lastPrices.expected} (${pct(p.lastPrices.matched, p.lastPrices.expected)}); clients with all: ${p.lastPrices.clientsComplete}/${p.clients}`,
    `  provisional bar events ${p.provisionalBars.toLocaleString('en-US')}; leaderboard events per leaderboard client (median) ${p.leaderboard.eventsMedian} in ${p.leaderboard.connectedS} s connected (at most 1/s), clients that saw rows with volume: ${p.leaderboard.withVolume}/${p.leaderboard.clients}`,
    `  dropped clients: ${p.dropped.byHealth} (/health), ${p.dropped.byClients} (clients whose stream ended early)${p.dropped.errors.length ? `: ${p.dropped.errors.join('; ')}` : ''}`,
    `  CPU while the feed ran (cores; bench = gateway + this script; machine = every process on it, other work included): ${Object.entries(
      p.cpu,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} of ${cpus().length}`,
    `  RSS max (MiB): ${Object.entries(p.rssMb)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; daemon exit ${p.daemonExit}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printRate(r: RateResult): void {
  const lines = [
    `rate: the daemon taking ${RATE_TRADES.toLocaleString('en-US')} trades (${SYMBOLS} symbols) as fast as it can from the gateway, ${RATE_ROUNDS} rounds each, alternating`,
    ...r.rounds.map(
      (x, i) =>
        `  round ${i + 1} live ${x.live ? 'on ' : 'off'}: ${Math.round(x.rate).toLocaleString('en-US')} trades/s; all closed bars written ${round(x.writtenMs / 1000, 2)} s after the first trade; gateway waiting on the daemon ${round(100 * x.gatewayWaitingShare, 0)}% of the time; daemon RSS max ${Math.round(x.daemonRssMb)} MiB`,
    ),
    `  median: off ${Math.round(r.offMedian).toLocaleString('en-US')}/s, on ${Math.round(r.onMedian).toLocaleString('en-US')}/s; on/off ${round(r.ratio, 3)} (goal >= 0.9)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'timed-live-bench-'));
  const pg = await startEmbeddedPostgres({ dataDir, persistent: false });
  log('start', { phases: PHASES, loadavg: loadavg().map((x) => round(x, 2)) });
  const out: Record<string, unknown> = {};
  try {
    if (PHASES.includes('peak')) {
      const p = await peakPhase(pg.url());
      out.peak = p;
      printPeak(p);
    }
    if (PHASES.includes('rate')) {
      const r = await ratePhase(pg.url());
      out.rate = r;
      printRate(r);
    }
  } finally {
    await pg.stop();
  }
  out.loadavg = loadavg().map((x) => round(x, 2));
  process.stdout.write(
    `load average (1/5/15 min) at the end: ${(out.loadavg as number[]).join(' ')}\n`,
  );
  process.stdout.write(`${JSON.stringify({ bench: 'live-peak', ...out })}\n`);
}

await main();
