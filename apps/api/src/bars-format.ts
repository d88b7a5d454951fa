import { type BarRow, PRICE_BAR_COLUMNS, utcTextToIso } from '@timed/db';

// Bodies are written straight from the database's text (see BarRow): no numbers or Dates are made
// on the way, which is most of what serving a page used to cost.

/** Numeric text as a JSON number: Postgres' decimal text minus trailing fractional zeros. */
export function jsonNumber(text: string): string {
  if (text.indexOf('.') < 0) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  if (text.charCodeAt(end - 1) === 46) end--;
  return end === text.length ? text : text.slice(0, end);
}

function sourceJson(source: string): string {
  // Only two values are ever written; anything else is escaped rather than trusted.
  return source === 'trades' || source === 'mbp-1' ? `"${source}"` : JSON.stringify(source);
}

/** One bar as the API's JSON object (field order of ApiBar; `filled` only on made-up bars). */
export function barJson(r: BarRow): string {
  return (
    `{"timestamp":"${utcTextToIso(r[1])}","open":${jsonNumber(r[2])},"high":${jsonNumber(r[3])},` +
    `"low":${jsonNumber(r[4])},"close":${jsonNumber(r[5])},"volume":${r[6]},"trade_count":${r[7]},` +
    `"is_legacy":${r[8] === 't' ? 'true' : 'false'},"data_source":${sourceJson(r[9])},` +
    `"vwap":${r[10] === null ? 'null' : jsonNumber(r[10])}${r[11] === 't' ? ',"filled":true}' : '}'}`
  );
}

/**
 * One bar of a JSON page without gap filling: as barJson, but numerics keep the database's exact
 * decimal text (as these pages have always been written, and as NDJSON/CSV exports write them).
 */
export function barJsonExact(r: BarRow): string {
  return (
    `{"timestamp":"${utcTextToIso(r[1])}","open":${r[2]},"high":${r[3]},"low":${r[4]},` +
    `"close":${r[5]},"volume":${r[6]},"trade_count":${r[7]},` +
    `"is_legacy":${r[8] === 't' ? 'true' : 'false'},"data_source":${sourceJson(r[9])},` +
    `"vwap":${r[10] === null ? 'null' : r[10]}}`
  );
}

/** One NDJSON line: the JSON bar with its symbol first. */
export function barNdjson(r: BarRow): string {
  return `{"symbol":"${r[0]}",${barJson(r).slice(1)}\n`;
}

/** CSV columns: the stored bar's columns in table order without `symbol` (`filled` with fill=previous). */
export const CSV_COLUMNS = PRICE_BAR_COLUMNS.filter((c) => c !== 'symbol');

/** The CSV header line; many-symbol reads lead with `symbol`. */
export function csvHeader(options: { symbol: boolean; filled: boolean }): string {
  return `${options.symbol ? 'symbol,' : ''}${CSV_COLUMNS.join(',')}${options.filled ? ',filled' : ''}\n`;
}

/** One CSV line; prices keep the database's exact decimal text, an unknown VWAP is empty. */
export function barCsv(r: BarRow, options: { symbol: boolean; filled: boolean }): string {
  // Every field is a number, boolean, ISO time, symbol or enum: nothing needs quoting.
  return (
    `${options.symbol ? `${r[0]},` : ''}${utcTextToIso(r[1])},${r[2]},${r[3]},${r[4]},${r[5]},` +
    `${r[6]},${r[7]},${r[8] === 't' ? 'true' : 'false'},${r[9]},${r[10] ?? ''}` +
    `${options.filled ? (r[11] === 't' ? ',true\n' : ',false\n') : '\n'}`
  );
}
