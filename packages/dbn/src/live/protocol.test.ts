import { describe, expect, it } from 'vitest';
import { cramResponse, parseControlLine, parseHostPort, subscriptionLines } from './protocol.js';

describe('live protocol helpers', () => {
  it('computes the documented CRAM test vector', () => {
    expect(cramResponse('abcd1234', 'db-unittestapikey1234567890FFFFF')).toBe(
      'be87ce3d564b64481d4ad1902e2b41b26e3eef62b9de37d87eb4a1d4a5199b6f-FFFFF',
    );
  });

  it('parses control lines leniently', () => {
    expect(parseControlLine('success=1|session_id=1234\r')).toEqual({
      success: '1',
      session_id: '1234',
    });
    expect(parseControlLine('cram=a=b')).toEqual({ cram: 'a=b' });
  });

  it('chunks subscriptions by 500 symbols with is_last on the final line', () => {
    const symbols = Array.from({ length: 1201 }, (_, i) => `S${i}`);
    const lines = subscriptionLines({ schema: 'trades', symbols, start: 5n }, 3);
    expect(lines).toHaveLength(3);
    const parsed = lines.map((l) => parseControlLine(l.trimEnd()));
    expect(parsed.map((p) => p.symbols!.split(',').length)).toEqual([500, 500, 201]);
    expect(parsed.map((p) => p.is_last)).toEqual(['0', '0', '1']);
    expect(
      parsed.every((p) => p.id === '3' && p.start === '5' && p.stype_in === 'raw_symbol'),
    ).toBe(true);
    expect(subscriptionLines({ schema: 'trades', symbols: 'ALL_SYMBOLS' }, 1)).toEqual([
      'schema=trades|stype_in=raw_symbol|symbols=ALL_SYMBOLS|id=1|is_last=1\n',
    ]);
  });

  it('parses host:port overrides', () => {
    expect(parseHostPort('127.0.0.1:13000')).toEqual({ host: '127.0.0.1', port: 13000 });
    expect(parseHostPort('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(() => parseHostPort('nope')).toThrow(RangeError);
  });
});
