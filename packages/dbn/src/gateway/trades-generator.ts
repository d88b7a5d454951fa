import { RType } from '../layout.js';
import { Rng } from '../prng.js';
import type { TradeMsg } from '../records.js';

/** Options of generateTradesSession. */
export interface TradesSessionOptions {
  /** Explicit symbols, or how many to invent (default 500). Real large caps come first. */
  symbols?: string[] | number;
  /** Session open, UNIX ns (or Date). */
  start: bigint | Date;
  /** Session close, UNIX ns (or Date), exclusive. */
  end: bigint | Date;
  /** Seed: same seed and options give the same trades. Default 1. */
  seed?: number;
  /** Average trades per second across all symbols (default 500); intraday U-shaped. */
  tradesPerSecond?: number;
  /** Publisher id on the records (default 95 = EQUS.MINI.EQUS). */
  publisherId?: number;
  /** First instrument id; symbols get consecutive ids (default 1000). */
  firstInstrumentId?: number;
}

/** One instrument of a generated session. */
export interface GeneratedInstrument {
  instrument_id: number;
  symbol: string;
  /** Opening price in dollars. */
  openPrice: number;
}

/** A deterministic synthetic US-equities trading session. */
export interface TradesSession {
  readonly instruments: GeneratedInstrument[];
  readonly start: bigint;
  readonly end: bigint;
  /** Trades in ts_recv order, starting at the first trade with ts_event >= `from`. */
  records(from?: bigint): Generator<TradeMsg>;
}

const LARGE_CAPS = [
  'AAPL',
  'MSFT',
  'NVDA',
  'AMZN',
  'GOOGL',
  'META',
  'TSLA',
  'BRK.B',
  'AVGO',
  'JPM',
  'LLY',
  'V',
  'UNH',
  'XOM',
  'MA',
  'COST',
  'HD',
  'PG',
  'JNJ',
  'NFLX',
  'ABBV',
  'BAC',
  'CRM',
  'AMD',
  'KO',
  'CVX',
  'PEP',
  'TMO',
  'WMT',
  'ORCL',
  'ADBE',
  'MRK',
  'CSCO',
  'ACN',
  'LIN',
  'MCD',
  'ABT',
  'INTC',
  'QCOM',
  'DIS',
  'IBM',
  'GE',
  'CAT',
  'VZ',
  'T',
  'PFE',
  'NKE',
  'BA',
  'GS',
  'MS',
  'SPY',
  'QQQ',
  'IWM',
  'DIA',
  'PLTR',
  'UBER',
  'SHOP',
  'COIN',
  'SOFI',
  'F',
];

const MINUTE_NS = 60_000_000_000n;

/** 32-bit integer hash of a few integers (deterministic, well mixed): one seed per symbol, minute, step. */
function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    h = Math.imul(h, 0x297a2d39);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

function toNs(t: bigint | Date): bigint {
  return typeof t === 'bigint' ? t : BigInt(t.getTime()) * 1_000_000n;
}

function inventSymbols(n: number, seed: number): string[] {
  const out = LARGE_CAPS.slice(0, n);
  const seen = new Set(out);
  const rng = new Rng(hash32(seed, 0x5e5e));
  while (out.length < n) {
    const len = rng.int(2, 4);
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(65 + rng.int(0, 25));
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

function tick(price: number): number {
  return price < 1 ? 0.0001 : 0.01;
}

function tradeSize(rng: Rng): number {
  const u = rng.next();
  if (u < 0.4) return rng.int(1, 99); // odd lots are a large share of US prints
  if (u < 0.85) return 100 * rng.int(1, 5);
  if (u < 0.98) return 100 * rng.int(5, 50);
  return 100 * rng.int(50, 500); // block
}

/**
 * Generate a realistic, deterministic trades session: Zipf-like activity across symbols, a
 * U-shaped intraday rate, bursts (sweeps of several prints within microseconds), odd lots and
 * blocks, prices on a per-minute random walk. Each minute is generated from its own seed, so
 * `records(from)` starts at any point in O(symbols x minutes) without replaying the session.
 */
export function generateTradesSession(options: TradesSessionOptions): TradesSession {
  const seed = options.seed ?? 1;
  const start = toNs(options.start);
  const end = toNs(options.end);
  if (end <= start) throw new RangeError('generateTradesSession: end must be after start');
  const symbols =
    typeof options.symbols === 'number' || options.symbols === undefined
      ? inventSymbols(options.symbols ?? 500, seed)
      : options.symbols;
  const firstId = options.firstInstrumentId ?? 1000;
  const publisher = options.publisherId ?? 95;
  const tps = options.tradesPerSecond ?? 500;
  const n = symbols.length;
  const setup = new Rng(hash32(seed, 0xbeef));
  const instruments: GeneratedInstrument[] = [];
  const vol = new Float64Array(n);
  const cum = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1500, Math.max(1.5, Math.exp(3.6 + 1.1 * setup.normal())));
    instruments.push({
      instrument_id: firstId + i,
      symbol: symbols[i]!,
      openPrice: Math.round(p * 100) / 100,
    });
    vol[i] = 0.0008 + 0.0015 * setup.next(); // per-minute log volatility
    total += 1 / (i + 3) ** 1.05;
    cum[i] = total;
  }
  const minutes = Number((end - start + MINUTE_NS - 1n) / MINUTE_NS);

  // Log-price of symbol i at the start of minute m: sum of per-minute seeded shocks.
  function logPriceAt(i: number, m: number): number {
    let x = Math.log(instruments[i]!.openPrice);
    for (let k = 0; k < m; k++) x += vol[i]! * new Rng(hash32(seed, i, k, 7)).normal();
    return x;
  }

  function pickSymbol(u: number): number {
    const target = u * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function* records(from?: bigint): Generator<TradeMsg> {
    const first = from === undefined || from <= start ? 0 : Number((from - start) / MINUTE_NS);
    if (first >= minutes) return;
    const logP = new Float64Array(n);
    let lastRecv = 0n;
    let minuteEnd = 0n;
    for (let i = 0; i < n; i++) logP[i] = logPriceAt(i, first);
    for (let m = first; m < minutes; m++) {
      const rng = new Rng(hash32(seed, m, 0x7a7a));
      const minuteStart = start + BigInt(m) * MINUTE_NS;
      minuteEnd = minuteStart + MINUTE_NS;
      const x = (m + 0.5) / minutes;
      const shape = 0.6 + 2.2 * Math.exp(-x / 0.06) + 1.6 * Math.exp(-(1 - x) / 0.05);
      // 1.13 = mean of the intraday shape (0.81) x mean prints per event incl. bursts (1.39).
      const count = rng.poisson((tps * 60 * shape) / 1.13);
      const offsets = new Float64Array(count);
      for (let k = 0; k < count; k++) offsets[k] = rng.next() * 60e9;
      offsets.sort();
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++)
        next[i] = logP[i]! + vol[i]! * new Rng(hash32(seed, i, m, 7)).normal();
      for (let k = 0; k < count; k++) {
        const i = pickSymbol(rng.next());
        const frac = offsets[k]! / 60e9;
        const mid = Math.exp(logP[i]! + (next[i]! - logP[i]!) * frac);
        const burst = rng.next() < 0.03 ? rng.int(3, 25) : 1;
        const side = rng.next() < 0.5 ? 'A' : 'B';
        const t = tick(mid);
        let price = Math.round(mid / t) * t + (rng.next() < 0.5 ? -t : 0) * rng.int(0, 2);
        let recv = minuteStart + BigInt(Math.floor(offsets[k]!));
        for (let b = 0; b < burst; b++) {
          // Keep ts_recv strictly increasing even when a sweep overlaps the next event.
          if (recv <= lastRecv) recv = lastRecv + 1_000n;
          // Sweeps never cross a minute, so every minute is independent of the ones before.
          if (recv >= minuteEnd) break;
          lastRecv = recv;
          const tsEvent = recv - BigInt(rng.int(5_000, 900_000));
          const size = tradeSize(rng); // drawn even when filtered, so `from` never shifts the stream
          if (recv >= end) return;
          if (from === undefined || tsEvent >= from) {
            yield {
              kind: 'TradeMsg',
              length: 12,
              rtype: RType.MBP_0,
              publisher_id: publisher,
              instrument_id: firstId + i,
              ts_event: tsEvent,
              price: BigInt(Math.round(price * 1e4)) * 100_000n,
              size,
              action: 'T',
              side,
              flags: 0x80,
              depth: 0,
              ts_recv: recv,
              ts_in_delta: 0,
              sequence: 0,
            };
          }
          // A sweep walks the book in the aggressor's direction, microseconds apart.
          if (rng.next() < 0.35) price += side === 'B' ? t : -t;
          recv += BigInt(rng.int(1_000, 40_000));
        }
      }
      logP.set(next);
    }
  }

  return { instruments, start, end, records };
}
