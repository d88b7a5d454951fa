import { describe, expect, it } from 'vitest';
import { copyRowRenderer, renderJsonBars } from './bars-copy-render.js';

// Two rows as COPY's text format writes barsReadSql's columns: a legacy bar without VWAP, then a
// trades bar with one.
const COPY_TEXT =
  'AAPL\t2024-03-08 14:30:00\t170.5\t171\t170.25\t170.75\t1200\t31\tt\tmbp-1\t\\N\n' +
  'BRK.B\t2024-03-11 13:31:00\t410\t410.12\t409.9\t410.01\t7\t1\tf\ttrades\t410.0049\n';

const NDJSON =
  '{"symbol":"AAPL","timestamp":"2024-03-08T14:30:00.000Z","open":170.5,"high":171,"low":170.25,' +
  '"close":170.75,"volume":1200,"trade_count":31,"is_legacy":true,"data_source":"mbp-1","vwap":null}\n' +
  '{"symbol":"BRK.B","timestamp":"2024-03-11T13:31:00.000Z","open":410,"high":410.12,"low":409.9,' +
  '"close":410.01,"volume":7,"trade_count":1,"is_legacy":false,"data_source":"trades","vwap":410.0049}\n';

const CSV =
  '2024-03-08T14:30:00.000Z,170.5,171,170.25,170.75,1200,31,true,mbp-1,\n' +
  '2024-03-11T13:31:00.000Z,410,410.12,409.9,410.01,7,1,false,trades,410.0049\n';

const CSV_WITH_SYMBOL = CSV.split('\n')
  .map((line, i) => (line ? `${['AAPL', 'BRK.B'][i]},${line}` : line))
  .join('\n');

/** Feeds `text` in the given pieces and returns everything rendered. */
function renderIn(pieces: string[], render: 'ndjson' | 'csv', withSymbol = true): string {
  const r = copyRowRenderer(render, withSymbol);
  const out = pieces.map((p) => r.push(Buffer.from(p)).toString('utf8')).join('');
  r.end();
  return out;
}

describe('copyRowRenderer (COPY text rows to export lines)', () => {
  it('writes NDJSON and CSV lines exactly, NULL VWAP as null / empty, booleans as words', () => {
    expect(renderIn([COPY_TEXT], 'ndjson')).toBe(NDJSON);
    expect(renderIn([COPY_TEXT], 'csv', false)).toBe(CSV);
    expect(renderIn([COPY_TEXT], 'csv', true)).toBe(CSV_WITH_SYMBOL);
  });

  it('gives the same bytes however COPY splits its stream into chunks', () => {
    for (let cut = 0; cut <= COPY_TEXT.length; cut++) {
      const pieces = [COPY_TEXT.slice(0, cut), COPY_TEXT.slice(cut)];
      expect(renderIn(pieces, 'ndjson'), `cut at ${cut}`).toBe(NDJSON);
      expect(renderIn(pieces, 'csv', false), `cut at ${cut}`).toBe(CSV);
    }
    expect(renderIn([...COPY_TEXT], 'csv', true)).toBe(CSV_WITH_SYMBOL);
  });

  it('refuses a stream that ends inside a row', () => {
    const r = copyRowRenderer('ndjson', true);
    r.push(Buffer.from(COPY_TEXT.slice(0, -5)));
    expect(() => r.end()).toThrow(/ended inside a row/);
  });
});

describe("renderJsonBars (COPY text rows to a JSON page's bar objects)", () => {
  it('writes the objects without symbols, comma-separated, numerics as stored', () => {
    const bars = NDJSON.trimEnd()
      .split('\n')
      .map((line) => line.replace(/^\{"symbol":"[^"]*",/, '{'))
      .join(',');
    const input = Buffer.from(COPY_TEXT);
    expect(renderJsonBars(input, input.length).toString('utf8')).toBe(bars);
    // Only the rows before `end`; none at all is empty.
    const first = COPY_TEXT.indexOf('\n') + 1;
    expect(renderJsonBars(input, first).toString('utf8')).toBe(
      bars.slice(0, bars.indexOf('},{') + 1),
    );
    expect(renderJsonBars(input, 0).length).toBe(0);
    const zeros = Buffer.from(
      'X\t2024-01-02 03:04:00\t100.0000\t100\t99.5000\t100.0\t0\t0\tf\ttrades\t100.000000\n',
    );
    expect(renderJsonBars(zeros, zeros.length).toString('utf8')).toBe(
      '{"timestamp":"2024-01-02T03:04:00.000Z","open":100.0000,"high":100,"low":99.5000,"close":100.0,' +
        '"volume":0,"trade_count":0,"is_legacy":false,"data_source":"trades","vwap":100.000000}',
    );
  });
});
