/** Record types (header byte 1). */
export const RType = {
  MBP_0: 0x00,
  MBP_1: 0x01,
  MBP_10: 0x0a,
  OHLCV_DEPRECATED: 0x11,
  STATUS: 0x12,
  INSTRUMENT_DEF: 0x13,
  IMBALANCE: 0x14,
  ERROR: 0x15,
  SYMBOL_MAPPING: 0x16,
  SYSTEM: 0x17,
  STATISTICS: 0x18,
  OHLCV_1S: 0x20,
  OHLCV_1M: 0x21,
  OHLCV_1H: 0x22,
  OHLCV_1D: 0x23,
  OHLCV_EOD: 0x24,
  MBO: 0xa0,
} as const;

export const UNDEF_PRICE = 9223372036854775807n;
export const UNDEF_TIMESTAMP = 18446744073709551615n;
export const UNDEF_ORDER_SIZE = 4294967295;

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

/** SType name -> metadata id, or undefined. */
export function stypeId(name: string): number | undefined {
  const i = (STYPE_NAMES as readonly string[]).indexOf(name);
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
    t[b + RType.MBP_0] = 48;
    t[b + RType.MBP_1] = 80;
    t[b + RType.MBP_10] = 368;
    t[b + RType.MBO] = 56;
    t[b + RType.STATUS] = 40;
    t[b + RType.IMBALANCE] = 112;
    for (const r of [0x11, 0x20, 0x21, 0x22, 0x23, 0x24]) t[b + r] = 56;
    t[b + RType.INSTRUMENT_DEF] = v === 1 ? 360 : v === 2 ? 400 : 520;
    t[b + RType.STATISTICS] = v === 3 ? 80 : 64;
    t[b + RType.SYMBOL_MAPPING] = v === 1 ? 80 : 176;
    t[b + RType.ERROR] = v === 1 ? 80 : 320;
    t[b + RType.SYSTEM] = v === 1 ? 80 : 320;
  }
  return t;
})();
