import { describe, expect, it } from 'vitest';
import { ByteWriter, LiveRowStore, packPayloads, rowsArray, SlotQueue } from './live-rows.js';
import {
  encodeRow,
  type LiveSymbolState,
  MAX_PAYLOAD_BYTES,
  parsePayload,
  statesPayload,
} from './live-state.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// Numbers whose JSON text is not plain digits, or is an integer path edge.
const ODD = [
  0,
  -0,
  1,
  -1,
  9,
  10,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  -Number.MAX_SAFE_INTEGER,
  1e21,
  1.5e300,
  1e-7,
  5e-324,
  -123.456,
  0.1 + 0.2,
  1e-6,
  9.99e-7,
  0.000001001,
  999_999.999_999_999,
  1e6 - 1e-9,
  1e6 + 0.5,
  123.456_789_012,
  -0.5,
  0.1,
  100.05,
  4.35 * 100,
  1 / 3,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

function randomState(r: () => number, symbol: string): LiveSymbolState {
  const n = (): number => {
    const k = r();
    if (k < 0.15) return ODD[Math.floor(r() * ODD.length)]!;
    if (k < 0.45) return Math.floor(r() * 2 ** (1 + Math.floor(r() * 52)));
    if (k < 0.75) return Math.round(r() * 5_000_000) / 100;
    return r() * 10 ** Math.floor(r() * 12 - 4);
  };
  const maybe = (): number | null => (r() < 0.25 ? null : n());
  return {
    symbol,
    sessionDay: r() < 0.5 ? '2026-03-10' : '2026-03-11',
    price: n(),
    bid: n(),
    ask: n(),
    lastSize: n(),
    lastTs: n(),
    dayOpen: n(),
    dayHigh: n(),
    dayLow: n(),
    volume: n(),
    tradeCount: n(),
    vwap: maybe(),
    prevClose: maybe(),
    barTimestamp: maybe(),
    barOpen: n(),
    barHigh: n(),
    barLow: n(),
    barClose: n(),
    barVolume: n(),
    barTradeCount: n(),
    barVwap: maybe(),
  };
}

const SYMBOLS = ['AAPL', 'BRK.B', 'Ünï"cø\\de', 'TAB\tNL\n', '€', ''];

describe('LiveRowStore: the wire rows without JSON.stringify', () => {
  it('writes exactly the bytes encodeRow makes, for odd numbers, nulls and any symbol', () => {
    const r = rng(11);
    const store = new LiveRowStore();
    const w = new ByteWriter(16);
    for (let k = 0; k < 5_000; k++) {
      const symbol = SYMBOLS[k % SYMBOLS.length]! + (k % 7);
      const s = randomState(r, symbol);
      const version = k % 3 === 0 ? 1_764_000_000_000_000 + k : k;
      const slot = store.put(s, version);
      w.reset();
      store.write(slot, w);
      expect(w.view().toString('utf8')).toBe(encodeRow(s, version));
    }
    expect(store.size).toBe(SYMBOLS.length * 7);
  });

  it('keeps only the newest state of a symbol and reads the caller’s object during put only', () => {
    const store = new LiveRowStore();
    const s = randomState(rng(3), 'AAA');
    const first = encodeRow(s, 1);
    const slot = store.put(s, 1);
    s.price = 123.25;
    const w = new ByteWriter();
    store.write(slot, w);
    expect(w.view().toString()).toBe(first);
    expect(store.put(s, 2)).toBe(slot);
    w.reset();
    store.write(slot, w);
    expect(w.view().toString()).toBe(encodeRow(s, 2));
  });
});

describe('packPayloads', () => {
  it('packs rows in order into newline-separated statesPayload texts, each within the limit and as full as fits', () => {
    const r = rng(5);
    const store = new LiveRowStore();
    const queue = new SlotQueue();
    const rows: string[] = [];
    for (let k = 0; k < 3_000; k++) {
      const s = randomState(r, `S${k}€`);
      queue.add(store.put(s, 1_000 + k));
      rows.push(encodeRow(s, 1_000 + k));
    }
    const w = new ByteWriter(64);
    const packed = packPayloads(store, queue, w, MAX_PAYLOAD_BYTES);
    expect(queue.size).toBe(0);
    const payloads = w.view().toString('utf8').split('\n');
    expect(packed.count).toBe(payloads.length);
    expect(packed.totalBytes).toBe(w.pos - (payloads.length - 1));
    let next = 0;
    for (const p of payloads) {
      const bytes = Buffer.byteLength(p);
      expect(bytes).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      const msg = parsePayload(p);
      expect(msg?.kind).toBe('states');
      const n = msg?.kind === 'states' ? msg.rows.length : 0;
      // Exactly the reference payload of those rows, and the next row would not have fitted.
      expect(p).toBe(statesPayload(rows.slice(next, next + n)));
      if (next + n < rows.length) {
        expect(bytes + 1 + Buffer.byteLength(rows[next + n]!)).toBeGreaterThan(MAX_PAYLOAD_BYTES);
      }
      next += n;
    }
    expect(next).toBe(rows.length);
    expect(packed.largestBytes).toBe(Math.max(...payloads.map((p) => Buffer.byteLength(p))));
  });

  it('sends a row larger than the limit alone, and coalesced slots once each', () => {
    const store = new LiveRowStore();
    const queue = new SlotQueue();
    const big = randomState(rng(1), 'X'.repeat(300));
    const small = randomState(rng(2), 'Y');
    expect(queue.add(store.put(small, 1))).toBe(true);
    expect(queue.add(store.put(big, 2))).toBe(true);
    expect(queue.add(store.put(small, 3))).toBe(false);
    const w = new ByteWriter();
    const packed = packPayloads(store, queue, w, 200);
    expect(w.view().toString().split('\n')).toEqual([
      statesPayload([encodeRow(small, 3)]),
      statesPayload([encodeRow(big, 2)]),
    ]);
    expect(packed.count).toBe(2);
  });

  it('writes nothing for an empty queue; rowsArray writes one JSON array and records the slots', () => {
    const store = new LiveRowStore();
    const queue = new SlotQueue();
    const w = new ByteWriter();
    expect(packPayloads(store, queue, w, MAX_PAYLOAD_BYTES).count).toBe(0);
    const a = randomState(rng(8), 'A');
    const b = randomState(rng(9), 'B');
    queue.add(store.put(a, 5));
    queue.add(store.put(b, 6));
    const taken = new SlotQueue();
    expect(rowsArray(store, queue, taken, w)).toBe(2);
    expect(w.view().toString()).toBe(`[${encodeRow(a, 5)},${encodeRow(b, 6)}]`);
    expect(taken.size).toBe(2);
    expect(queue.size).toBe(0);
  });
});
