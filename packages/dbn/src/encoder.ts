import { RType, SCHEMA_NAMES, STYPE_NAMES } from './constants.js';
import { DbnError } from './errors.js';
import { isoToDateNumber, writeCString } from './fields.js';
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
  const L = version === 1 ? 22 : 71;
  const symbols = init.symbols ?? [];
  const partial = init.partial ?? [];
  const notFound = init.not_found ?? [];
  const mappings = init.mappings ?? [];
  let size = 112 + 12 + (symbols.length + partial.length + notFound.length) * L + 4;
  for (const m of mappings) size += L + 4 + m.intervals.length * (8 + L);
  if (version === 3) size = Math.ceil(size / 8) * 8;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes.set([0x44, 0x42, 0x4e, version]);
  view.setUint32(4, size - 8, true);
  writeCString(bytes, 8, 16, init.dataset);
  const schema = nameId(init.schema, SCHEMA_NAMES, 'schema');
  view.setUint16(24, schema < 0 ? 0xffff : schema, true);
  view.setBigUint64(26, init.start ?? 0n, true);
  view.setBigUint64(34, init.end ?? 0xffffffffffffffffn, true);
  view.setBigUint64(42, init.limit ?? 0n, true);
  const stIn = nameId(init.stype_in, STYPE_NAMES, 'stype');
  const stOut = nameId(
    init.stype_out === undefined ? 'instrument_id' : init.stype_out,
    STYPE_NAMES,
    'stype',
  );
  const flagsAt = version === 1 ? 58 : 50;
  if (version === 1) view.setBigUint64(50, 0xffffffffffffffffn, true);
  bytes[flagsAt] = stIn < 0 ? 0xff : stIn;
  bytes[flagsAt + 1] = stOut < 0 ? 0xff : stOut;
  bytes[flagsAt + 2] = init.ts_out ? 1 : 0;
  if (version > 1) view.setUint16(53, L, true);
  let pos = 112;
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
  switch (rec.kind) {
    case 'TradeMsg':
      return 48;
    case 'Mbp1Msg':
      return 80;
    case 'OhlcvMsg':
      return 56;
    case 'SymbolMappingMsg':
    case 'ErrorMsg':
    case 'SystemMsg':
      return version === 1 ? 80 : rec.kind === 'SymbolMappingMsg' ? 176 : 320;
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
  const total = size + (tsOut ? 8 : 0);
  bytes.fill(0, off, off + total);
  view.setUint8(off, total / 4);
  view.setUint8(off + 1, rec.rtype);
  view.setUint16(off + 2, rec.publisher_id, true);
  view.setUint32(off + 4, rec.instrument_id, true);
  view.setBigUint64(off + 8, rec.ts_event, true);
  switch (rec.kind) {
    case 'TradeMsg':
    case 'Mbp1Msg':
      view.setBigInt64(off + 16, rec.price, true);
      view.setUint32(off + 24, rec.size, true);
      view.setUint8(off + 28, char(rec.action));
      view.setUint8(off + 29, char(rec.side));
      view.setUint8(off + 30, rec.flags);
      view.setUint8(off + 31, rec.depth);
      view.setBigUint64(off + 32, rec.ts_recv, true);
      view.setInt32(off + 40, rec.ts_in_delta, true);
      view.setUint32(off + 44, rec.sequence, true);
      if (rec.kind === 'Mbp1Msg') {
        const l = rec.levels[0];
        view.setBigInt64(off + 48, l.bid_px, true);
        view.setBigInt64(off + 56, l.ask_px, true);
        view.setUint32(off + 64, l.bid_sz, true);
        view.setUint32(off + 68, l.ask_sz, true);
        view.setUint32(off + 72, l.bid_ct, true);
        view.setUint32(off + 76, l.ask_ct, true);
      }
      break;
    case 'OhlcvMsg':
      view.setBigInt64(off + 16, rec.open, true);
      view.setBigInt64(off + 24, rec.high, true);
      view.setBigInt64(off + 32, rec.low, true);
      view.setBigInt64(off + 40, rec.close, true);
      view.setBigUint64(off + 48, rec.volume, true);
      break;
    case 'SymbolMappingMsg':
      if (version === 1) {
        writeCString(bytes, off + 16, 22, rec.stype_in_symbol);
        writeCString(bytes, off + 38, 22, rec.stype_out_symbol);
        view.setBigUint64(off + 64, rec.start_ts, true);
        view.setBigUint64(off + 72, rec.end_ts, true);
      } else {
        view.setUint8(off + 16, rec.stype_in ?? 255);
        writeCString(bytes, off + 17, 71, rec.stype_in_symbol);
        view.setUint8(off + 88, rec.stype_out ?? 255);
        writeCString(bytes, off + 89, 71, rec.stype_out_symbol);
        view.setBigUint64(off + 160, rec.start_ts, true);
        view.setBigUint64(off + 168, rec.end_ts, true);
      }
      break;
    case 'ErrorMsg':
      if (version === 1) writeCString(bytes, off + 16, 64, rec.err);
      else {
        writeCString(bytes, off + 16, 302, rec.err);
        view.setUint8(off + 318, rec.code ?? 255);
        view.setUint8(off + 319, rec.is_last ?? 1);
      }
      break;
    case 'SystemMsg':
      if (version === 1) writeCString(bytes, off + 16, 64, rec.msg);
      else {
        writeCString(bytes, off + 16, 303, rec.msg);
        view.setUint8(off + 319, rec.code ?? 255);
      }
      break;
  }
  if (tsOut) view.setBigUint64(off + size, rec.ts_out ?? 0n, true);
  return total;
}

/** Encoded size of a record in bytes. */
export function encodedSize(rec: EncodableRecord, version: number, tsOut: boolean): number {
  return rec.kind === 'RawRecord' ? rec.bytes.length : structSize(rec, version) + (tsOut ? 8 : 0);
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
