import { HistoricalError } from './errors.js';
import { DbnRecordStream } from './read.js';

/** Options of HistoricalClient. */
export interface HistoricalClientOptions {
  apiKey: string;
  /** Default `https://hist.databento.com`. */
  baseUrl?: string;
  /** Injected fetch (default global fetch). */
  fetch?: typeof fetch;
  userAgent?: string;
}

/** Parameters of timeseries.get_range. */
export interface GetRangeParams {
  dataset: string;
  schema: string;
  /** Symbols (comma-joined on the wire) or `ALL_SYMBOLS`. */
  symbols: string[] | 'ALL_SYMBOLS';
  /** Inclusive; UNIX ns (bigint), ISO-8601 string or Date. */
  start: bigint | string | Date;
  /** Exclusive; same formats. */
  end?: bigint | string | Date;
  stypeIn?: string;
  stypeOut?: string;
  limit?: number;
  /** Default `zstd` (the body is decompressed transparently). */
  compression?: 'zstd' | 'none';
}

function timeParam(t: bigint | string | Date): string {
  if (typeof t === 'bigint') return t.toString();
  if (t instanceof Date) return (BigInt(t.getTime()) * 1_000_000n).toString();
  return t;
}

function describeBody(text: string): { message: string; case?: string } {
  try {
    const body = JSON.parse(text) as { detail?: unknown };
    const d = body.detail;
    if (typeof d === 'string') return { message: d };
    if (d && typeof d === 'object') {
      const o = d as { message?: unknown; case?: unknown };
      return {
        message: typeof o.message === 'string' ? o.message : JSON.stringify(d),
        case: typeof o.case === 'string' ? o.case : undefined,
      };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.trim().slice(0, 500) || '(empty body)' };
}

/** Databento Historical API client (HTTP Basic auth with the key, form-encoded POSTs). */
export class HistoricalClient {
  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly userAgent: string;

  constructor(options: HistoricalClientOptions) {
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? 'https://hist.databento.com').replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? fetch;
    this.userAgent = options.userAgent ?? 'timed-dbn/0.1.0 node';
  }

  /**
   * Stream `timeseries.get_range` as records. Iterating throws HistoricalError for 4xx/5xx
   * answers (with the server's `detail`) and DbnError for a corrupt body.
   */
  timeseriesGetRange(params: GetRangeParams): DbnRecordStream {
    const form = new URLSearchParams();
    form.set('dataset', params.dataset);
    form.set('schema', params.schema);
    form.set(
      'symbols',
      params.symbols === 'ALL_SYMBOLS' ? 'ALL_SYMBOLS' : params.symbols.join(','),
    );
    form.set('start', timeParam(params.start));
    if (params.end !== undefined) form.set('end', timeParam(params.end));
    form.set('stype_in', params.stypeIn ?? 'raw_symbol');
    form.set('stype_out', params.stypeOut ?? 'instrument_id');
    form.set('encoding', 'dbn');
    form.set('compression', params.compression ?? 'zstd');
    if (params.limit !== undefined) form.set('limit', String(params.limit));
    return new DbnRecordStream(this.post('/v0/timeseries.get_range', form));
  }

  private async *post(path: string, form: URLSearchParams): AsyncGenerator<Uint8Array> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${this.apiKey}:`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/octet-stream',
          'user-agent': this.userAgent,
        },
        body: form.toString(),
      });
    } catch (err) {
      throw new HistoricalError('NETWORK_ERROR', `POST ${url} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const requestId = res.headers.get('request-id') ?? undefined;
    if (res.status >= 400) {
      const text = await res.text().catch(() => '');
      const { message, case: c } = describeBody(text);
      throw new HistoricalError(
        `HTTP_${res.status}`,
        `Databento ${path} answered ${res.status}: ${message}${c ? ` (${c})` : ''}${requestId ? ` [request-id ${requestId}]` : ''}`,
        { status: res.status, case: c, requestId, body: text },
      );
    }
    if (!res.body) return;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) yield chunk;
  }
}
