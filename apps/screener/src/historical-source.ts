import { ScreenerError } from './errors.js';

/** A request for `timeseries.get_range`. */
export interface HistoricalRangeOptions {
  apiKey: string;
  /** Base URL (default https://hist.databento.com). */
  baseUrl: string | undefined;
  dataset: string;
  schema: 'trades' | 'mbp-1';
  symbols: string[] | 'ALL_SYMBOLS';
  start: Date;
  end: Date;
  signal?: AbortSignal;
}

/** The streamed DBN body of a historical request. */
export interface HistoricalRange {
  chunks: AsyncIterable<Uint8Array>;
  /** Content-Length when the server sent one. */
  bytesTotal: number | undefined;
}

/**
 * Streams `timeseries.get_range` (DBN, zstd) for the range. Adapter pending @timed/dbn's
 * Historical client: same request the official clients make (form POST, HTTP Basic).
 */
export async function historicalRange(o: HistoricalRangeOptions): Promise<HistoricalRange> {
  const base = (o.baseUrl ?? 'https://hist.databento.com').replace(/\/+$/, '');
  const body = new URLSearchParams({
    dataset: o.dataset,
    schema: o.schema,
    symbols: o.symbols === 'ALL_SYMBOLS' ? 'ALL_SYMBOLS' : o.symbols.join(','),
    stype_in: 'raw_symbol',
    stype_out: 'instrument_id',
    start: String(BigInt(o.start.getTime()) * 1_000_000n),
    end: String(BigInt(o.end.getTime()) * 1_000_000n),
    encoding: 'dbn',
    compression: 'zstd',
  });
  let res: Response;
  try {
    res = await fetch(`${base}/v0/timeseries.get_range`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${o.apiKey}:`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/octet-stream',
        'user-agent': 'timed-screener/0.1.0',
      },
      body,
      signal: o.signal,
    });
  } catch (err) {
    throw new ScreenerError(
      'SOURCE_FAILED',
      `historical API unreachable at ${base}: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '');
    let detail = text.slice(0, 300);
    try {
      const j = JSON.parse(text) as { detail?: unknown };
      const d = j.detail as { message?: string } | string | undefined;
      detail = typeof d === 'string' ? d : (d?.message ?? detail);
    } catch {
      // not JSON: keep the text
    }
    throw new ScreenerError(
      'SOURCE_FAILED',
      `historical API answered HTTP ${res.status}: ${detail || res.statusText}`,
      { status: res.status, requestId: res.headers.get('request-id') ?? undefined },
    );
  }
  const length = Number(res.headers.get('content-length'));
  const stream = res.body;
  return {
    bytesTotal: Number.isFinite(length) && length > 0 ? length : undefined,
    chunks: (async function* () {
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) yield chunk;
    })(),
  };
}
