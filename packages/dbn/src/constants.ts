import {
  ErrorV1Layout,
  ErrorV2Layout,
  MboLayout,
  Mbp1Layout,
  Mbp10Layout,
  OhlcvLayout,
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

/** The rtypes whose records are OhlcvMsg (the bar size differs, the layout does not). */
const OHLCV_RTYPES = [
  RType.OHLCV_DEPRECATED,
  RType.OHLCV_1S,
  RType.OHLCV_1M,
  RType.OHLCV_1H,
  RType.OHLCV_1D,
  RType.OHLCV_EOD,
];

export const UNDEF_PRICE = 9223372036854775807n;
export const UNDEF_TIMESTAMP = 18446744073709551615n;

/** Schema names indexed by their metadata id. */
export const SCHEMA_NAMES = [
  'mbo',
  'mbp-1',
  'mbp-10',
  'tbbo',
  'trades',
  'ohlcv-1s',
  'ohlcv-1m',
  'ohlcv-1h',
  'ohlcv-1d',
  'definition',
  'statistics',
  'status',
  'imbalance',
  'ohlcv-eod',
  'cmbp-1',
  'cbbo-1s',
  'cbbo-1m',
  'tcbbo',
  'bbo-1s',
  'bbo-1m',
] as const;

/** SType names indexed by their metadata id. */
export const STYPE_NAMES = [
  'instrument_id',
  'raw_symbol',
  'smart',
  'continuous',
  'parent',
  'nasdaq_symbol',
  'cms_symbol',
  'isin',
  'us_code',
  'bbg_comp_id',
  'bbg_comp_ticker',
  'figi',
  'figi_ticker',
] as const;

export const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x80, 'F_LAST'],
  [0x40, 'F_TOB'],
  [0x20, 'F_SNAPSHOT'],
  [0x10, 'F_MBP'],
  [0x08, 'F_BAD_TS_RECV'],
  [0x04, 'F_MAYBE_BAD_BOOK'],
  [0x02, 'F_PUBLISHER_SPECIFIC'],
];

/** SystemMsg codes (v2+). */
export const SystemCode = {
  HEARTBEAT: 0,
  SUBSCRIPTION_ACK: 1,
  SLOW_READER_WARNING: 2,
  REPLAY_COMPLETED: 3,
  END_OF_INTERVAL: 4,
  UNSET: 255,
} as const;

/** ErrorMsg codes (v2+). */
export const ErrorCode = {
  AUTH_FAILED: 1,
  API_KEY_DEACTIVATED: 2,
  CONNECTION_LIMIT_EXCEEDED: 3,
  SYMBOL_RESOLUTION_FAILED: 4,
  INVALID_SUBSCRIPTION: 5,
  INTERNAL_ERROR: 6,
  SKIPPED_RECORDS_AFTER_SLOW_READING: 7,
  REPLAY_DATA_AGED_OUT: 8,
  UNSET: 255,
} as const;

/** Schema name -> metadata id, or undefined. */
export function schemaId(name: string): number | undefined {
  const i = (SCHEMA_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : i;
}

/** Names of the set flag bits (unknown bits are ignored). */
export function flagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of FLAG_NAMES) if (flags & bit) out.push(name);
  return out;
}

/**
 * Minimum record size in bytes (without ts_out) per rtype and DBN version; 0 = unknown rtype,
 * skipped by its length. Index: version * 256 + rtype.
 */
export const MIN_RECORD_SIZE: Uint16Array = (() => {
  const t = new Uint16Array(4 * 256);
  for (let v = 1; v <= 3; v++) {
    const b = v * 256;
    const v1 = v === 1;
    t[b + RType.MBP_0] = TradeLayout.structSize;
    t[b + RType.MBP_1] = Mbp1Layout.structSize;
    t[b + RType.MBP_10] = Mbp10Layout.structSize;
    t[b + RType.MBO] = MboLayout.structSize;
    t[b + RType.STATUS] = UndecodedRecordSize.status;
    t[b + RType.IMBALANCE] = UndecodedRecordSize.imbalance;
    for (const r of OHLCV_RTYPES) t[b + r] = OhlcvLayout.structSize;
    t[b + RType.INSTRUMENT_DEF] = v1
      ? UndecodedRecordSize.instrumentDefV1
      : v === 2
        ? UndecodedRecordSize.instrumentDefV2
        : UndecodedRecordSize.instrumentDefV3;
    t[b + RType.STATISTICS] = (v === 3 ? StatV3Layout : StatV1Layout).structSize;
    t[b + RType.SYMBOL_MAPPING] = (v1 ? SymbolMappingV1Layout : SymbolMappingV2Layout).structSize;
    t[b + RType.ERROR] = (v1 ? ErrorV1Layout : ErrorV2Layout).structSize;
    t[b + RType.SYSTEM] = (v1 ? SystemV1Layout : SystemV2Layout).structSize;
  }
  return t;
})();
