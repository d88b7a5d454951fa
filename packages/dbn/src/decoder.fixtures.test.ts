import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DbnDecoder,
  type DbnRecord,
  decodeBuffer,
  metadataToJson,
  priceToDecimal,
  type RecordBatch,
  recordToJson,
  streamFile,
} from './index.js';
import { dbnDir, expectedFiles, fixture, needFixtures } from './testing/fixtures.js';

const files = expectedFiles();
const HEADER = ['length', 'rtype', 'publisher_id', 'instrument_id', 'ts_event', 'ts_out'];

function compareRecord(got: DbnRecord, want: Record<string, unknown>): void {
  const json = recordToJson(got);
  expect((json.length as number) * 4).toBe(want._size);
  const undecoded = got.kind === 'RawRecord';
  for (const [k, v] of Object.entries(want)) {
    if (k.startsWith('_')) continue;
    if (undecoded && !HEADER.includes(k)) continue;
    expect({ field: k, value: json[k] }).toEqual({ field: k, value: v });
  }
  if (!undecoded) {
    for (const k of Object.keys(json)) {
      if (k === 'kind') continue;
      expect({ extra: k, inExpected: k in want }).toEqual({ extra: k, inExpected: true });
    }
  }
}

function compareMetadata(got: Record<string, unknown>, want: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(want)) {
    expect({ field: k, value: got[k] }).toEqual({ field: k, value: v });
  }
}

describe.skipIf(!needFixtures('decoder fixtures'))('official and synthetic fixtures', () => {
  for (const f of files) {
    describe(f.file, () => {
      const bytes = fixture(f.file);

      it('decodes whole to exactly expected.json', () => {
        const { metadata, records } = decodeBuffer(bytes);
        expect(metadata.version).toBe(f.version);
        expect(metadata.length).toBe(f.metadata_length_field);
        compareMetadata(metadataToJson(metadata), f.metadata);
        expect(records).toHaveLength(f.record_count);
        for (const [i, r] of records.entries()) compareRecord(r, f.records[i]!);
      });

      it('decodes identically when fed one byte at a time', () => {
        const whole = decodeBuffer(bytes).records.map((r) => recordToJson(r));
        const dec = new DbnDecoder();
        const got: DbnRecord[] = [];
        for (let i = 0; i < bytes.length; i++) got.push(...dec.push(bytes.subarray(i, i + 1)));
        got.push(...dec.end());
        expect(got.map((r) => recordToJson(r))).toEqual(whole);
      });

      it('decodes identically for every two-chunk split', () => {
        const whole = decodeBuffer(bytes).records.map((r) => recordToJson(r));
        for (let cut = 0; cut <= bytes.length; cut += Math.max(1, bytes.length >> 6)) {
          const dec = new DbnDecoder();
          const got = [
            ...dec.push(bytes.slice(0, cut)),
            ...dec.push(bytes.slice(cut)),
            ...dec.end(),
          ];
          expect(got.map((r) => recordToJson(r))).toEqual(whole);
        }
      });

      it('batch API hands over every record once, validated, whatever the chunking', () => {
        const whole = decodeBuffer(bytes).records.map((r) => recordToJson(r));
        for (const step of [1, 7, 64, 4096]) {
          const dec = new DbnDecoder();
          const got: Record<string, unknown>[] = [];
          let counted = 0;
          const onBatch = (b: RecordBatch) => {
            counted += b.count;
            for (let o = b.start; o < b.end; o += b.bytes[o]! * 4) {
              got.push(recordToJson(dec.toObject({ bytes: b.bytes, view: b.view, offset: o })));
            }
          };
          for (let p = 0; p < bytes.length; p += step)
            dec.writeBatches(bytes.subarray(p, p + step), onBatch);
          dec.finishBatches(onBatch);
          expect(got).toEqual(whole);
          expect(counted).toBe(f.record_count);
        }
      });

      it('streams from a file with streamFile', async () => {
        const stream = streamFile(join(dbnDir, f.file));
        let n = 0;
        for await (const _ of stream) n++;
        expect(n).toBe(f.record_count);
        expect((await stream.metadata).version).toBe(f.version);
      });

      it('visitor positions match the documented record offsets', () => {
        const dec = new DbnDecoder();
        const positions: number[] = [];
        dec.write(bytes, (c) => positions.push(c.position));
        dec.finish((c) => positions.push(c.position));
        expect(positions).toHaveLength(f.record_count);
        expect(positions[0]).toBe(f.records_start_offset);
      });
    });
  }

  it('maps instrument ids to symbols from metadata and SymbolMappingMsg', () => {
    const trades = decodeBuffer(fixture('test_data.trades.v3.dbn.zst'));
    expect(trades.symbols.get(5482, 1609160400098821953n)).toBe('ESH1');
    expect(trades.symbols.get(5482, 1609300000000000000n)).toBeUndefined();
    const def = decodeBuffer(fixture('test_data.definition.dbn'));
    expect(def.symbols.get(6819, 1633331241618018154n)).toBe('MSFT');
    expect(def.symbols.get(6830)).toBe('MSFT');
    const live = decodeBuffer(fixture('test_data.live.dbn.zst'));
    expect(live.symbols.get(183748)).toBe('ESZ4');
    const syn = decodeBuffer(fixture('synthetic/synthetic.gateway.v1.dbn'));
    expect(syn.symbols.get(6155)).toBe('NVDA');
  });
});

describe('prices', () => {
  it('formats exact decimals including negatives and UNDEF', () => {
    expect(priceToDecimal(3720250000000n)).toBe('3720.250000000');
    expect(priceToDecimal(-1500000n)).toBe('-0.001500000');
    expect(priceToDecimal(-9223372036854775808n)).toBe('-9223372036.854775808');
    expect(priceToDecimal(9223372036854775807n)).toBeNull();
    expect(priceToDecimal(1n)).toBe('0.000000001');
  });
});
