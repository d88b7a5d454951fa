import { readFileSync } from 'node:fs';
import type { EncodableRecord } from '../encoder.js';
import { decodeBuffer } from '../read.js';
import type { TradesSession } from './trades-generator.js';

/** A subscription line as the gateway received it. */
export interface ReceivedSubscription {
  schema: string;
  stype_in: string;
  symbols: string[];
  start?: string;
  id?: string;
  is_last?: string;
}

/** What a source is asked for when a session starts. */
export interface GatewayRequest {
  dataset: string;
  subscriptions: ReceivedSubscription[];
  /** Replay start in UNIX ns (the earliest `start` of any subscription), if any. */
  start: bigint | undefined;
  /** Union of subscribed symbols; undefined for ALL_SYMBOLS. */
  symbols: Set<string> | undefined;
}

/** What a source returns: instruments to announce and the records to stream. */
export interface GatewayFeed {
  /** Announced with SymbolMappingMsg; records of unsubscribed instruments are filtered out. */
  instruments?: Array<{ instrument_id: number; symbol: string }>;
  records: Iterable<EncodableRecord> | AsyncIterable<EncodableRecord>;
}

/** Produces the feed of one gateway session. */
export type GatewaySource = (request: GatewayRequest) => GatewayFeed;

/** Source that streams a generated trades session, replaying from the requested start. */
export function tradesSource(session: TradesSession): GatewaySource {
  return (req) => ({ instruments: session.instruments, records: session.records(req.start) });
}

/** Source that streams the records of a DBN file (`.dbn` / `.dbn.zst`), from the requested start. */
export function fileSource(path: string): GatewaySource {
  const decoded = decodeBuffer(readFileSync(path));
  const records = decoded.records.filter(
    (r) => r.kind !== 'SymbolMappingMsg' && r.kind !== 'SystemMsg' && r.kind !== 'ErrorMsg',
  );
  const instruments = decoded.symbols
    .entries()
    .map(([instrument_id, symbol]) => ({ instrument_id, symbol }));
  return (req) => ({
    instruments,
    records: req.start === undefined ? records : records.filter((r) => r.ts_event >= req.start!),
  });
}
