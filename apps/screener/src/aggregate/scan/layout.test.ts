import { readFileSync } from 'node:fs';
import { RType, TradeLayout, UNDEF_PRICE } from '@timed/dbn';
import { describe, expect, it } from 'vitest';
import { DIRECT_IDS, HEADER_BYTES, HeaderAt, ROW_BYTES, Row, ScanHeader } from './layout.js';

// trade-scan.wat writes the layout's offsets as literals, each line marked with the field it
// means (`;; header.x`, `;; row.X`, `;; trade.x`, or a constant's name): every marked literal
// must be what layout.ts and @timed/dbn say.

const wat = readFileSync(new URL('./trade-scan.wat', import.meta.url), 'utf8');
const code = (line: string) => line.split(';;')[0]!;
const marker = (line: string) => /;;\s*([A-Za-z_]+(?:\.[A-Za-z_]+)?)\s*$/.exec(line)?.[1];

const fieldOffset: Record<string, (name: string) => number | undefined> = {
  header: (name) => HeaderAt[name as keyof typeof HeaderAt],
  row: (name) => {
    const k = Row[name as keyof typeof Row];
    return k === undefined || k === Row.Size ? undefined : k * 8;
  },
  trade: (name) => TradeLayout[name as keyof typeof TradeLayout],
};
const constants: Record<string, bigint> = {
  'RType.SYSTEM': BigInt(RType.SYSTEM),
  'RType.SYMBOL_MAPPING': BigInt(RType.SYMBOL_MAPPING),
  UNDEF_PRICE,
  DIRECT_IDS: BigInt(DIRECT_IDS),
  ROW_BYTES: BigInt(ROW_BYTES),
};

describe('trade-scan.wat against layout.ts', () => {
  it('uses the layout’s offset for every marked load and store', () => {
    let checked = 0;
    for (const line of wat.split('\n')) {
      const offsets = [...code(line).matchAll(/offset=(\d+)/g)].map((m) => Number(m[1]));
      if (offsets.length === 0) continue;
      const name = marker(line);
      // Every memory access at an offset names its field, and there is one per line.
      expect({ line, name: name !== undefined, offsets: offsets.length }).toEqual({
        line,
        name: true,
        offsets: 1,
      });
      const [area, field] = name!.split('.') as [string, string];
      const want = fieldOffset[area]?.(field);
      expect({ line, offset: offsets[0] }).toEqual({ line, offset: want });
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('uses the layout’s constants where it names them', () => {
    const seen = new Set<string>();
    for (const line of wat.split('\n')) {
      const name = marker(line);
      if (name === undefined || !(name in constants)) continue;
      const literals = [...code(line).matchAll(/i(?:32|64)\.const (0x[0-9a-f]+|\d+)/g)];
      expect({ line, literals: literals.length }).toEqual({ line, literals: 1 });
      expect({ line, value: BigInt(literals[0]![1]!) }).toEqual({ line, value: constants[name] });
      seen.add(name);
    }
    expect([...seen].sort()).toEqual(Object.keys(constants).sort());
  });

  it('keeps its header in HEADER_BYTES, 64-bit fields 8-byte aligned', () => {
    const offsets = Object.values(HeaderAt).filter((v): v is number => typeof v === 'number');
    expect(Math.max(...offsets) + 8).toBeLessThanOrEqual(HEADER_BYTES);
    for (const wide of [HeaderAt.minuteStart, HeaderAt.stampBase, HeaderAt.streamOffsetNs]) {
      expect(wide % 8).toBe(0);
    }
  });

  it('reads back what it writes through its named fields, the start as a little-endian u64', () => {
    const buffer = new ArrayBuffer(HEADER_BYTES);
    const header = new ScanHeader(buffer);
    const start = 29_355_360 * 60e9; // 2025-10-24T16:00Z, an exact double
    header.minuteStartNs = start;
    header.day = 20_385;
    header.mappingVersion = 3;
    header.touchedCount = 7;
    header.stampBase = 2 ** 40;
    header.streamOffsetNs = 59_999_999_999;
    expect(header.minuteStartNs).toBe(start);
    expect(new DataView(buffer).getBigUint64(HeaderAt.minuteStart, true)).toBe(BigInt(start));
    expect(new DataView(buffer).getInt32(HeaderAt.minuteOpen, true)).toBe(1);
    expect([header.day, header.mappingVersion, header.touchedCount]).toEqual([20_385, 3, 7]);
    expect([header.stampBase, header.streamOffsetNs]).toEqual([2 ** 40, 59_999_999_999]);
    header.minuteStartNs = undefined;
    expect(header.minuteStartNs).toBeUndefined();
    expect(new DataView(buffer).getInt32(HeaderAt.minuteOpen, true)).toBe(0);
  });
});
