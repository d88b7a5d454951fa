export {
  ErrorCode,
  flagNames,
  SCHEMA_NAMES,
  STYPE_NAMES,
  SystemCode,
  UNDEF_PRICE,
  UNDEF_TIMESTAMP,
} from './constants.js';
export {
  DbnDecoder,
  type DecoderOptions,
  isZstd,
  RecordCursor,
  type RecordVisitor,
} from './decoder.js';
export {
  type EncodableRecord,
  encodeDbn,
  encodeMetadata,
  encodeRecords,
  type MetadataInit,
  trade,
  writeRecord,
} from './encoder.js';
export {
  DbnError,
  type DbnErrorCode,
  HistoricalError,
  type HistoricalErrorCode,
  LiveError,
  type LiveErrorCode,
} from './errors.js';
export {
  priceToDecimal,
  priceToNumber,
  readPriceNano,
  readTimestampMs,
} from './fields.js';
export {
  type GetRangeParams,
  HistoricalClient,
  type HistoricalClientOptions,
} from './historical.js';
export { metadataToJson, recordToJson } from './json.js';
export {
  BidAskPairLayout,
  ErrorV1Layout,
  ErrorV2Layout,
  MboLayout,
  Mbp1Layout,
  Mbp10Layout,
  MetadataLayout,
  MetadataV1Layout,
  OhlcvLayout,
  PreludeLayout,
  RecordHeaderLayout,
  RecordLength,
  RType,
  StatV1Layout,
  StatV3Layout,
  SymbolMappingV1Layout,
  SymbolMappingV2Layout,
  SystemV1Layout,
  SystemV2Layout,
  TradeLayout,
  UndecodedRecordSize,
} from './layout.js';
export {
  LiveClient,
  type LiveClientOptions,
  type LiveEvent,
  type ResumeContext,
} from './live/live-client.js';
export {
  type Clock,
  cramResponse,
  type LiveSubscription,
  parseControlLine,
  subscriptionLines,
} from './live/protocol.js';
export type { MappingInterval, Metadata, SymbolMappingEntry } from './metadata.js';
export { type BatchVisitor, RawDbnDecoder, type RecordBatch } from './raw-decoder.js';
export {
  DbnRecordStream,
  type DecodedDbn,
  decodeBuffer,
  decodeFile,
  decodeStream,
  streamFile,
} from './read.js';
export {
  type BidAskPair,
  type DbnRecord,
  type ErrorMsg,
  type MboMsg,
  type Mbp1Msg,
  type Mbp10Msg,
  type OhlcvMsg,
  type RawRecord,
  type RecordHeader,
  type StatMsg,
  type SymbolMappingMsg,
  type SystemMsg,
  systemCodeAt,
  type TradeMsg,
} from './records.js';
export { SymbolMap } from './symbol-map.js';
