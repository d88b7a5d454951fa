import { describe, expect, it } from 'vitest';
import {
  type BarInput,
  BarsQuery,
  barProblem,
  MultiBarsQuery,
  parseIsoBound,
  SymbolParam,
} from './index.js';

describe('parseIsoBound', () => {
  it('reads a date alone as the whole UTC day (inclusive end)', () => {
    expect(parseIsoBound('2025-10-24', 'start')?.toISOString()).toBe('2025-10-24T00:00:00.000Z');
    expect(parseIsoBound('2025-10-24', 'end')?.toISOString()).toBe('2025-10-24T23:59:59.999Z');
  });
  it('reads zone-less times as UTC and honours offsets', () => {
    expect(parseIsoBound('2025-10-24T14:30', 'start')?.toISOString()).toBe(
      '2025-10-24T14:30:00.000Z',
    );
    expect(parseIsoBound('2025-10-24T10:30:00-04:00', 'start')?.toISOString()).toBe(
      '2025-10-24T14:30:00.000Z',
    );
  });
  it('refuses impossible or non-ISO dates', () => {
    for (const s of ['2025-02-30', 'tomorrow', '24/10/2025', '2025-10-24T25:00:00Z', '']) {
      expect(parseIsoBound(s, 'start'), s).toBeUndefined();
    }
  });
});

describe('BarsQuery', () => {
  it('has the documented defaults', () => {
    // limit stays absent (the route applies DEFAULT_BARS_LIMIT to JSON; exports stream).
    expect(BarsQuery.parse({})).toEqual({
      include_legacy: false,
      interval: '1m',
      format: 'json',
      session: 'all',
      fill: 'none',
    });
  });
  it('parses every flag spelling', () => {
    expect(BarsQuery.parse({ include_legacy: '1' }).include_legacy).toBe(true);
    expect(BarsQuery.parse({ include_legacy: 'false' }).include_legacy).toBe(false);
  });
  const bad: Array<[Record<string, string>, string]> = [
    [{ start: 'nope' }, 'start'],
    [{ end: '2025-13-01' }, 'end'],
    [{ start: '2025-10-25', end: '2025-10-24' }, 'start'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '50001' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ interval: '2m' }, 'interval'],
    [{ include_legacy: 'yes' }, 'include_legacy'],
    [{ format: 'xml' }, 'format'],
    [{ session: 'pre' }, 'session'],
    [{ fill: 'linear' }, 'fill'],
  ];
  for (const [q, field] of bad) {
    it(`rejects ${JSON.stringify(q)} naming ${field}`, () => {
      const r = BarsQuery.safeParse(q);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual([field]);
    });
  }
  it('SymbolParam upper-cases and refuses injection-looking symbols', () => {
    expect(SymbolParam.parse('brk.b')).toBe('BRK.B');
    for (const s of ["AAPL' OR 1=1--", 'A;DROP TABLE', '', '../etc'])
      expect(SymbolParam.safeParse(s).success, s).toBe(false);
  });
});

describe('MultiBarsQuery', () => {
  it('upper-cases symbols and drops duplicates, keeping the first order', () => {
    expect(MultiBarsQuery.parse({ symbols: 'msft, aapl,MSFT' }).symbols).toEqual(['MSFT', 'AAPL']);
  });
  it('refuses more than 100 symbols, and names a bad one', () => {
    const many = Array.from({ length: 101 }, (_, i) => `S${i}`).join(',');
    const r = MultiBarsQuery.safeParse({ symbols: many });
    expect(r.error?.issues[0]?.path).toEqual(['symbols']);
    expect(r.error?.issues[0]?.message).toMatch(/at most 100 symbols, got 101/);
    const bad = MultiBarsQuery.safeParse({ symbols: 'AAPL,,MSFT' });
    expect(bad.error?.issues[0]?.message).toMatch(/"" must be 1-32/);
    expect(MultiBarsQuery.safeParse({}).success).toBe(false);
  });
});

describe('barProblem', () => {
  const ok: BarInput = {
    symbol: 'AAPL',
    timestamp: new Date(60_000),
    open: 1,
    high: 2,
    low: 0.5,
    close: 1.5,
    volume: 10,
    trade_count: 2,
  };
  it('accepts a consistent bar and exact decimal strings', () => {
    expect(barProblem(ok)).toBeUndefined();
    expect(
      barProblem({ ...ok, open: '1.000000001', high: '2', low: '0.5', close: '1.5', volume: 10n }),
    ).toBeUndefined();
  });
  it('names what is wrong', () => {
    expect(barProblem({ ...ok, high: 0.1 })).toMatch(/high 0.1 is below low 0.5/);
    expect(barProblem({ ...ok, volume: 1.5 })).toMatch(/volume is not a whole number/);
    expect(barProblem({ ...ok, open: '0x10' })).toMatch(/open is not a decimal number/);
    expect(barProblem({ ...ok, close: Number.NaN })).toMatch(/close is not a finite price/);
    expect(barProblem({ ...ok, data_source: 'quotes' as never })).toMatch(
      /data_source must be one of/,
    );
    expect(barProblem({ ...ok, vwap: '2.5' })).toMatch(/vwap 2.5 is outside \[low 0.5, high 2\]/);
    expect(barProblem({ ...ok, vwap: 'abc' })).toMatch(/vwap is not a decimal number/);
  });
  it('accepts a vwap inside the range, or none', () => {
    expect(barProblem({ ...ok, vwap: '1.234567891' })).toBeUndefined();
    expect(barProblem({ ...ok, vwap: null })).toBeUndefined();
  });
});
