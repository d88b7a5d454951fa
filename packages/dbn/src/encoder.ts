import { SCHEMA_NAMES, STYPE_NAMES, UNDEF_TIMESTAMP } from './constants.js';
import { DbnError } from './errors.js';
import { isoToDateNumber, writeCString } from './fields.js';
import {
  DBN_MAGIC,
  ErrorV1Layout,
  ErrorV2Layout,
  Mbp1Layout,
  MetadataLayout,
  MetadataV1Layout,
  OhlcvLayout,
  PreludeLayout,
  RecordHeaderLayout,
  RecordLength,
  RType,
  SymbolMappingV1Layout,
  SymbolMappingV2Layout,
  SystemV1Layout,
  SystemV2Layout,
  TradeLayout,
} from './layout.js';
import type { Metadata, SymbolMappingEntry } from './metadata.js';
import type { DbnRecord, RawRecord } from './records.js';

/** Metadata to encode; omitted fields take neutral defaults (live-session style). */
export interface MetadataInit {
  /** DBN version 1, 2 or 3 (default 3). */
  version?: number;
  dataset: string;
  /** Schema name or null for mixed (default null). */
  schema?: string | null;
  start?: bigint;
  end?: bigint | null;
  limit?: bigint;
  stype_in?: string | null;
  stype_out?: string | null;
  ts_out?: boolean;
  symbols?: string[];
  partial?: string[];
  not_found?: string[];
  mappings?: SymbolMappingEntry[];
}

type WithoutLength<T> = T extends unknown ? Omit<T, 'length'> & { length?: number } : never;
/** A record to encode: any decoded record; `length` is recomputed. */
export type EncodableRecord = WithoutLength<DbnRecord>;

function nameId(name: string | null | undefined, names: readonly string[], what: string): number {
  if (name === null || name === undefined) return -1;
  const i = names.indexOf(name);
  if (i < 0) throw new DbnError('ENCODE_ERROR', `unknown ${what} "${name}"`, 0);
  return i;
}

/** Encode a metadata block (prelude + body, v3 padded to 8 bytes). */
export function encodeMetadata(init: MetadataInit | Metadata): Uint8Array {
  const version = init.version ?? 3;
  if (version < 1 || version > 3) {
    throw new DbnError('ENCODE_ERROR', `unsupported version ${version}`, 0);
  }
  const M = version === 1 ? MetadataV1Layout : MetadataLayout;
  const L = M.symbolLength;
  const symbols = init.symbols ?? [];
  const partial = init.partial ?? [];
  const notFound = init.not_found ?? [];
  const mappings = init.mappings ?? [];
  // Four u32 counts (symbols, partial, not_found, mappings) follow the fixed part.
  let size = M.variable + 16 + (symbols.length + partial.length + notFound.length) * L;
  for (const m of mappings) size += L + 4 + m.intervals.length * (8 + L);
  if (version === 3) size = Math.ceil(size / 8) * 8;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes.set(DBN_MAGIC, PreludeLayout.magic);
  bytes[PreludeLayout.version] = version;
  view.setUint32(PreludeLayout.length, size - PreludeLayout.structSize, true);
  writeCString(bytes, M.dataset, M.datasetLength, init.dataset);
  const schema = nameId(init.schema, SCHEMA_NAMES, 'schema');
  view.setUint16(M.schema, schema < 0 ? 0xffff : schema, true);
  view.setBigUint64(M.start, init.start ?? 0n, true);
  view.setBigUint64(M.end, init.end ?? UNDEF_TIMESTAMP, true);
  view.setBigUint64(M.limit, init.limit ?? 0n, true);
  const stIn = nameId(init.stype_in, STYPE_NAMES, 'stype');
  const stOut = nameId(
    init.stype_out === undefined ? 'instrument_id' : init.stype_out,
    STYPE_NAMES,
    'stype',
  );
  // v1's deprecated record count: writers put u64 max.
  if (version === 1) view.setBigUint64(MetadataV1Layout.recordCount, 0xffffffffffffffffn, true);
  bytes[M.stypeIn] = stIn < 0 ? 0xff : stIn;
  bytes[M.stypeOut] = stOut < 0 ? 0xff : stOut;
  bytes[M.tsOut] = init.ts_out ? 1 : 0;
  if (version > 1) view.setUint16(MetadataLayout.symbolCstrLen, L, true);
  let pos = M.variable;
  const list = (items: string[]): void => {
    view.setUint32(pos, items.length, true);
    pos += 4;
    for (const s of items) {
      writeCString(bytes, pos, L, s);
      pos += L;
    }
  };
  list(symbols);
  list(partial);
  list(notFound);
  view.setUint32(pos, mappings.length, true);
  pos += 4;
  for (const m of mappings) {
    writeCString(bytes, pos, L, m.raw_symbol);
    pos += L;
    view.setUint32(pos, m.intervals.length, true);
    pos += 4;
    for (const iv of m.intervals) {
      view.setUint32(pos, isoToDateNumber(iv.start_date), true);
      view.setUint32(pos + 4, isoToDateNumber(iv.end_date), true);
      writeCString(bytes, pos + 8, L, iv.symbol);
      pos += 8 + L;
    }
  }
  return bytes;
}

/** Struct size (without ts_out) that the encoder writes for a record kind and version. */
function structSize(rec: EncodableRecord, version: number): number {
  const v1 = version === 1;
  switch (rec.kind) {
    case 'TradeMsg':
      return TradeLayout.structSize;
    case 'Mbp1Msg':
      return Mbp1Layout.structSize;
    case 'OhlcvMsg':
      return OhlcvLayout.structSize;
    case 'SymbolMappingMsg':
      return (v1 ? SymbolMappingV1Layout : SymbolMappingV2Layout).structSize;
    case 'ErrorMsg':
      return (v1 ? ErrorV1Layout : ErrorV2Layout).structSize;
    case 'SystemMsg':
      return (v1 ? SystemV1Layout : SystemV2Layout).structSize;
    case 'RawRecord':
      return rec.bytes.length;
    default:
      throw new DbnError('ENCODE_ERROR', `encoding ${rec.kind} is not supported`, 0);
  }
}

function char(s: string): number {
  return s.length === 0 ? 0 : s.charCodeAt(0) & 0xff;
}

/**
 * Write one record at `off` (the target must have room); returns the bytes written.
 * With `tsOut` the record's `ts_out` (default 0) is appended and counted in its length.
 */
export function writeRecord(
  bytes: Uint8Array,
  view: DataView,
  off: number,
  rec: EncodableRecord,
  version: number,
  tsOut: boolean,
): number {
  if (rec.kind === 'RawRecord') {
    bytes.set((rec as RawRecord).bytes, off);
    return rec.bytes.length;
  }
  const size = structSize(rec, version);
  const total = size + (tsOut ? RecordLength.tsOut : 0);
  const H = RecordHeaderLayout;
  bytes.fill(0, off, off + total);
  view.setUint8(off + H.length, total / RecordLength.unit);
  view.setUint8(off + H.rtype, rec.rtype);
  view.setUint16(off + H.publisherId, rec.publisher_id, true);
  view.setUint32(off + H.instrumentId, rec.instrument_id, true);
  view.setBigUint64(off + H.tsEvent, rec.ts_event, true);
  switch (rec.kind) {
    case 'TradeMsg':
    case 'Mbp1Msg': {
      const T = TradeLayout;
      view.setBigInt64(off + T.price, rec.price, true);
      view.setUint32(off + T.size, rec.size, true);
      view.setUint8(off + T.action, char(rec.action));
      view.setUint8(off + T.side, char(rec.side));
      view.setUint8(off + T.flags, rec.flags);
      view.setUint8(off + T.depth, rec.depth);
      view.setBigUint64(off + T.tsRecv, rec.ts_recv, true);
      view.setInt32(off + T.tsInDelta, rec.ts_in_delta, true);
      view.setUint32(off + T.sequence, rec.sequence, true);
      if (rec.kind === 'Mbp1Msg') {
        const l = rec.levels[0];
        const P = Mbp1Layout;
        view.setBigInt64(off + P.bidPx, l.bid_px, true);
        view.setBigInt64(off + P.askPx, l.ask_px, true);
        view.setUint32(off + P.bidSz, l.bid_sz, true);
        view.setUint32(off + P.askSz, l.ask_sz, true);
        view.setUint32(off + P.bidCt, l.bid_ct, true);
        view.setUint32(off + P.askCt, l.ask_ct, true);
      }
      break;
    }
    case 'OhlcvMsg': {
      const B = OhlcvLayout;
      view.setBigInt64(off + B.open, rec.open, true);
      view.setBigInt64(off + B.high, rec.high, true);
      view.setBigInt64(off + B.low, rec.low, true);
      view.setBigInt64(off + B.close, rec.close, true);
      view.setBigUint64(off + B.volume, rec.volume, true);
      break;
    }
    case 'SymbolMappingMsg':
      if (version === 1) {
        const S = SymbolMappingV1Layout;
        writeCString(bytes, off + S.stypeInSymbol, S.symbolLength, rec.stype_in_symbol);
        writeCString(bytes, off + S.stypeOutSymbol, S.symbolLength, rec.stype_out_symbol);
        view.setBigUint64(off + S.startTs, rec.start_ts, true);
        view.setBigUint64(off + S.endTs, rec.end_ts, true);
      } else {
        const S = SymbolMappingV2Layout;
        view.setUint8(off + S.stypeIn, rec.stype_in ?? 255);
        writeCString(bytes, off + S.stypeInSymbol, S.symbolLength, rec.stype_in_symbol);
        view.setUint8(off + S.stypeOut, rec.stype_out ?? 255);
        writeCString(bytes, off + S.stypeOutSymbol, S.symbolLength, rec.stype_out_symbol);
        view.setBigUint64(off + S.startTs, rec.start_ts, true);
        view.setBigUint64(off + S.endTs, rec.end_ts, true);
      }
      break;
    case 'ErrorMsg':
      if (version === 1)
        writeCString(bytes, off + ErrorV1Layout.err, ErrorV1Layout.errLength, rec.err);
      else {
        const E = ErrorV2Layout;
        writeCString(bytes, off + E.err, E.errLength, rec.err);
        view.setUint8(off + E.code, rec.code ?? 255);
        view.setUint8(off + E.isLast, rec.is_last ?? 1);
      }
      break;
    case 'SystemMsg':
      if (version === 1)
        writeCString(bytes, off + SystemV1Layout.msg, SystemV1Layout.msgLength, rec.msg);
      else {
        const S = SystemV2Layout;
        writeCString(bytes, off + S.msg, S.msgLength, rec.msg);
        view.setUint8(off + S.code, rec.code ?? 255);
      }
      break;
  }
  if (tsOut) view.setBigUint64(off + size, rec.ts_out ?? 0n, true);
  return total;
}

/** Encoded size of a record in bytes. */
export function encodedSize(rec: EncodableRecord, version: number, tsOut: boolean): number {
  if (rec.kind === 'RawRecord') return rec.bytes.length;
  return structSize(rec, version) + (tsOut ? RecordLength.tsOut : 0);
}

/** Encode records back-to-back for a stream of the given version / ts_out. */
export function encodeRecords(
  records: Iterable<EncodableRecord>,
  options: { version?: number; ts_out?: boolean } = {},
): Uint8Array {
  const version = options.version ?? 3;
  const tsOut = options.ts_out ?? false;
  const list = [...records];
  let size = 0;
  for (const r of list) size += encodedSize(r, version, tsOut);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let off = 0;
  for (const r of list) off += writeRecord(bytes, view, off, r, version, tsOut);
  return bytes;
}

/** Encode a whole uncompressed DBN stream: metadata then records. */
export function encodeDbn(metadata: MetadataInit | Metadata, records: Iterable<EncodableRecord>) {
  const md = encodeMetadata(metadata);
  const body = encodeRecords(records, {
    version: metadata.version ?? 3,
    ts_out: metadata.ts_out ?? false,
  });
  const out = new Uint8Array(md.length + body.length);
  out.set(md);
  out.set(body, md.length);
  return out;
}

/** A TradeMsg with defaults for the fields a generator rarely cares about. */
export function trade(
  fields: Pick<
    EncodableRecord & { kind: 'TradeMsg' },
    'instrument_id' | 'ts_event' | 'price' | 'size'
  > &
    Partial<Omit<EncodableRecord & { kind: 'TradeMsg' }, 'kind'>>,
): EncodableRecord & { kind: 'TradeMsg' } {
  return {
    kind: 'TradeMsg',
    rtype: RType.MBP_0,
    publisher_id: 0,
    action: 'T',
    side: 'N',
    flags: 0x80,
    depth: 0,
    ts_recv: fields.ts_event,
    ts_in_delta: 0,
    sequence: 0,
    ...fields,
  };
}
