import fc from 'fast-check';
import { decompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import {
  DbnDecoder,
  DbnError,
  type DbnRecord,
  decodeBuffer,
  encodeDbn,
  isZstd,
  recordToJson,
  trade,
} from './index.js';
import { expectedFiles, fixture, needFixtures } from './testing/fixtures.js';

function decodeError(bytes: Uint8Array): DbnError {
  try {
    decodeBuffer(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(DbnError);
    return err as DbnError;
  }
  throw new Error('expected a DbnError');
}

describe('corrupt input', () => {
  // A v2 trades stream with two records, encoded here (no fixture needed); records start at 353.
  const trades = encodeDbn(
    {
      version: 2,
      dataset: 'GLBX.MDP3',
      schema: 'trades',
      stype_in: 'raw_symbol',
      symbols: ['ESH1'],
    },
    [
      trade({
        instrument_id: 5482,
        ts_event: 1_609_160_400_098_821_953n,
        price: 3_720_250_000_000n,
        size: 5,
      }),
      trade({
        instrument_id: 5482,
        ts_event: 1_609_160_400_107_665_963n,
        price: 3_720_500_000_000n,
        size: 21,
      }),
    ],
  );
  const start = trades.length - 2 * 48;

  it('rejects bad magic at offset 0', () => {
    const b = trades.slice();
    b[0] = 0x58;
    expect(decodeError(b)).toMatchObject({ code: 'BAD_MAGIC', offset: 0 });
  });

  it('rejects a legacy DBZ skippable frame', () => {
    const b = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0, 1, 2]);
    expect(decodeError(b).message).toMatch(/DBZ/);
  });

  it('rejects unsupported versions at offset 3', () => {
    for (const v of [0, 4, 255]) {
      const b = trades.slice();
      b[3] = v;
      expect(decodeError(b)).toMatchObject({ code: 'UNSUPPORTED_VERSION', offset: 3 });
    }
  });

  it('reports truncated metadata', () => {
    expect(decodeError(trades.slice(0, 100))).toMatchObject({
      code: 'TRUNCATED_METADATA',
      offset: 100,
    });
    expect(decodeError(new Uint8Array(0)).code).toBe('TRUNCATED_METADATA');
  });

  it('reports a truncated record with the offset of its start', () => {
    expect(decodeError(trades.slice(0, start + 48 + 10))).toMatchObject({
      code: 'TRUNCATED_RECORD',
      offset: start + 48,
    });
  });

  it('rejects record length 0 and lengths under the header size', () => {
    for (const len of [0, 1, 3]) {
      const b = trades.slice();
      b[start + 48] = len;
      expect(decodeError(b)).toMatchObject({ code: 'BAD_RECORD_LENGTH', offset: start + 48 });
    }
  });

  it('rejects a record shorter than its type', () => {
    const b = trades.slice();
    b[start] = 10; // 40 bytes, a TradeMsg needs 48
    expect(decodeError(b)).toMatchObject({ code: 'RECORD_TOO_SHORT', offset: start });
  });

  it('rejects garbage after the metadata', () => {
    const b = new Uint8Array(start + 64);
    b.set(trades.subarray(0, start));
    b.fill(0xff, start);
    b[start] = 2;
    expect(decodeError(b).offset).toBe(start);
  });

  it('rejects a metadata length too short for the fixed part and list counts past it', () => {
    for (const length of [50, 99, 100, 103]) {
      const b = trades.slice();
      new DataView(b.buffer).setUint32(4, length, true);
      expect(decodeError(b)).toMatchObject({ code: 'BAD_METADATA', offset: 4 });
    }
    const c = trades.slice();
    new DataView(c.buffer).setUint32(112, 1_000_000, true);
    expect(decodeError(c)).toMatchObject({ code: 'BAD_METADATA', offset: 116 });
  });

  it('skips unknown rtypes by their length', () => {
    const b = trades.slice();
    b[start + 1] = 0xee;
    const { records } = decodeBuffer(b);
    expect(records.map((r) => r.kind)).toEqual(['RawRecord', 'TradeMsg']);
  });

  it('stays failed after an error', () => {
    const b = trades.slice();
    b[start] = 0;
    const dec = new DbnDecoder();
    expect(() => dec.push(b)).toThrow(DbnError);
    expect(() => dec.push(new Uint8Array(10))).toThrow(DbnError);
  });
});

describe.skipIf(!needFixtures('decoder errors on fixtures'))('corrupt fixtures', () => {
  it('reports a truncated zstd stream as a DbnError', () => {
    const z = fixture('test_data.trades.v3.dbn.zst');
    expect(decodeError(z.slice(0, z.length - 5)).code).toBe('ZSTD_ERROR');
  });
});

/** What decoding `bytes` pushed in chunks of `chunkSizes` (cycled) ends in: records or an error. */
function outcome(bytes: Uint8Array, chunkSizes: number[]) {
  const dec = new DbnDecoder();
  const records: DbnRecord[] = [];
  try {
    let p = 0;
    let i = 0;
    while (p < bytes.length) {
      const size = chunkSizes[i++ % chunkSizes.length]!;
      records.push(...dec.push(bytes.subarray(p, p + size)));
      p += size;
    }
    records.push(...dec.end());
  } catch (err) {
    if (!(err instanceof DbnError)) throw err;
    return { error: err.code, offset: err.offset };
  }
  return { records: records.map((r) => recordToJson(r)) };
}

describe.skipIf(!needFixtures('decoder properties on fixtures'))(
  'property: mutated or truncated fixtures',
  () => {
    const files = expectedFiles().map((f) => ({ f, stored: fixture(f.file) }));
    const raw = files.map(({ stored }) => (isZstd(stored) ? decompress(stored) : stored));
    const edited = (src: Uint8Array, edits: [number, number][], cut: number | null) => {
      const b = src.slice();
      for (const [pos, val] of edits) b[pos % b.length] = val;
      return cut === null ? b : b.subarray(0, cut % (b.length + 1));
    };
    const arbitrary = {
      edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }),
      cut: fc.option(fc.nat()),
      chunks: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
    };

    it('chunking never changes the outcome: the same records, or the same error at the same offset', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: raw.length - 1 }),
          arbitrary.edits,
          arbitrary.cut,
          arbitrary.chunks,
          (idx, edits, cut, chunks) => {
            const bytes = edited(raw[idx]!, edits, cut);
            expect(outcome(bytes, chunks)).toEqual(outcome(bytes, [bytes.length || 1]));
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('stored (zstd too) ends in records or a DbnError; untouched, in every record', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: files.length - 1 }),
          arbitrary.edits,
          arbitrary.cut,
          arbitrary.chunks,
          (idx, edits, cut, chunks) => {
            const { f, stored } = files[idx]!;
            const got = outcome(edited(stored, edits, cut), chunks);
            if (edits.length === 0 && cut === null)
              expect(got.records).toHaveLength(f.record_count);
          },
        ),
        { numRuns: 500 },
      );
    });
  },
);
