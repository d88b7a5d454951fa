import { createHash } from 'node:crypto';

/** CRAM response: sha256hex(challenge + '|' + key) + '-' + last 5 chars of the key. */
export function cramResponse(challenge: string, apiKey: string): string {
  const hash = createHash('sha256').update(`${challenge}|${apiKey}`, 'utf8').digest('hex');
  return `${hash}-${apiKey.slice(-5)}`;
}

/** Parse a control line `k=v|k=v` (lenient: unknown keys kept, split on the first `=`). */
export function parseControlLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of line.replace(/\r$/, '').split('|')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    if (i < 0) out[part] = '';
    else out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** Format a control line from ordered key/value pairs, with the trailing newline. */
export function formatControlLine(pairs: Array<[string, string | number]>): string {
  return `${pairs.map(([k, v]) => `${k}=${v}`).join('|')}\n`;
}

/** One subscription of a Live session. */
export interface LiveSubscription {
  /** Schema name, e.g. `trades`, `mbp-1`. */
  schema: string;
  /** Symbols, or `ALL_SYMBOLS`. */
  symbols: string[] | 'ALL_SYMBOLS';
  /** Default `raw_symbol`. */
  stypeIn?: string;
  /** Intraday replay start: UNIX ns or ISO-8601 string. */
  start?: bigint | string;
  /** MBO snapshot. */
  snapshot?: boolean;
}

export const SYMBOLS_PER_LINE = 500;

/** Subscription request lines for one subscription, in chunks of 500 symbols. */
export function subscriptionLines(sub: LiveSubscription, id: number): string[] {
  const symbols = sub.symbols === 'ALL_SYMBOLS' ? ['ALL_SYMBOLS'] : sub.symbols;
  const chunks: string[][] = [];
  for (let i = 0; i < symbols.length; i += SYMBOLS_PER_LINE) {
    chunks.push(symbols.slice(i, i + SYMBOLS_PER_LINE));
  }
  if (chunks.length === 0) chunks.push([]);
  return chunks.map((chunk, i) => {
    const pairs: Array<[string, string | number]> = [
      ['schema', sub.schema],
      ['stype_in', sub.stypeIn ?? 'raw_symbol'],
      ['symbols', chunk.join(',')],
    ];
    if (sub.start !== undefined) pairs.push(['start', sub.start.toString()]);
    if (sub.snapshot) pairs.push(['snapshot', 1]);
    pairs.push(['id', id], ['is_last', i === chunks.length - 1 ? 1 : 0]);
    return formatControlLine(pairs);
  });
}

/** Default gateway address for a dataset: `<dataset lowercased, . -> ->.lsg.databento.com:13000`. */
export function defaultGateway(dataset: string): { host: string; port: number } {
  return { host: `${dataset.toLowerCase().replace(/\./g, '-')}.lsg.databento.com`, port: 13000 };
}

/** Parse `host:port` (IPv6 in brackets allowed). */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s.trim());
  if (!m) throw new RangeError(`bad gateway address "${s}", expected host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Clock and timers used by the Live client (inject for tests). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
