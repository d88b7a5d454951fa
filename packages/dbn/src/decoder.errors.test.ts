import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DbnDecoder, DbnError, decodeBuffer } from './index.js';
import { expectedFiles, fixture, haveFixtures } from './testing/fixtures.js';

function decodeError(bytes: Uint8Array): DbnError {
  try {
    decodeBuffer(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(DbnError);
    return err as DbnError;
  }
  throw new Error('expected a DbnError');
}

describe.skipIf(!haveFixtures)('corrupt input', () => {
  const trades = fixture('test_data.trades.dbn'); // v2, records at 353
  const start = 353;

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

  it('rejects a metadata length under 100 and list counts past the metadata', () => {
    const b = trades.slice();
    new DataView(b.buffer).setUint32(4, 50, true);
    expect(decodeError(b)).toMatchObject({ code: 'BAD_METADATA', offset: 4 });
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

  it('reports a truncated zstd stream as a DbnError', () => {
    const z = fixture('test_data.trades.v3.dbn.zst');
    expect(decodeError(z.slice(0, z.length - 5)).code).toBe('ZSTD_ERROR');
  });

  it('stays failed after an error', () => {
    const b = trades.slice();
    b[start] = 0;
    const dec = new DbnDecoder();
    expect(() => dec.push(b)).toThrow(DbnError);
    expect(() => dec.push(new Uint8Array(10))).toThrow(DbnError);
  });
});

describe.skipIf(!haveFixtures)('property: mutated or truncated fixtures', () => {
  const inputs = expectedFiles().map((f) => fixture(f.file));

  it('ends in records or a DbnError, chunked arbitrarily', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: inputs.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }),
        fc.option(fc.nat()),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
        (idx, edits, cut, chunkSizes) => {
          const src = inputs[idx]!.slice();
          for (const [pos, val] of edits) src[pos % src.length] = val;
          const bytes = cut === null ? src : src.subarray(0, cut % (src.length + 1));
          const dec = new DbnDecoder();
          let n = 0;
          try {
            let p = 0;
            let i = 0;
            while (p < bytes.length) {
              const size = chunkSizes[i++ % chunkSizes.length]!;
              n += dec.push(bytes.subarray(p, p + size)).length;
              p += size;
            }
            n += dec.end().length;
          } catch (err) {
            if (!(err instanceof DbnError)) throw err;
            expect(err.offset).toBeGreaterThanOrEqual(0);
          }
          expect(n).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
