import { decompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import {
  type DbnRecord,
  decodeBuffer,
  type EncodableRecord,
  encodeDbn,
  encodeMetadata,
  isZstd,
  recordToJson,
  trade,
} from './index.js';
import { expectedFiles, fixture, needFixtures } from './testing/fixtures.js';

const ENCODABLE = new Set([
  'TradeMsg',
  'Mbp1Msg',
  'OhlcvMsg',
  'SymbolMappingMsg',
  'SystemMsg',
  'ErrorMsg',
  'RawRecord',
]);

describe.skipIf(!needFixtures('encoder against fixture bytes'))(
  'encoder against fixture bytes',
  () => {
    for (const f of expectedFiles()) {
      const raw = fixture(f.file);
      const bytes = isZstd(raw) ? decompress(raw) : raw;
      const decoded = decodeBuffer(bytes);
      const encodable = decoded.records.every((r) => ENCODABLE.has(r.kind));
      it(`${f.file}: metadata re-encodes byte for byte`, () => {
        const md = encodeMetadata(decoded.metadata);
        expect(Buffer.from(md).equals(Buffer.from(bytes.subarray(0, md.length)))).toBe(true);
        expect(md.length).toBe(f.records_start_offset);
      });
      it.skipIf(!encodable)(`${f.file}: whole stream re-encodes byte for byte`, () => {
        const out = encodeDbn(decoded.metadata, decoded.records);
        expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
      });
    }
  },
);

function roundTrip(version: number, tsOut: boolean, records: EncodableRecord[]): DbnRecord[] {
  const bytes = encodeDbn({ version, dataset: 'EQUS.MINI', ts_out: tsOut }, records);
  const out = decodeBuffer(bytes);
  expect(out.metadata.version).toBe(version);
  expect(out.metadata.length % (version === 3 ? 8 : 1)).toBe(0);
  return out.records;
}

describe('encoder round trip through the decoder', () => {
  const base = { publisher_id: 95, instrument_id: 42, ts_event: 1_700_000_000_123_456_789n };
  const records: EncodableRecord[] = [
    trade({ ...base, price: -1_250_000_000n, size: 300, side: 'B', sequence: 7, ts_in_delta: -5 }),
    {
      kind: 'Mbp1Msg',
      rtype: 1,
      ...base,
      price: 9223372036854775807n,
      size: 0,
      action: 'A',
      side: 'N',
      flags: 0xc0,
      depth: 0,
      ts_recv: base.ts_event + 1n,
      ts_in_delta: 0,
      sequence: 0,
      levels: [{ bid_px: 1n, ask_px: 2n, bid_sz: 3, ask_sz: 4, bid_ct: 5, ask_ct: 6 }],
    },
    {
      kind: 'OhlcvMsg',
      rtype: 0x21,
      ...base,
      open: 1n,
      high: 4n,
      low: 0n,
      close: 2n,
      volume: 18446744073709551615n,
    },
    {
      kind: 'SymbolMappingMsg',
      rtype: 0x16,
      ...base,
      stype_in: 1,
      stype_in_symbol: 'BRK.B',
      stype_out: 1,
      stype_out_symbol: 'BRK.B',
      start_ts: 1n,
      end_ts: 2n,
    },
    { kind: 'SystemMsg', rtype: 0x17, ...base, msg: 'Heartbeat', code: 0 },
    { kind: 'ErrorMsg', rtype: 0x15, ...base, err: 'Internal error', code: 6, is_last: 1 },
  ];

  for (const version of [1, 2, 3]) {
    for (const tsOut of [false, true]) {
      it(`v${version}${tsOut ? ' with ts_out' : ''}`, () => {
        const input = records.map((r) => (tsOut ? { ...r, ts_out: 99n } : r));
        const got = roundTrip(version, tsOut, input);
        const strip = (r: Record<string, unknown>) => {
          const { length: _l, ...rest } = r;
          if (version === 1) {
            delete rest.stype_in;
            delete rest.stype_out;
            delete rest.code;
            delete rest.is_last;
          }
          return rest;
        };
        expect(got.map((r) => strip(recordToJson(r)))).toEqual(
          input.map((r) => strip(recordToJson(r as DbnRecord))),
        );
        expect(got[0]!.length * 4).toBe(48 + (tsOut ? 8 : 0));
      });
    }
  }

  it('rejects strings that do not fit', () => {
    expect(() =>
      roundTrip(1, false, [
        { ...(records[4] as EncodableRecord), msg: 'x'.repeat(64) } as EncodableRecord,
      ]),
    ).toThrow(RangeError);
  });
});
