import { type EncodableRecord, encodeDbn, type MetadataInit, trade } from '@timed/dbn';
import { mulberry32 } from '@timed/dbn/prng';

/** The repository's one test PRNG (mulberry32), under the name these tests use. */
export { mulberry32 as rng } from '@timed/dbn/prng';

export const UNDEF_PRICE = 9223372036854775807n;

/** A generated trades session. */
export interface TradesSession {
  records: EncodableRecord[];
  symbols: Map<number, string>;
  metadata: MetadataInit;
  bytes: Uint8Array;
}

/**
 * `count` trades over `symbols` symbols starting at `startNs`, ts_recv increasing (some equal),
 * ts_event up to 2 ms earlier (so some trades straddle a minute boundary between ts_event and
 * ts_recv), a few undefined prices, and heartbeats during quiet gaps.
 */
export function tradesSession(options: {
  seed: number;
  symbols: number;
  count: number;
  startNs: bigint;
  /** Mean gap between trades in ms (default 40). */
  gapMs?: number;
  version?: number;
}): TradesSession {
  const r = mulberry32(options.seed);
  const symbols = new Map<number, string>();
  const base = new Map<number, number>();
  for (let i = 0; i < options.symbols; i++) {
    const id = 100 + i * 7;
    symbols.set(id, i === 3 ? 'BRK.B' : `S${String.fromCharCode(65 + (i % 26))}${i}`);
    base.set(id, Math.round((5 + r() * 500) * 100) * 10_000_000);
  }
  const ids = [...symbols.keys()];
  const records: EncodableRecord[] = [];
  let ts = options.startNs;
  const gap = options.gapMs ?? 40;
  for (let n = 0; n < options.count; n++) {
    const step = r() < 0.05 ? 0n : BigInt(Math.floor(r() * gap * 2 * 1e6));
    ts += step;
    if (r() < 0.01) {
      ts += 25_000_000_000n;
      records.push(heartbeat(ts - 1n));
    }
    const id = ids[Math.floor(r() * ids.length)]!;
    const b = base.get(id)!;
    const px = r() < 0.01 ? UNDEF_PRICE : BigInt(b + Math.round((r() - 0.5) * 200) * 1_000_000);
    records.push(
      trade({
        instrument_id: id,
        ts_event: ts - BigInt(Math.floor(r() * 2e6)),
        ts_recv: ts,
        price: px,
        size: 1 + Math.floor(r() * 500),
        publisher_id: 95,
      }),
    );
  }
  const metadata: MetadataInit = {
    version: options.version ?? 3,
    dataset: 'EQUS.MINI',
    schema: 'trades',
    start: options.startNs,
    end: ts + 1n,
    stype_in: 'raw_symbol',
    stype_out: 'instrument_id',
    symbols: [...symbols.values()],
    mappings: mappingsOf(symbols, options.startNs, ts),
  };
  return { records, symbols, metadata, bytes: encodeDbn(metadata, records) };
}

/** Metadata mappings (raw symbol -> id) covering the UTC dates from start to end. */
export function mappingsOf(symbols: Map<number, string>, startNs: bigint, endNs: bigint) {
  const day = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);
  const next = (ns: bigint) => day(ns + 86_400_000_000_000n);
  return [...symbols].map(([id, s]) => ({
    raw_symbol: s,
    intervals: [{ start_date: day(startNs), end_date: next(endNs), symbol: String(id) }],
  }));
}

/** A SystemMsg heartbeat at `ts`. */
export function heartbeat(ts: bigint): EncodableRecord {
  return {
    kind: 'SystemMsg',
    rtype: 0x17,
    publisher_id: 0,
    instrument_id: 0,
    ts_event: ts,
    msg: 'Heartbeat',
    code: 0,
  };
}

/** An mbp-1 quote. */
export function quote(
  id: number,
  tsRecv: bigint,
  bid: bigint,
  ask: bigint,
): EncodableRecord & { kind: 'Mbp1Msg' } {
  return {
    kind: 'Mbp1Msg',
    rtype: 0x01,
    publisher_id: 95,
    instrument_id: id,
    ts_event: tsRecv - 1000n,
    ts_recv: tsRecv,
    price: bid,
    size: 100,
    action: 'A',
    side: 'B',
    flags: 0x80,
    depth: 0,
    ts_in_delta: 0,
    sequence: 0,
    levels: [{ bid_px: bid, ask_px: ask, bid_sz: 100, ask_sz: 100, bid_ct: 0, ask_ct: 0 }],
  };
}
