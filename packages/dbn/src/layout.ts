/**
 * The DBN byte layout, written down once (the counterpart of databento/dbn's `#[repr(C)]` structs
 * in `record.rs`; the spec is `shared/docs/databento.md` §2-4). Every reader and writer of raw
 * bytes in this package takes its offsets from here, and `layout.test.ts` checks them against
 * the spec and against encoded bytes.
 *
 * Record offsets are from the start of the record; every value is little-endian. `structSize` is
 * a struct's size in bytes without `ts_out` (the u64 a stream whose metadata says `ts_out`
 * appends to every record, counted in the header's `length`).
 *
 * Layouts are numeric enums rather than objects because the bundler inlines enum members as
 * literals: the hot loops compile to `o + 16` as if the number were written there. Like the
 * structs of the reference, each record states its whole layout, header included; the layout
 * test checks that every record's header members are the header's.
 */

/** First three bytes of every uncompressed DBN stream: ASCII "DBN". */
export const DBN_MAGIC: readonly number[] = [0x44, 0x42, 0x4e];

/** Record types (the header's `rtype` byte) and the struct each one selects. */
export enum RType {
  MBP_0 = 0x00,
  MBP_1 = 0x01,
  MBP_10 = 0x0a,
  OHLCV_DEPRECATED = 0x11,
  STATUS = 0x12,
  INSTRUMENT_DEF = 0x13,
  IMBALANCE = 0x14,
  ERROR = 0x15,
  SYMBOL_MAPPING = 0x16,
  SYSTEM = 0x17,
  STATISTICS = 0x18,
  OHLCV_1S = 0x20,
  OHLCV_1M = 0x21,
  OHLCV_1H = 0x22,
  OHLCV_1D = 0x23,
  OHLCV_EOD = 0x24,
  MBO = 0xa0,
}

/** The 8-byte prelude: magic, version byte, u32 metadata length (bytes after the prelude). */
export enum PreludeLayout {
  magic = 0,
  version = 3,
  length = 4,
  structSize = 8,
}

/**
 * The fixed part of the metadata in DBN v2 and v3, at absolute offsets from the stream start
 * (not aligned). The variable part (symbols, partial, not_found, mappings) starts at `variable`.
 */
export enum MetadataLayout {
  dataset = 8,
  datasetLength = 16,
  schema = 24,
  start = 26,
  end = 34,
  limit = 42,
  stypeIn = 50,
  stypeOut = 51,
  tsOut = 52,
  symbolCstrLen = 53,
  schemaDefinitionLength = 108,
  variable = 112,
  /** Smallest valid value of the prelude's metadata length. */
  minLength = 100,
  /** The symbol_cstr_len v2 and v3 writers put (readers take the field's value). */
  symbolLength = 71,
}

/** The fixed part of the metadata in DBN v1: a deprecated record count shifts the stype bytes. */
export enum MetadataV1Layout {
  dataset = 8,
  datasetLength = 16,
  schema = 24,
  start = 26,
  end = 34,
  limit = 42,
  recordCount = 50,
  stypeIn = 58,
  stypeOut = 59,
  tsOut = 60,
  schemaDefinitionLength = 108,
  variable = 112,
  minLength = 100,
  /** v1 has no symbol_cstr_len field: every symbol string is this long. */
  symbolLength = 22,
}

/** The 16-byte header every record starts with. */
export enum RecordHeaderLayout {
  /** u8: the record's size in 4-byte words (RecordLength.unit), ts_out included. */
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  structSize = 16,
}

/** Sizes that frame records. */
export enum RecordLength {
  /** Bytes per unit of the header's `length` byte. */
  unit = 4,
  /** Largest record a length byte can describe (255 words). */
  max = 1020,
  /** Bytes of the `ts_out` appended to each record when the metadata says so. */
  tsOut = 8,
}

/** TradeMsg (trades schema, rtype 0x00): 48 bytes in every version. */
export enum TradeLayout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  /** i64, 1e-9 units. */
  price = 16,
  /** u32 quantity. */
  size = 24,
  action = 28,
  side = 29,
  flags = 30,
  depth = 31,
  tsRecv = 32,
  tsInDelta = 40,
  sequence = 44,
  structSize = 48,
}

/** One book level (BidAskPair, 32 bytes); offsets relative to the level's start. */
export enum BidAskPairLayout {
  bidPx = 0,
  askPx = 8,
  bidSz = 16,
  askSz = 20,
  bidCt = 24,
  askCt = 28,
  structSize = 32,
}

/** Mbp1Msg (mbp-1 and tbbo, rtype 0x01): 80 bytes, the TradeMsg layout then level 0. */
export enum Mbp1Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  price = 16,
  size = 24,
  action = 28,
  side = 29,
  flags = 30,
  depth = 31,
  tsRecv = 32,
  tsInDelta = 40,
  sequence = 44,
  /** levels[0] (a BidAskPairLayout) starts here, at its bid price. */
  bidPx = 48,
  askPx = 56,
  bidSz = 64,
  askSz = 68,
  bidCt = 72,
  askCt = 76,
  structSize = 80,
}

/** Mbp10Msg (mbp-10, rtype 0x0A): 368 bytes, the TradeMsg layout (bytes 0-47) then 10 levels. */
export enum Mbp10Layout {
  levels = 48,
  levelCount = 10,
  structSize = 368,
}

/** MboMsg (mbo, rtype 0xA0): 56 bytes. */
export enum MboLayout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  orderId = 16,
  price = 24,
  size = 32,
  flags = 36,
  channelId = 37,
  action = 38,
  side = 39,
  tsRecv = 40,
  tsInDelta = 48,
  sequence = 52,
  structSize = 56,
}

/** OhlcvMsg (rtypes 0x11, 0x20-0x24): 56 bytes; `tsEvent` is the bar's start. */
export enum OhlcvLayout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  open = 16,
  high = 24,
  low = 32,
  close = 40,
  volume = 48,
  structSize = 56,
}

/** StatMsg in DBN v1 and v2 (rtype 0x18): 64 bytes; `quantity` is an i32. */
export enum StatV1Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  tsRecv = 16,
  tsRef = 24,
  price = 32,
  quantity = 40,
  sequence = 44,
  tsInDelta = 48,
  statType = 52,
  channelId = 54,
  updateAction = 56,
  statFlags = 57,
  structSize = 64,
}

/** StatMsg in DBN v3 (rtype 0x18): 80 bytes; `quantity` is an i64. */
export enum StatV3Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  tsRecv = 16,
  tsRef = 24,
  price = 32,
  quantity = 40,
  sequence = 48,
  tsInDelta = 52,
  statType = 56,
  channelId = 58,
  updateAction = 60,
  statFlags = 61,
  structSize = 80,
}

/** SymbolMappingMsg in DBN v1 (rtype 0x16): 80 bytes. */
export enum SymbolMappingV1Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  stypeInSymbol = 16,
  stypeOutSymbol = 38,
  symbolLength = 22,
  startTs = 64,
  endTs = 72,
  structSize = 80,
}

/** SymbolMappingMsg in DBN v2 and v3 (rtype 0x16): 176 bytes; `stypeOut` is unaligned. */
export enum SymbolMappingV2Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  stypeIn = 16,
  stypeInSymbol = 17,
  stypeOut = 88,
  stypeOutSymbol = 89,
  symbolLength = 71,
  startTs = 160,
  endTs = 168,
  structSize = 176,
}

/** ErrorMsg in DBN v1 (rtype 0x15): 80 bytes. */
export enum ErrorV1Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  err = 16,
  errLength = 64,
  structSize = 80,
}

/** ErrorMsg in DBN v2 and v3 (rtype 0x15): 320 bytes. */
export enum ErrorV2Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  err = 16,
  errLength = 302,
  code = 318,
  isLast = 319,
  structSize = 320,
}

/** SystemMsg in DBN v1 (rtype 0x17): 80 bytes. */
export enum SystemV1Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  msg = 16,
  msgLength = 64,
  structSize = 80,
}

/** SystemMsg in DBN v2 and v3 (rtype 0x17): 320 bytes. */
export enum SystemV2Layout {
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  msg = 16,
  msgLength = 303,
  code = 319,
  structSize = 320,
}

/** Sizes of records this package does not decode field by field (they become `RawRecord`s). */
export enum UndecodedRecordSize {
  status = 40,
  imbalance = 112,
  instrumentDefV1 = 360,
  instrumentDefV2 = 400,
  instrumentDefV3 = 520,
}
