/**
 * Exports render bars from COPY's own bytes: Postgres streams barsReadSql's columns in COPY's text
 * format (tab-separated, one row a line, NULL as \N), which costs it little more than a plain COPY
 * of the table, and this turns each chunk into NDJSON or CSV lines byte by byte: no strings, no
 * objects per row. Having Postgres concatenate the lines instead made it the bottleneck (its
 * per-row string building took longer than the whole plain COPY).
 *
 * The columns: symbol, 'YYYY-MM-DD HH:MM:SS' (UTC, whole minutes), open, high, low, close, volume,
 * trade_count, is_legacy (t|f), data_source, vwap (or \N). Values hold no tab, newline or
 * backslash (symbols are [A-Z0-9._/-], numbers and times are digits), so nothing is escaped.
 */

import { to as copyTo } from 'pg-copy-streams';
import { type Db, poolOf } from './database.js';

/** What each line becomes: NDJSON (the symbol always in it) or CSV (symbol column optional). */
export type CopyRender = 'ndjson' | 'csv';

const TAB = 9;
const NL = 10;
const SPACE = 32;
const BACKSLASH = 92;
const T = 116;

const bytes = (s: string) => Buffer.from(s, 'latin1');

// NDJSON pieces: the text before each column's value (symbol, time, open ... vwap) and after the
// last; is_legacy and a missing VWAP are written whole.
const ND = [
  '{"symbol":"',
  '","timestamp":"',
  '.000Z","open":',
  ',"high":',
  ',"low":',
  ',"close":',
  ',"volume":',
  ',"trade_count":',
  ',"is_legacy":',
  ',"data_source":"',
  '","vwap":',
].map(bytes);
const TRUE = bytes('true');
const FALSE = bytes('false');
const NULL = bytes('null');
const ISO_MS = bytes('.000Z');
const ND_END = bytes('}\n');
/** Most bytes a line grows by (every piece, the longer boolean and null; CSV grows less). */
const GROWTH = ND.reduce((n, b) => n + b.length, 0) + FALSE.length + NULL.length + ND_END.length;

/**
 * A stateful renderer of one COPY stream: feed it the stream's chunks in order (a row may be split
 * between chunks; the rest is kept for the next), get the rendered bytes of the whole rows so far.
 * `end()` checks nothing was left half-read.
 */
export function copyRowRenderer(
  render: CopyRender,
  withSymbol: boolean,
): { push(chunk: Buffer): Buffer; end(): void } {
  let rest: Buffer | undefined;
  return {
    push(chunk: Buffer): Buffer {
      const input = rest ? Buffer.concat([rest, chunk]) : chunk;
      const last = input.lastIndexOf(NL);
      rest = last + 1 < input.length ? input.subarray(last + 1) : undefined;
      if (last < 0) return Buffer.alloc(0);
      let lines = 0;
      for (let i = input.indexOf(NL); i >= 0 && i <= last; i = input.indexOf(NL, i + 1)) lines++;
      const out = Buffer.allocUnsafe(last + 1 + lines * GROWTH);
      const n =
        render === 'ndjson'
          ? renderNdjson(input, last + 1, out)
          : renderCsv(input, last + 1, out, withSymbol);
      return out.subarray(0, n);
    },
    end(): void {
      if (rest) throw new Error(`COPY stream ended inside a row (${rest.length} bytes left)`);
    },
  };
}

function put(piece: Buffer, out: Buffer, o: number): number {
  for (let k = 0; k < piece.length; k++) out[o++] = piece[k]!;
  return o;
}

/** True when the field at `i` is \N (NULL). */
const isNull = (input: Buffer, i: number) =>
  input[i] === BACKSLASH && input[i + 1] === 78 && (input[i + 2] === TAB || input[i + 2] === NL);

// Both renderers walk the row column by column; `i` always rests on the column's first byte and
// leaves past the tab (or newline) that ends it. Plain fields are copied until that separator.

function renderNdjson(input: Buffer, end: number, out: Buffer): number {
  let i = 0;
  let o = 0;
  while (i < end) {
    for (let col = 0; col < 11; col++) {
      o = put(ND[col]!, out, o);
      let b = input[i]!;
      if (col === 1) {
        // 'YYYY-MM-DD HH:MM:SS' -> 'YYYY-MM-DDTHH:MM:SS'; '.000Z' starts the next piece.
        while (b !== TAB) {
          out[o++] = b === SPACE ? 84 : b;
          b = input[++i]!;
        }
      } else if (col === 8) {
        o = put(b === T ? TRUE : FALSE, out, o);
        i++;
      } else if (col === 10 && isNull(input, i)) {
        o = put(NULL, out, o);
        i += 2;
      } else {
        while (b !== TAB && b !== NL) {
          out[o++] = b;
          b = input[++i]!;
        }
      }
      i++;
    }
    o = put(ND_END, out, o);
  }
  return o;
}

function renderCsv(input: Buffer, end: number, out: Buffer, withSymbol: boolean): number {
  let i = 0;
  let o = 0;
  while (i < end) {
    for (let col = 0; col < 11; col++) {
      let b = input[i]!;
      if (col === 0 && !withSymbol) {
        while (b !== TAB) b = input[++i]!;
        i++;
        continue;
      }
      if (col === 1) {
        while (b !== TAB) {
          out[o++] = b === SPACE ? 84 : b;
          b = input[++i]!;
        }
        o = put(ISO_MS, out, o);
      } else if (col === 8) {
        o = put(b === T ? TRUE : FALSE, out, o);
        i++;
      } else if (col === 10 && isNull(input, i)) {
        i += 2;
      } else {
        while (b !== TAB && b !== NL) {
          out[o++] = b;
          b = input[++i]!;
        }
      }
      i++;
      out[o++] = col === 10 ? NL : 44;
    }
  }
  return o;
}

// JSON page pieces: as NDJSON's without the symbol (the page names it once) or the newline.
const JS = ND.slice(1).map((b, i) => (i === 0 ? bytes('{"timestamp":"') : b));
const JS_END = bytes('}');
const JS_GROWTH = JS.reduce((n, b) => n + b.length, 0) + FALSE.length + NULL.length + 2;

/**
 * Renders whole COPY rows (input[0, end) ends on a newline) as the JSON bar objects of a page,
 * comma-separated, without symbols: the bytes barJsonExact's objects joined by ',' would make
 * (numerics keep the database's exact decimal text).
 */
export function renderJsonBars(input: Buffer, end: number): Buffer {
  let lines = 0;
  for (let i = input.indexOf(NL); i >= 0 && i < end; i = input.indexOf(NL, i + 1)) lines++;
  const out = Buffer.allocUnsafe(end + lines * JS_GROWTH);
  let i = 0;
  let o = 0;
  while (i < end) {
    if (o > 0) out[o++] = 44;
    // The symbol is skipped.
    while (input[i] !== TAB) i++;
    i++;
    for (let col = 1; col < 11; col++) {
      o = put(JS[col - 1]!, out, o);
      let b = input[i]!;
      if (col === 1) {
        while (b !== TAB) {
          out[o++] = b === SPACE ? 84 : b;
          b = input[++i]!;
        }
      } else if (col === 8) {
        o = put(b === T ? TRUE : FALSE, out, o);
        i++;
      } else if (col === 10 && isNull(input, i)) {
        o = put(NULL, out, o);
        i += 2;
      } else {
        while (b !== TAB && b !== NL) {
          out[o++] = b;
          b = input[++i]!;
        }
      }
      i++;
    }
    o = put(JS_END, out, o);
  }
  return out.subarray(0, o);
}

/** One page read by COPY: its bars as JSON objects, how many, and where it ended. */
export interface CopyJsonPage {
  /** The bar objects joined by ',' (no brackets). */
  bars: Buffer;
  count: number;
  /** The last bar on the page: its symbol and 'YYYY-MM-DD HH:MM:SS' (UTC) time. */
  last: { symbol: string; utc: string } | undefined;
  /** More rows than `limit` came back: another page follows. */
  more: boolean;
}

/**
 * Reads a JSON page by `COPY (<select>) TO STDOUT` and renders it from COPY's bytes (no strings or
 * arrays per row, which is most of what a parsed row query costs Node). `select` must return
 * barsReadSql's columns with LIMIT `limit` + 1, the extra row only telling whether a page follows.
 */
export async function copyJsonPage(db: Db, select: string, limit: number): Promise<CopyJsonPage> {
  const client = await poolOf(db).connect();
  const chunks: Buffer[] = [];
  try {
    const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
  client.release();
  const input = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  // The end of the page: after its `limit`-th line, or the whole input.
  let end = 0;
  let count = 0;
  while (count < limit && end < input.length) {
    const nl = input.indexOf(NL, end);
    if (nl < 0)
      throw new Error(`COPY stream ended inside a row (${input.length - end} bytes left)`);
    end = nl + 1;
    count++;
  }
  const more = end < input.length;
  let last: CopyJsonPage['last'];
  if (count > 0) {
    const start = input.lastIndexOf(NL, end - 2) + 1;
    const tab = input.indexOf(TAB, start);
    last = {
      symbol: input.toString('latin1', start, tab),
      utc: input.toString('latin1', tab + 1, input.indexOf(TAB, tab + 1)),
    };
  }
  return { bars: renderJsonBars(input, end), count, last, more };
}
