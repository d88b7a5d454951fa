import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Latency histogram size: 1 ms buckets up to 2 minutes, the last one for anything slower. */
export const LATENCY_BUCKETS = 120_001;

/** One SSE client: its symbols and whether it also follows the leaderboard. */
export interface ClientSpec {
  id: number;
  symbols: string[];
  leaderboard: boolean;
}

/** Requests to an sse-clients child. */
export type ClientsMessage =
  | { type: 'open'; reqId: number; base: string; clients: ClientSpec[] }
  | { type: 'stats'; reqId: number }
  | { type: 'report'; reqId: number }
  | { type: 'exit' };

/** What a client received, as the child reports it at the end. */
export interface ClientReport {
  id: number;
  state: 'connecting' | 'open' | 'ended' | 'error';
  error: string | undefined;
  /** Last `price` per subscribed symbol (NaN = none received). */
  lastPrice: number[];
  priceEvents: number;
  provisionalBars: number;
  finalBars: number;
  duplicateFinalBars: number;
  finalTrades: number;
  finalVolume: number;
  leaderboardEvents: number;
  leaderboardWithVolume: number;
  otherEvents: number;
}

export interface ClientsStats {
  connecting: number;
  open: number;
  ended: number;
  error: number;
  events: number;
  finalBars: number;
  /** Price latency histogram since the previous stats, [ms, count] pairs. */
  latency: Array<[number, number]>;
}

export interface ClientsReport {
  clients: ClientReport[];
  latency: Array<[number, number]>;
  negative: number;
}

/** What the tap child answers to `stats` (since the last) and `report` (all). */
export interface TapStats {
  rows: number;
  latency: Array<[number, number]>;
}

/** Messages a daemon child sends. */
export type DaemonChildMessage =
  | { type: 'consumed'; trades: number; firstMs: number; lastMs: number }
  | { type: 'exit'; code: number };

let nextReqId = 1;

/** Sends `msg` with a fresh reqId and resolves with the child's answer carrying it. */
export function ask<T>(
  child: ChildProcess,
  msg: Record<string, unknown> & { type: string },
  ms = 120_000,
): Promise<T> {
  const reqId = nextReqId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no answer to ${msg.type} within ${ms} ms`));
    }, ms);
    const onMessage = (m: { reqId?: number }) => {
      if (m.reqId !== reqId) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.send({ ...msg, reqId });
  });
}

/** Resident set size of a process in MiB (Linux /proc), undefined when it is gone. */
export function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in seconds (Linux /proc), undefined when gone. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** Busy CPU time of the whole machine (all cores, all processes) in seconds, from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    // cpu user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = f.reduce((a, x) => a + x, 0) - (f[3] ?? 0) - (f[4] ?? 0);
    return busy / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on Linux everywhere that matters here. */
const CLOCK_TICKS = 100;

/** The value at quantile q (0..1) of a 1 ms histogram given as [bucket, count] pairs. */
export function quantile(hist: ReadonlyArray<readonly [number, number]>, q: number): number {
  const sorted = [...hist].sort((a, b) => a[0] - b[0]);
  let total = 0;
  for (const [, n] of sorted) total += n;
  if (total === 0) return Number.NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [ms, n] of sorted) {
    seen += n;
    if (seen >= rank) return ms;
  }
  return sorted[sorted.length - 1]![0];
}

/** Median of numbers (NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
