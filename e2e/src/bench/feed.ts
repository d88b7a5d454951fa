import type { EncodableRecord } from '@timed/dbn';
import { generateTradesSession } from '@timed/dbn/gateway';
import { Rng } from '@timed/dbn/prng';

/** A trade record as the gateway encodes it. */
export type Trade = EncodableRecord & { kind: 'TradeMsg' };

const FIRST_ID = 1000;
const MINUTE_MS = 60_000;
/** 1 cent in DBN's 1e-9 fixed point. */
const CENT = 10_000_000n;

/**
 * The symbols of the bench: the trades generator's universe (real large caps first, then invented
 * tickers) with its opening prices, and the same Zipf-like activity (symbol i weighs
 * 1 / (i + 3)^1.05), so a few symbols trade a lot and the tail still trades every few seconds.
 */
export class Universe {
  readonly symbols: string[];
  readonly openCents: Int32Array;
  private readonly cum: Float64Array;

  constructor(readonly size: number) {
    // Only the instruments are read: the session's trades are never generated.
    const session = generateTradesSession({
      symbols: size,
      start: new Date('2024-03-01T14:30:00Z'),
      end: new Date('2024-03-01T14:31:00Z'),
      firstInstrumentId: FIRST_ID,
    });
    this.symbols = session.instruments.map((i) => i.symbol);
    this.openCents = Int32Array.from(session.instruments, (i) =>
      Math.max(100, Math.round(i.openPrice * 100)),
    );
    this.cum = new Float64Array(size);
    let total = 0;
    for (let i = 0; i < size; i++) {
      total += 1 / (i + 3) ** 1.05;
      this.cum[i] = total;
    }
    for (let i = 0; i < size; i++) this.cum[i]! /= total;
  }

  get instruments(): Array<{ instrument_id: number; symbol: string }> {
    return this.symbols.map((symbol, i) => ({ instrument_id: FIRST_ID + i, symbol }));
  }

  /** Symbol index drawn by activity. */
  pick(u: number): number {
    let lo = 0;
    let hi = this.size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  indexOf(instrumentId: number): number {
    return instrumentId - FIRST_ID;
  }
}

/**
 * Makes trades: symbols by activity, each symbol's price a random walk of one-cent ticks from its
 * opening price, US-like sizes (odd lots, round lots, rare blocks). Deterministic from the seed.
 */
export class TradeMaker {
  private readonly rng: Rng;
  private readonly cents: Int32Array;

  constructor(
    private readonly universe: Universe,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.cents = universe.openCents.slice();
  }

  /** A trade at `tsNs` (ts_event = ts_recv; the live feed re-stamps both when sending). */
  next(tsNs: bigint): Trade {
    const rng = this.rng;
    const i = this.universe.pick(rng.next());
    const u = rng.next();
    let c = this.cents[i]!;
    if (u < 0.15) c += 1;
    else if (u < 0.3 && c > 100) c -= 1;
    this.cents[i] = c;
    const s = rng.next();
    const size =
      s < 0.4
        ? rng.int(1, 99)
        : s < 0.85
          ? 100 * rng.int(1, 5)
          : s < 0.98
            ? 100 * rng.int(5, 50)
            : 100 * rng.int(50, 500);
    return {
      kind: 'TradeMsg',
      rtype: 0,
      publisher_id: 95,
      instrument_id: FIRST_ID + i,
      ts_event: tsNs,
      price: BigInt(c) * CENT,
      size,
      action: 'T',
      side: rng.next() < 0.5 ? 'A' : 'B',
      flags: 0x80,
      depth: 0,
      ts_recv: tsNs,
      ts_in_delta: 0,
      sequence: 0,
    };
  }
}

/** One minute's trades per symbol, as sent. */
interface MinuteTally {
  trades: Uint32Array;
  volume: Float64Array;
}

/**
 * What the gateway sent, by symbol: the last price, and per minute of `ts_recv` the trade count
 * and volume (the bars every client should get). Filled as records leave the gateway.
 */
export class Ledger {
  readonly lastCents: Int32Array;
  readonly minutes = new Map<number, MinuteTally>();
  sent = 0;
  firstRecvMs = Number.NaN;
  lastRecvMs = Number.NaN;

  constructor(private readonly universe: Universe) {
    this.lastCents = new Int32Array(universe.size).fill(-1);
  }

  note(rec: Trade): void {
    const i = this.universe.indexOf(rec.instrument_id);
    const ms = Number(rec.ts_recv / 1_000_000n);
    const minute = ms - (ms % MINUTE_MS);
    let tally = this.minutes.get(minute);
    if (!tally) {
      tally = {
        trades: new Uint32Array(this.universe.size),
        volume: new Float64Array(this.universe.size),
      };
      this.minutes.set(minute, tally);
    }
    tally.trades[i]!++;
    tally.volume[i]! += rec.size;
    this.lastCents[i] = Number(rec.price / CENT);
    if (this.sent === 0) this.firstRecvMs = ms;
    this.lastRecvMs = ms;
    this.sent++;
  }

  /** Closed bars a client of `symbols` should get for minutes opening before `beforeMinute`. */
  expectedBars(
    symbols: readonly number[],
    beforeMinute = Number.POSITIVE_INFINITY,
  ): { bars: number; trades: number; volume: number } {
    let bars = 0;
    let trades = 0;
    let volume = 0;
    for (const [minute, tally] of this.minutes) {
      if (minute >= beforeMinute) continue;
      for (const i of symbols) {
        const n = tally.trades[i]!;
        if (n === 0) continue;
        bars++;
        trades += n;
        volume += tally.volume[i]!;
      }
    }
    return { bars, trades, volume };
  }

  /** (symbol, minute) pairs with trades, i.e. bars the daemon writes, before `beforeMinute`. */
  barCount(beforeMinute = Number.POSITIVE_INFINITY): number {
    let n = 0;
    for (const [minute, tally] of this.minutes) {
      if (minute >= beforeMinute) continue;
      for (let i = 0; i < tally.trades.length; i++) if (tally.trades[i]! > 0) n++;
    }
    return n;
  }
}
