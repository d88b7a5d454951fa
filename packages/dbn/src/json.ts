import { flagNames } from './constants.js';
import { priceToDecimal } from './fields.js';
import type { Metadata } from './metadata.js';
import type { DbnRecord } from './records.js';

const PRICE_FIELDS = new Set(['price', 'open', 'high', 'low', 'close', 'bid_px', 'ask_px']);

function convert(key: string, value: unknown, out: Record<string, unknown>): void {
  if (typeof value === 'bigint') {
    out[key] = value.toString();
    if (PRICE_FIELDS.has(key)) out[`${key}_decimal`] = priceToDecimal(value);
  } else if (Array.isArray(value)) {
    out[key] = value.map((v) => {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as object)) convert(k, x, o);
      return o;
    });
  } else if (value instanceof Uint8Array) {
    out[key] = Buffer.from(value).toString('hex');
  } else {
    out[key] = value;
  }
  if (key === 'flags' && typeof value === 'number') out.flags_names = flagNames(value);
}

/**
 * JSON-ready view of a record: DBN field names, 64-bit integers as strings, prices also as
 * `<field>_decimal` (null for UNDEF_PRICE), `flags_names`, and `symbol` when given.
 */
export function recordToJson(rec: DbnRecord, symbol?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) convert(k, v, out);
  if (symbol !== undefined) out.symbol = symbol;
  return out;
}

/** JSON-ready view of metadata (64-bit integers as strings). */
export function metadataToJson(md: Metadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(md)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out;
}
