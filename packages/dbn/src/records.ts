import { SystemCode } from './constants.js';
import { readChar, readCString } from './fields.js';
import {
  BidAskPairLayout,
  ErrorV1Layout,
  ErrorV2Layout,
  MboLayout,
  Mbp1Layout,
  Mbp10Layout,
  OhlcvLayout,
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
} from './layout.js';

/** The 16-byte header shared by every record (plus `ts_out` when the stream has it). */
export interface RecordHeader {
  /** Record size in 4-byte words (includes ts_out). */
  length: number;
  rtype: number;
  publisher_id: number;
  instrument_id: number;
  ts_event: bigint;
  /** Gateway send time; present only when metadata.ts_out is set. */
  ts_out?: bigint;
}

/** Trades schema record (rtype 0x00). */
export interface TradeMsg extends RecordHeader {
  kind: 'TradeMsg';
  price: bigint;
  size: number;
  action: string;
  side: string;
  flags: number;
  depth: number;
  ts_recv: bigint;
  ts_in_delta: number;
  sequence: number;
}

/** One book level. */
export interface BidAskPair {
  bid_px: bigint;
  ask_px: bigint;
  bid_sz: number;
  ask_sz: number;
  bid_ct: number;
  ask_ct: number;
}

/** mbp-1 / tbbo record (rtype 0x01). */
export interface Mbp1Msg extends Omit<TradeMsg, 'kind'> {
  kind: 'Mbp1Msg';
  levels: [BidAskPair];
}

/** mbp-10 record (rtype 0x0A). */
export interface Mbp10Msg extends Omit<TradeMsg, 'kind'> {
  kind: 'Mbp10Msg';
  levels: BidAskPair[];
}

/** mbo record (rtype 0xA0). */
export interface MboMsg extends RecordHeader {
  kind: 'MboMsg';
  order_id: bigint;
  price: bigint;
  size: number;
  flags: number;
  channel_id: number;
  action: string;
  side: string;
  ts_recv: bigint;
  ts_in_delta: number;
  sequence: number;
}

/** OHLCV bar (rtypes 0x11, 0x20-0x24); `ts_event` is the bar's start. */
export interface OhlcvMsg extends RecordHeader {
  kind: 'OhlcvMsg';
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  volume: bigint;
}

/** Statistics record (rtype 0x18); `quantity` is a number in v1/v2 and a bigint in v3. */
export interface StatMsg extends RecordHeader {
  kind: 'StatMsg';
  ts_recv: bigint;
  ts_ref: bigint;
  price: bigint;
  quantity: number | bigint;
  sequence: number;
  ts_in_delta: number;
  stat_type: number;
  channel_id: number;
  update_action: number;
  stat_flags: number;
}

/** Symbol mapping (rtype 0x16); `stype_in`/`stype_out` exist only in DBN v2+. */
export interface SymbolMappingMsg extends RecordHeader {
  kind: 'SymbolMappingMsg';
  stype_in?: number;
  stype_in_symbol: string;
  stype_out?: number;
  stype_out_symbol: string;
  start_ts: bigint;
  end_ts: bigint;
}

/** Gateway error (rtype 0x15); `code`/`is_last` exist only in DBN v2+. */
export interface ErrorMsg extends RecordHeader {
  kind: 'ErrorMsg';
  err: string;
  code?: number;
  is_last?: number;
}

/** Gateway system message (rtype 0x17): heartbeat, ack, end of interval...; `code` v2+ only. */
export interface SystemMsg extends RecordHeader {
  kind: 'SystemMsg';
  msg: string;
  code?: number;
}

/** Any record type this library does not decode; `bytes` is a copy of the whole record. */
export interface RawRecord extends RecordHeader {
  kind: 'RawRecord';
  bytes: Uint8Array;
}

export type DbnRecord =
  | TradeMsg
  | Mbp1Msg
  | Mbp10Msg
  | MboMsg
  | OhlcvMsg
  | StatMsg
  | SymbolMappingMsg
  | ErrorMsg
  | SystemMsg
  | RawRecord;

const CHARS = Array.from({ length: 256 }, (_, i) => (i === 0 ? '' : String.fromCharCode(i)));

function charAt(v: DataView, o: number): string {
  return CHARS[v.getUint8(o)]!;
}

function pair(v: DataView, o: number): BidAskPair {
  const P = BidAskPairLayout;
  return {
    bid_px: v.getBigInt64(o + P.bidPx, true),
    ask_px: v.getBigInt64(o + P.askPx, true),
    bid_sz: v.getUint32(o + P.bidSz, true),
    ask_sz: v.getUint32(o + P.askSz, true),
    bid_ct: v.getUint32(o + P.bidCt, true),
    ask_ct: v.getUint32(o + P.askCt, true),
  };
}

const T = TradeLayout;

/**
 * Decode a TradeMsg at `o`. A literal object with no spreads: one hidden class, which is what
 * keeps the object API fast. Mbp1Msg and Mbp10Msg share this prefix and reuse it.
 */
function decodeTrade(v: DataView, o: number, tsOut: boolean): TradeMsg {
  const t: TradeMsg = {
    kind: 'TradeMsg',
    length: v.getUint8(o + T.length),
    rtype: RType.MBP_0,
    publisher_id: v.getUint16(o + T.publisherId, true),
    instrument_id: v.getUint32(o + T.instrumentId, true),
    ts_event: v.getBigUint64(o + T.tsEvent, true),
    price: v.getBigInt64(o + T.price, true),
    size: v.getUint32(o + T.size, true),
    action: charAt(v, o + T.action),
    side: charAt(v, o + T.side),
    flags: v.getUint8(o + T.flags),
    depth: v.getUint8(o + T.depth),
    ts_recv: v.getBigUint64(o + T.tsRecv, true),
    ts_in_delta: v.getInt32(o + T.tsInDelta, true),
    sequence: v.getUint32(o + T.sequence, true),
  };
  if (tsOut) t.ts_out = v.getBigUint64(o + T.structSize, true);
  return t;
}

/** The TradeMsg-shaped prefix of an mbp-1/mbp-10 record, without `kind` (key order kept). */
function bookPrefix(v: DataView, o: number, rtype: number): Omit<TradeMsg, 'kind'> {
  const { kind: _, ...prefix } = decodeTrade(v, o, false);
  prefix.rtype = rtype;
  return prefix;
}

/**
 * Decode the record at `off` into an object. The caller has validated its length against
 * MIN_RECORD_SIZE. `tsOut` says whether the stream appends ts_out after each struct.
 */
export function decodeRecord(
  bytes: Uint8Array,
  v: DataView,
  o: number,
  version: number,
  tsOut: boolean,
): DbnRecord {
  const H = RecordHeaderLayout;
  const rtype = v.getUint8(o + H.rtype);
  if (rtype === RType.MBP_0) return decodeTrade(v, o, tsOut);
  const length = v.getUint8(o + H.length);
  const h: RecordHeader = {
    length,
    rtype,
    publisher_id: v.getUint16(o + H.publisherId, true),
    instrument_id: v.getUint32(o + H.instrumentId, true),
    ts_event: v.getBigUint64(o + H.tsEvent, true),
  };
  let rec: DbnRecord;
  let size: number;
  switch (rtype) {
    case RType.MBP_1:
      rec = {
        kind: 'Mbp1Msg',
        ...bookPrefix(v, o, rtype),
        levels: [pair(v, o + Mbp1Layout.bidPx)],
      };
      size = Mbp1Layout.structSize;
      break;
    case RType.MBP_10: {
      const levels: BidAskPair[] = [];
      for (let i = 0; i < Mbp10Layout.levelCount; i++) {
        levels.push(pair(v, o + Mbp10Layout.levels + BidAskPairLayout.structSize * i));
      }
      rec = { kind: 'Mbp10Msg', ...bookPrefix(v, o, rtype), levels };
      size = Mbp10Layout.structSize;
      break;
    }
    case RType.MBO: {
      const M = MboLayout;
      rec = {
        kind: 'MboMsg',
        ...h,
        order_id: v.getBigUint64(o + M.orderId, true),
        price: v.getBigInt64(o + M.price, true),
        size: v.getUint32(o + M.size, true),
        flags: v.getUint8(o + M.flags),
        channel_id: v.getUint8(o + M.channelId),
        action: readChar(v, o + M.action),
        side: readChar(v, o + M.side),
        ts_recv: v.getBigUint64(o + M.tsRecv, true),
        ts_in_delta: v.getInt32(o + M.tsInDelta, true),
        sequence: v.getUint32(o + M.sequence, true),
      };
      size = M.structSize;
      break;
    }
    case RType.OHLCV_DEPRECATED:
    case RType.OHLCV_1S:
    case RType.OHLCV_1M:
    case RType.OHLCV_1H:
    case RType.OHLCV_1D:
    case RType.OHLCV_EOD: {
      const B = OhlcvLayout;
      rec = {
        kind: 'OhlcvMsg',
        ...h,
        open: v.getBigInt64(o + B.open, true),
        high: v.getBigInt64(o + B.high, true),
        low: v.getBigInt64(o + B.low, true),
        close: v.getBigInt64(o + B.close, true),
        volume: v.getBigUint64(o + B.volume, true),
      };
      size = B.structSize;
      break;
    }
    case RType.STATISTICS: {
      const v3 = version >= 3;
      const S = v3 ? StatV3Layout : StatV1Layout;
      rec = {
        kind: 'StatMsg',
        ...h,
        ts_recv: v.getBigUint64(o + S.tsRecv, true),
        ts_ref: v.getBigUint64(o + S.tsRef, true),
        price: v.getBigInt64(o + S.price, true),
        quantity: v3 ? v.getBigInt64(o + S.quantity, true) : v.getInt32(o + S.quantity, true),
        sequence: v.getUint32(o + S.sequence, true),
        ts_in_delta: v.getInt32(o + S.tsInDelta, true),
        stat_type: v.getUint16(o + S.statType, true),
        channel_id: v.getUint16(o + S.channelId, true),
        update_action: v.getUint8(o + S.updateAction),
        stat_flags: v.getUint8(o + S.statFlags),
      };
      size = S.structSize;
      break;
    }
    case RType.SYMBOL_MAPPING:
      if (version === 1) {
        const S = SymbolMappingV1Layout;
        rec = {
          kind: 'SymbolMappingMsg',
          ...h,
          stype_in_symbol: readCString(bytes, o + S.stypeInSymbol, S.symbolLength),
          stype_out_symbol: readCString(bytes, o + S.stypeOutSymbol, S.symbolLength),
          start_ts: v.getBigUint64(o + S.startTs, true),
          end_ts: v.getBigUint64(o + S.endTs, true),
        };
        size = S.structSize;
      } else {
        const S = SymbolMappingV2Layout;
        rec = {
          kind: 'SymbolMappingMsg',
          ...h,
          stype_in: v.getUint8(o + S.stypeIn),
          stype_in_symbol: readCString(bytes, o + S.stypeInSymbol, S.symbolLength),
          stype_out: v.getUint8(o + S.stypeOut),
          stype_out_symbol: readCString(bytes, o + S.stypeOutSymbol, S.symbolLength),
          start_ts: v.getBigUint64(o + S.startTs, true),
          end_ts: v.getBigUint64(o + S.endTs, true),
        };
        size = S.structSize;
      }
      break;
    case RType.ERROR:
      if (version === 1) {
        const E = ErrorV1Layout;
        rec = { kind: 'ErrorMsg', ...h, err: readCString(bytes, o + E.err, E.errLength) };
        size = E.structSize;
      } else {
        const E = ErrorV2Layout;
        rec = {
          kind: 'ErrorMsg',
          ...h,
          err: readCString(bytes, o + E.err, E.errLength),
          code: v.getUint8(o + E.code),
          is_last: v.getUint8(o + E.isLast),
        };
        size = E.structSize;
      }
      break;
    case RType.SYSTEM:
      if (version === 1) {
        const S = SystemV1Layout;
        rec = { kind: 'SystemMsg', ...h, msg: readCString(bytes, o + S.msg, S.msgLength) };
        size = S.structSize;
      } else {
        const S = SystemV2Layout;
        rec = {
          kind: 'SystemMsg',
          ...h,
          msg: readCString(bytes, o + S.msg, S.msgLength),
          code: v.getUint8(o + S.code),
        };
        size = S.structSize;
      }
      break;
    default:
      rec = { kind: 'RawRecord', ...h, bytes: bytes.slice(o, o + length * RecordLength.unit) };
      size = length * RecordLength.unit - (tsOut ? RecordLength.tsOut : 0);
  }
  if (tsOut) rec.ts_out = v.getBigUint64(o + size, true);
  return rec;
}

/** The SystemCode a message text stands for, by the reference's v1 -> v2 upgrade rules. */
function systemCodeOfText(text: string): number {
  if (text === 'Heartbeat') return SystemCode.HEARTBEAT;
  if (text.startsWith('End of interval for ')) return SystemCode.END_OF_INTERVAL;
  if (text.startsWith('Subscription request ') && text.endsWith(' succeeded')) {
    return SystemCode.SUBSCRIPTION_ACK;
  }
  if (text.startsWith('Warning: slow reading')) return SystemCode.SLOW_READER_WARNING;
  if (text.startsWith('Finished ') && text.endsWith(' replay')) return SystemCode.REPLAY_COMPLETED;
  return SystemCode.UNSET;
}

/**
 * SystemCode of the raw SystemMsg at `o` whose size (header length x 4) is `size`, without
 * decoding it: the code byte of a v2+ record when set, else read from the text as the reference
 * does for v1 records (`UNSET` when the text means nothing known).
 */
export function systemCodeAt(bytes: Uint8Array, o: number, size: number): number {
  if (size >= SystemV2Layout.structSize) {
    const code = bytes[o + SystemV2Layout.code]!;
    if (code !== SystemCode.UNSET) return code;
  }
  const S = size >= SystemV2Layout.structSize ? SystemV2Layout : SystemV1Layout;
  return systemCodeOfText(readCString(bytes, o + S.msg, S.msgLength));
}
