/** Every KV key this Worker reads or writes (contract: shared/docs/architecture.md). */
export const KEYS = {
  dataVersion: 'timed:data_version',
  tickers: 'timed:tickers',
  latest: (ticker: string) => `timed:latest:${ticker}`,
  trail: (ticker: string) => `timed:trail:${ticker}`,
  momentum: (ticker: string) => `timed:momentum:${ticker}`,
  prevstate: (ticker: string) => `timed:prevstate:${ticker}`,
  archive: (version: string, epochMs: number) => `timed:archive:${version}:${epochMs}`,
  archivePrefix: 'timed:archive:',
} as const;

/** Per-ticker key prefixes a purge walks, in this order. */
export const TICKER_PREFIXES = [
  'timed:latest:',
  'timed:trail:',
  'timed:momentum:',
  'timed:prevstate:',
] as const;

/** KV metadata carried by every value we write: the data version it belongs to. */
export interface ValueMeta {
  /** Data version (the payload's script_version, or S for index/version/archive values). */
  v: string;
  /** Event time of the payload (epoch ms), when the value holds one. */
  ts?: number;
  /** For timed:tickers: the newest ingest time (epoch ms). */
  lastIngestMs?: number;
  /** For timed:tickers: how many tickers the index holds. */
  count?: number;
}

/** The ticker a per-ticker key belongs to, or undefined for other keys. */
export function tickerOfKey(key: string): string | undefined {
  for (const prefix of TICKER_PREFIXES) {
    if (key.startsWith(prefix)) return key.slice(prefix.length);
  }
  return undefined;
}

/** Reads our metadata shape from whatever KV returned (legacy values have none). */
export function asValueMeta(metadata: unknown): ValueMeta | null {
  if (typeof metadata !== 'object' || metadata === null) return null;
  const v = (metadata as { v?: unknown }).v;
  return typeof v === 'string' ? (metadata as ValueMeta) : null;
}
