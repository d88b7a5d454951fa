import { SCHEMA_NAMES, STYPE_NAMES, UNDEF_TIMESTAMP } from './constants.js';
import { DbnError } from './errors.js';
import { dateNumberToIso, readCString } from './fields.js';
import { DBN_MAGIC, MetadataLayout, MetadataV1Layout, PreludeLayout } from './layout.js';

/** One `[start_date, end_date)` interval of a metadata symbol mapping (ISO dates, end exclusive). */
export interface MappingInterval {
  start_date: string;
  end_date: string;
  symbol: string;
}

/** A metadata symbol mapping: the requested symbol and what it resolved to, by date. */
export interface SymbolMappingEntry {
  raw_symbol: string;
  intervals: MappingInterval[];
}

/** Decoded DBN metadata header (DBN field names). */
export interface Metadata {
  version: number;
  dataset: string;
  /** Schema name; null for mixed (0xFFFF) or an id this library does not know. */
  schema: string | null;
  schema_id: number;
  start: bigint;
  /** null when UNDEF_TIMESTAMP. */
  end: bigint | null;
  limit: bigint;
  stype_in: string | null;
  stype_in_id: number;
  stype_out: string | null;
  stype_out_id: number;
  ts_out: boolean;
  symbol_cstr_len: number;
  symbols: string[];
  partial: string[];
  not_found: string[];
  mappings: SymbolMappingEntry[];
  /** The metadata length field; records start at byte 8 + length. */
  length: number;
}

export const MAX_VERSION = 3;

/** Whether `bytes` starts with the DBN magic (as far as it goes: a prefix of it passes). */
export function startsWithMagic(bytes: Uint8Array, available: number): boolean {
  for (let i = 0; i < Math.min(DBN_MAGIC.length, available); i++) {
    if (bytes[PreludeLayout.magic + i] !== DBN_MAGIC[i]) return false;
  }
  return true;
}

/** Validate the 8-byte prelude; returns the metadata length. */
export function parsePrelude(
  bytes: Uint8Array,
  view: DataView,
): { version: number; length: number } {
  if (!startsWithMagic(bytes, DBN_MAGIC.length)) {
    const skippable = (view.getUint32(0, true) & 0xfffffff0) === 0x184d2a50;
    throw new DbnError(
      'BAD_MAGIC',
      skippable ? 'legacy DBZ stream is not supported' : 'not a DBN stream (bad magic)',
      0,
    );
  }
  const version = bytes[PreludeLayout.version]!;
  if (version < 1 || version > MAX_VERSION) {
    throw new DbnError(
      'UNSUPPORTED_VERSION',
      `unsupported DBN version ${version}`,
      PreludeLayout.version,
    );
  }
  const length = view.getUint32(PreludeLayout.length, true);
  const min = MetadataLayout.minLength;
  if (length < min) {
    throw new DbnError('BAD_METADATA', `metadata length ${length} < ${min}`, PreludeLayout.length);
  }
  return { version, length };
}

/** Parse a complete metadata block (`bytes` holds at least 8 + length bytes from stream start). */
export function parseMetadata(bytes: Uint8Array): Metadata {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { version, length } = parsePrelude(bytes, view);
  const end = PreludeLayout.structSize + length;
  const M = version === 1 ? MetadataV1Layout : MetadataLayout;
  // 100 to 103 pass the reference's minimum but end inside schema_definition_length.
  if (end < M.variable) {
    throw new DbnError(
      'BAD_METADATA',
      `metadata length ${length} ends inside schema_definition_length`,
      PreludeLayout.length,
    );
  }
  const schemaId = view.getUint16(M.schema, true);
  const endTs = view.getBigUint64(M.end, true);
  const stypeInId = bytes[M.stypeIn]!;
  const stypeOutId = bytes[M.stypeOut]!;
  const tsOut = bytes[M.tsOut]!;
  let cstrLen: number = MetadataV1Layout.symbolLength;
  if (version > 1) {
    cstrLen = view.getUint16(MetadataLayout.symbolCstrLen, true);
    if (cstrLen === 0) {
      throw new DbnError('BAD_METADATA', 'symbol_cstr_len is 0', MetadataLayout.symbolCstrLen);
    }
  }
  const schemaDefLen = view.getUint32(M.schemaDefinitionLength, true);
  if (schemaDefLen !== 0) {
    throw new DbnError(
      'BAD_METADATA',
      'schema_definition_length must be 0',
      M.schemaDefinitionLength,
    );
  }
  let pos = M.variable;
  const need = (n: number, what: string): void => {
    if (pos + n > end) {
      throw new DbnError('BAD_METADATA', `metadata ${what} runs past its length ${length}`, pos);
    }
  };
  const u32 = (what: string): number => {
    need(4, what);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const str = (what: string): string => {
    need(cstrLen, what);
    const s = readCString(bytes, pos, cstrLen);
    pos += cstrLen;
    return s;
  };
  const list = (what: string): string[] => {
    const n = u32(`${what} count`);
    need(n * cstrLen, what);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(str(what));
    return out;
  };
  const symbols = list('symbols');
  const partial = list('partial');
  const notFound = list('not_found');
  const nMappings = u32('mappings count');
  const mappings: SymbolMappingEntry[] = [];
  for (let i = 0; i < nMappings; i++) {
    const raw = str('mapping raw_symbol');
    const nIntervals = u32('interval count');
    need(nIntervals * (8 + cstrLen), 'intervals');
    const intervals: MappingInterval[] = [];
    for (let j = 0; j < nIntervals; j++) {
      const s = view.getUint32(pos, true);
      const e = view.getUint32(pos + 4, true);
      pos += 8;
      intervals.push({
        start_date: dateNumberToIso(s),
        end_date: dateNumberToIso(e),
        symbol: str('interval symbol'),
      });
    }
    mappings.push({ raw_symbol: raw, intervals });
  }
  return {
    version,
    dataset: readCString(bytes, M.dataset, M.datasetLength),
    schema: schemaId === 0xffff ? null : (SCHEMA_NAMES[schemaId] ?? null),
    schema_id: schemaId,
    start: view.getBigUint64(M.start, true),
    end: endTs === UNDEF_TIMESTAMP ? null : endTs,
    limit: view.getBigUint64(M.limit, true),
    stype_in: stypeInId === 0xff ? null : (STYPE_NAMES[stypeInId] ?? null),
    stype_in_id: stypeInId,
    stype_out: stypeOutId === 0xff ? null : (STYPE_NAMES[stypeOutId] ?? null),
    stype_out_id: stypeOutId,
    ts_out: tsOut !== 0,
    symbol_cstr_len: cstrLen,
    symbols,
    partial,
    not_found: notFound,
    mappings,
    length,
  };
}
