import { describe, expect, it } from 'vitest';
import { MIN_RECORD_SIZE } from './constants.js';
import {
  BidAskPairLayout,
  type DbnRecord,
  decodeBuffer,
  type EncodableRecord,
  ErrorV1Layout,
  ErrorV2Layout,
  encodeMetadata,
  encodeRecords,
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
} from './index.js';

// In the manner of databento/dbn's `record/layout_tests.rs`: the layouts are checked against the
// spec's tables (shared/docs/databento.md §2.3, §3, §4, written out here a second time on
// purpose), then against bytes: the encoder's output read at each stated offset, and bytes
// written at the spec's offsets read back by the decoder.

type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64' | 'char' | `cstr${number}`;
/** [layout member, DBN field name, spec offset, spec type]; null name = not decoded. */
type Field = readonly [string, string | null, number, FieldType];

const HEADER: Field[] = [
  ['length', 'length', 0, 'u8'],
  ['rtype', 'rtype', 1, 'u8'],
  ['publisherId', 'publisher_id', 2, 'u16'],
  ['instrumentId', 'instrument_id', 4, 'u32'],
  ['tsEvent', 'ts_event', 8, 'u64'],
];
const TRADE: Field[] = [
  ...HEADER,
  ['price', 'price', 16, 'i64'],
  ['size', 'size', 24, 'u32'],
  ['action', 'action', 28, 'char'],
  ['side', 'side', 29, 'char'],
  ['flags', 'flags', 30, 'u8'],
  ['depth', 'depth', 31, 'u8'],
  ['tsRecv', 'ts_recv', 32, 'u64'],
  ['tsInDelta', 'ts_in_delta', 40, 'i32'],
  ['sequence', 'sequence', 44, 'u32'],
];
const STAT: Field[] = [
  ...HEADER,
  ['tsRecv', 'ts_recv', 16, 'u64'],
  ['tsRef', 'ts_ref', 24, 'u64'],
  ['price', 'price', 32, 'i64'],
];
const STAT_TAIL: Field[] = [
  ['sequence', 'sequence', 0, 'u32'],
  ['tsInDelta', 'ts_in_delta', 4, 'i32'],
  ['statType', 'stat_type', 8, 'u16'],
  ['channelId', 'channel_id', 10, 'u16'],
  ['updateAction', 'update_action', 12, 'u8'],
  ['statFlags', 'stat_flags', 13, 'u8'],
];
const at = (base: number, fields: Field[]): Field[] =>
  fields.map(([k, n, o, t]) => [k, n, base + o, t] as const);

interface Spec {
  name: string;
  layout: Record<string, number | string>;
  rtype: number;
  versions: number[];
  size: number;
  fields: Field[];
  /** Explicit reserved bytes [offset, size] (the only gaps allowed). */
  reserved?: [number, number][];
}

const SPECS: Spec[] = [
  {
    name: 'TradeMsg',
    layout: TradeLayout,
    rtype: 0x00,
    versions: [1, 2, 3],
    size: 48,
    fields: TRADE,
  },
  {
    name: 'Mbp1Msg',
    layout: Mbp1Layout,
    rtype: 0x01,
    versions: [1, 2, 3],
    size: 80,
    fields: [
      ...TRADE,
      ['bidPx', null, 48, 'i64'],
      ['askPx', null, 56, 'i64'],
      ['bidSz', null, 64, 'u32'],
      ['askSz', null, 68, 'u32'],
      ['bidCt', null, 72, 'u32'],
      ['askCt', null, 76, 'u32'],
    ],
  },
  {
    name: 'MboMsg',
    layout: MboLayout,
    rtype: 0xa0,
    versions: [1, 2, 3],
    size: 56,
    fields: [
      ...HEADER,
      ['orderId', 'order_id', 16, 'u64'],
      ['price', 'price', 24, 'i64'],
      ['size', 'size', 32, 'u32'],
      ['flags', 'flags', 36, 'u8'],
      ['channelId', 'channel_id', 37, 'u8'],
      ['action', 'action', 38, 'char'],
      ['side', 'side', 39, 'char'],
      ['tsRecv', 'ts_recv', 40, 'u64'],
      ['tsInDelta', 'ts_in_delta', 48, 'i32'],
      ['sequence', 'sequence', 52, 'u32'],
    ],
  },
  {
    name: 'OhlcvMsg',
    layout: OhlcvLayout,
    rtype: 0x21,
    versions: [1, 2, 3],
    size: 56,
    fields: [
      ...HEADER,
      ['open', 'open', 16, 'i64'],
      ['high', 'high', 24, 'i64'],
      ['low', 'low', 32, 'i64'],
      ['close', 'close', 40, 'i64'],
      ['volume', 'volume', 48, 'u64'],
    ],
  },
  {
    name: 'StatMsg v1/v2',
    layout: StatV1Layout,
    rtype: 0x18,
    versions: [1, 2],
    size: 64,
    fields: [...STAT, ['quantity', 'quantity', 40, 'i32'], ...at(44, STAT_TAIL)],
    reserved: [[58, 6]],
  },
  {
    name: 'StatMsg v3',
    layout: StatV3Layout,
    rtype: 0x18,
    versions: [3],
    size: 80,
    fields: [...STAT, ['quantity', 'quantity', 40, 'i64'], ...at(48, STAT_TAIL)],
    reserved: [[62, 18]],
  },
  {
    name: 'SymbolMappingMsg v1',
    layout: SymbolMappingV1Layout,
    rtype: 0x16,
    versions: [1],
    size: 80,
    fields: [
      ...HEADER,
      ['stypeInSymbol', 'stype_in_symbol', 16, 'cstr22'],
      ['stypeOutSymbol', 'stype_out_symbol', 38, 'cstr22'],
      ['startTs', 'start_ts', 64, 'u64'],
      ['endTs', 'end_ts', 72, 'u64'],
    ],
    reserved: [[60, 4]],
  },
  {
    name: 'SymbolMappingMsg v2/v3',
    layout: SymbolMappingV2Layout,
    rtype: 0x16,
    versions: [2, 3],
    size: 176,
    fields: [
      ...HEADER,
      ['stypeIn', 'stype_in', 16, 'u8'],
      ['stypeInSymbol', 'stype_in_symbol', 17, 'cstr71'],
      ['stypeOut', 'stype_out', 88, 'u8'],
      ['stypeOutSymbol', 'stype_out_symbol', 89, 'cstr71'],
      ['startTs', 'start_ts', 160, 'u64'],
      ['endTs', 'end_ts', 168, 'u64'],
    ],
  },
  {
    name: 'ErrorMsg v1',
    layout: ErrorV1Layout,
    rtype: 0x15,
    versions: [1],
    size: 80,
    fields: [...HEADER, ['err', 'err', 16, 'cstr64']],
  },
  {
    name: 'ErrorMsg v2/v3',
    layout: ErrorV2Layout,
    rtype: 0x15,
    versions: [2, 3],
    size: 320,
    fields: [
      ...HEADER,
      ['err', 'err', 16, 'cstr302'],
      ['code', 'code', 318, 'u8'],
      ['isLast', 'is_last', 319, 'u8'],
    ],
  },
  {
    name: 'SystemMsg v1',
    layout: SystemV1Layout,
    rtype: 0x17,
    versions: [1],
    size: 80,
    fields: [...HEADER, ['msg', 'msg', 16, 'cstr64']],
  },
  {
    name: 'SystemMsg v2/v3',
    layout: SystemV2Layout,
    rtype: 0x17,
    versions: [2, 3],
    size: 320,
    fields: [...HEADER, ['msg', 'msg', 16, 'cstr303'], ['code', 'code', 319, 'u8']],
  },
];

const WIDTH: Record<string, number> = { u8: 1, char: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };
const width = (t: FieldType): number => (t.startsWith('cstr') ? Number(t.slice(4)) : WIDTH[t]!);

/** A distinct value per field (index `i`), so a field read at another's offset shows. */
function sample(t: FieldType, i: number): bigint | number | string {
  switch (t) {
    case 'u8':
      return 0x80 + i;
    case 'char':
      return String.fromCharCode(0x41 + i);
    case 'u16':
      return 0x8100 + i;
    case 'u32':
      return 0x8100_0000 + i;
    case 'i32':
      return -0x0100_0000 - i;
    case 'u64':
      return 0x8000_0000_0000_0000n + BigInt(i) * 0x1_0000_0001n;
    case 'i64':
      return -0x0100_0000_0000_0000n - BigInt(i) * 0x1_0000_0001n;
    default:
      return `S${i}`.padEnd(Math.min(width(t) - 1, 12), String.fromCharCode(0x61 + (i % 26)));
  }
}

function readAt(v: DataView, bytes: Uint8Array, o: number, t: FieldType): bigint | number | string {
  switch (t) {
    case 'u8':
      return v.getUint8(o);
    case 'char':
      return String.fromCharCode(v.getUint8(o));
    case 'u16':
      return v.getUint16(o, true);
    case 'u32':
      return v.getUint32(o, true);
    case 'i32':
      return v.getInt32(o, true);
    case 'u64':
      return v.getBigUint64(o, true);
    case 'i64':
      return v.getBigInt64(o, true);
    default: {
      const s = bytes.subarray(o, o + width(t));
      const end = s.indexOf(0);
      return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
    }
  }
}

function writeAt(v: DataView, o: number, t: FieldType, value: bigint | number | string): void {
  switch (t) {
    case 'u8':
      v.setUint8(o, value as number);
      return;
    case 'char':
      v.setUint8(o, (value as string).charCodeAt(0));
      return;
    case 'u16':
      v.setUint16(o, value as number, true);
      return;
    case 'u32':
      v.setUint32(o, value as number, true);
      return;
    case 'i32':
      v.setInt32(o, value as number, true);
      return;
    case 'u64':
      v.setBigUint64(o, value as bigint, true);
      return;
    case 'i64':
      v.setBigInt64(o, value as bigint, true);
      return;
    default:
      for (let i = 0; i < (value as string).length; i++) {
        v.setUint8(o + i, (value as string).charCodeAt(i));
      }
  }
}

/** The record's field values, with the header fields a stream needs (length, rtype) fixed. */
function values(spec: Spec): Map<string, bigint | number | string> {
  const out = new Map<string, bigint | number | string>();
  spec.fields.forEach(([key, , , t], i) => {
    out.set(key, sample(t, i));
  });
  out.set('length', spec.size / RecordLength.unit);
  out.set('rtype', spec.rtype);
  return out;
}

describe('DBN layout against the spec tables', () => {
  for (const spec of SPECS) {
    it(`${spec.name}: every field at its offset, ${spec.size} bytes, no implicit padding`, () => {
      const members = Object.keys(spec.layout).filter((k) => Number.isNaN(Number(k)));
      const stated = Object.fromEntries(spec.fields.map(([k, , o]) => [k, o]));
      for (const k of members) {
        if (k === 'structSize' || /Length$/.test(k) || k === 'levels' || k === 'levelCount') {
          continue;
        }
        expect({ [k]: spec.layout[k] }).toEqual({ [k]: stated[k] });
      }
      for (const [k, , o] of spec.fields) expect({ [k]: spec.layout[k] }).toEqual({ [k]: o });
      expect(spec.layout.structSize).toBe(spec.size);
      // The fields plus the reserved bytes tile the struct exactly, like a #[repr(C)] struct.
      const spans = [
        ...spec.fields.map(([, , o, t]) => [o, width(t)] as const),
        ...(spec.reserved ?? []),
      ].sort((a, b) => a[0] - b[0]);
      let end = 0;
      for (const [o, w] of spans) {
        expect(o).toBe(end);
        end = o + w;
      }
      expect(end).toBe(spec.size);
    });
  }

  it('string lengths are the spec char[N] sizes', () => {
    expect(SymbolMappingV1Layout.symbolLength).toBe(22);
    expect(SymbolMappingV2Layout.symbolLength).toBe(71);
    expect(ErrorV1Layout.errLength).toBe(64);
    expect(ErrorV2Layout.errLength).toBe(302);
    expect(SystemV1Layout.msgLength).toBe(64);
    expect(SystemV2Layout.msgLength).toBe(303);
  });

  it('the header is 16 bytes and every record layout repeats it unchanged', () => {
    expect(RecordHeaderLayout).toMatchObject({
      length: 0,
      rtype: 1,
      publisherId: 2,
      instrumentId: 4,
      tsEvent: 8,
      structSize: 16,
    });
    for (const spec of SPECS) {
      for (const [k, , o] of HEADER)
        expect({ [spec.name]: spec.layout[k] }).toEqual({ [spec.name]: o });
    }
  });

  it('book levels: BidAskPair is 32 bytes; mbp-1 has one at 48, mbp-10 ten, 368 bytes', () => {
    expect(BidAskPairLayout).toMatchObject({
      bidPx: 0,
      askPx: 8,
      bidSz: 16,
      askSz: 20,
      bidCt: 24,
      askCt: 28,
      structSize: 32,
    });
    for (const k of ['bidPx', 'askPx', 'bidSz', 'askSz', 'bidCt', 'askCt'] as const) {
      expect(Mbp1Layout[k]).toBe(48 + BidAskPairLayout[k]);
    }
    expect(Mbp10Layout.levels + Mbp10Layout.levelCount * BidAskPairLayout.structSize).toBe(
      Mbp10Layout.structSize,
    );
    expect(Mbp10Layout.structSize).toBe(368);
  });

  it('rtypes are the spec values', () => {
    expect({ ...RType }).toMatchObject({
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
    });
  });

  it('the decoder validates each rtype against its struct size, per version', () => {
    for (const spec of SPECS) {
      for (const v of spec.versions) expect(MIN_RECORD_SIZE[v * 256 + spec.rtype]).toBe(spec.size);
    }
    const sizes: [number, number[]][] = [
      [RType.MBP_10, [368, 368, 368]],
      [RType.STATUS, [40, 40, 40]],
      [RType.IMBALANCE, [112, 112, 112]],
      [RType.INSTRUMENT_DEF, [360, 400, 520]],
      [RType.OHLCV_1S, [56, 56, 56]],
      [RType.OHLCV_EOD, [56, 56, 56]],
    ];
    for (const [rtype, bySize] of sizes) {
      bySize.forEach((size, i) => {
        expect(MIN_RECORD_SIZE[(i + 1) * 256 + rtype]).toBe(size);
      });
    }
    expect(UndecodedRecordSize.instrumentDefV3).toBe(520);
    expect(RecordLength).toMatchObject({ unit: 4, max: 1020, tsOut: 8 });
  });

  it('prelude and metadata: "DBN", version, length; v1 and v2+ fixed parts at their offsets', () => {
    expect(PreludeLayout).toMatchObject({ magic: 0, version: 3, length: 4, structSize: 8 });
    const common = { dataset: 8, schema: 24, start: 26, end: 34, limit: 42 };
    expect(MetadataLayout).toMatchObject({
      ...common,
      stypeIn: 50,
      stypeOut: 51,
      tsOut: 52,
      symbolCstrLen: 53,
      schemaDefinitionLength: 108,
      variable: 112,
    });
    expect(MetadataV1Layout).toMatchObject({
      ...common,
      recordCount: 50,
      stypeIn: 58,
      stypeOut: 59,
      tsOut: 60,
      schemaDefinitionLength: 108,
      variable: 112,
      symbolLength: 22,
    });
  });
});

describe('DBN layout against encoded bytes', () => {
  it('metadata written by the encoder has each field at its stated offset', () => {
    for (const version of [1, 2, 3]) {
      const M = version === 1 ? MetadataV1Layout : MetadataLayout;
      const md = encodeMetadata({
        version,
        dataset: 'EQUS.MINI',
        schema: 'trades',
        start: 0x1122_3344_5566_7788n,
        end: 0x2122_3344_5566_7788n,
        limit: 0x3122_3344_5566_7788n,
        stype_in: 'raw_symbol',
        stype_out: 'instrument_id',
        ts_out: true,
        symbols: ['AAPL'],
      });
      const v = new DataView(md.buffer);
      expect(new TextDecoder().decode(md.subarray(0, 3))).toBe('DBN');
      expect(md[PreludeLayout.version]).toBe(version);
      expect(v.getUint32(PreludeLayout.length, true)).toBe(md.length - PreludeLayout.structSize);
      expect(readAt(v, md, M.dataset, 'cstr16')).toBe('EQUS.MINI');
      expect(v.getUint16(M.schema, true)).toBe(4);
      expect(v.getBigUint64(M.start, true)).toBe(0x1122_3344_5566_7788n);
      expect(v.getBigUint64(M.end, true)).toBe(0x2122_3344_5566_7788n);
      expect(v.getBigUint64(M.limit, true)).toBe(0x3122_3344_5566_7788n);
      expect([md[M.stypeIn], md[M.stypeOut], md[M.tsOut]]).toEqual([1, 0, 1]);
      if (version > 1) {
        expect(v.getUint16(MetadataLayout.symbolCstrLen, true)).toBe(MetadataLayout.symbolLength);
      }
      expect(v.getUint32(M.schemaDefinitionLength, true)).toBe(0);
      expect(v.getUint32(M.variable, true)).toBe(1);
      expect(readAt(v, md, M.variable + 4, 'cstr22')).toBe('AAPL');
    }
  });

  const ENCODABLE = new Set([
    'TradeMsg',
    'Mbp1Msg',
    'OhlcvMsg',
    'SymbolMappingMsg v1',
    'SymbolMappingMsg v2/v3',
    'ErrorMsg v1',
    'ErrorMsg v2/v3',
    'SystemMsg v1',
    'SystemMsg v2/v3',
  ]);
  for (const spec of SPECS.filter((s) => ENCODABLE.has(s.name))) {
    it(`${spec.name}: the encoder writes each field at its stated offset`, () => {
      const vals = values(spec);
      const rec: Record<string, unknown> = { kind: spec.name.split(' ')[0] };
      for (const [key, name] of spec.fields) if (name) rec[name] = vals.get(key);
      if (spec.name === 'Mbp1Msg') {
        rec.levels = [
          {
            bid_px: vals.get('bidPx'),
            ask_px: vals.get('askPx'),
            bid_sz: vals.get('bidSz'),
            ask_sz: vals.get('askSz'),
            bid_ct: vals.get('bidCt'),
            ask_ct: vals.get('askCt'),
          },
        ];
      }
      const version = spec.versions[0]!;
      const bytes = encodeRecords([rec as EncodableRecord], { version });
      expect(bytes.length).toBe(spec.size);
      const v = new DataView(bytes.buffer);
      for (const [key, , , t] of spec.fields) {
        expect({ [key]: readAt(v, bytes, spec.layout[key] as number, t) }).toEqual({
          [key]: vals.get(key),
        });
      }
    });
  }

  for (const spec of SPECS) {
    for (const version of spec.versions) {
      it(`${spec.name} v${version}: the decoder reads each field from its spec offset`, () => {
        const vals = values(spec);
        const md = encodeMetadata({ version, dataset: 'TEST' });
        const bytes = new Uint8Array(md.length + spec.size);
        bytes.set(md);
        const v = new DataView(bytes.buffer);
        // Written at the spec's offsets (not the layout's): this checks the decoder on its own.
        for (const [key, , o, t] of spec.fields) writeAt(v, md.length + o, t, vals.get(key)!);
        const [rec] = decodeBuffer(bytes).records as [DbnRecord & Record<string, unknown>];
        expect(rec.kind).toBe(spec.name.split(' ')[0]);
        for (const [key, name] of spec.fields) {
          if (name) expect({ [name]: rec[name] }).toEqual({ [name]: vals.get(key) });
        }
        if (spec.name === 'Mbp1Msg') {
          expect(rec.levels).toEqual([
            {
              bid_px: vals.get('bidPx'),
              ask_px: vals.get('askPx'),
              bid_sz: vals.get('bidSz'),
              ask_sz: vals.get('askSz'),
              bid_ct: vals.get('bidCt'),
              ask_ct: vals.get('askCt'),
            },
          ]);
        }
      });
    }
  }
});
