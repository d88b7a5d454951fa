import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type BarRow,
  type BarsPosition,
  barsReadSql,
  copyJsonPage,
  copyRenderedBars,
  type Db,
  DbError,
  decodeBarsPosition,
  encodeBarsPosition,
  GapFiller,
  type ReadBarsOptions,
  readBarRows,
  streamBarRows,
  utcTextToDate,
} from '@timed/db';
import {
  type BarsQuery,
  BarsQuery as BarsQuerySchema,
  BarsResponse,
  DEFAULT_BARS_LIMIT,
  ErrorBody,
  MAX_BARS_LIMIT,
  MultiBarsQuery,
  MultiBarsResponse,
} from '@timed/schema';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { BarsPage, BarsPageCache } from '../bars-cache.js';
import { barCsv, barJson, barJsonExact, barNdjson, csvHeader } from '../bars-format.js';
import { invalidParameter } from '../errors.js';
import { responseSchema } from '../json-schema.js';
import { BarsParams } from '../schemas.js';
import { barsExamples, multiBarsExamples } from './bars-examples.js';

const errorJson = responseSchema(ErrorBody);
const errors = { 400: errorJson, 404: errorJson, 429: errorJson, 503: errorJson };

/** How long a client or proxy may reuse a closed range's answer before revalidating (ETag). */
export const CLOSED_RANGE_MAX_AGE_S = 60;
/** Rows per database read of a streamed export (memory holds about one chunk). */
export const EXPORT_CHUNK_ROWS = 10_000;

export interface BarsDeps {
  db: Db;
  cache: BarsPageCache;
  /** The clock that decides which minute is open (default Date.now). */
  now?: () => number;
}

type Query = Omit<BarsQuery, 'limit'> & { limit?: number };

/** `GET /bars/:symbol` and `GET /bars?symbols=`: pages (JSON, NDJSON, CSV) or whole-range streams. */
export function registerBars(app: FastifyInstance, deps: BarsDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    '/bars/:symbol',
    {
      schema: {
        summary: 'Bars of one symbol',
        description:
          'OHLCV bars (with VWAP) in ascending time. start/end are inclusive (a date alone is that UTC ' +
          'day). Legacy (MBP-1) bars are hidden unless include_legacy=true. JSON pages hold ' +
          `${DEFAULT_BARS_LIMIT.toLocaleString('en-US')} bars unless limit says otherwise (at most ` +
          `${MAX_BARS_LIMIT.toLocaleString('en-US')}); page with next_cursor. format=ndjson|csv without ` +
          'limit streams the whole range; with limit they are pages, the cursor in X-Next-Cursor. ' +
          `A range ending before the open minute has an ETag and Cache-Control max-age=${CLOSED_RANGE_MAX_AGE_S}; ` +
          'one that includes it is no-store.',
        tags: ['bars'],
        params: BarsParams,
        querystring: BarsQuerySchema,
        response: {
          200: { ...responseSchema(BarsResponse, 'Bars in ascending time'), ...barsExamples },
          ...errors,
        },
      },
    },
    (request, reply) => serve(deps, request, reply, [request.params.symbol], request.query, false),
  );
  typed.get(
    '/bars',
    {
      schema: {
        summary: 'Bars of many symbols',
        description:
          "Up to 100 symbols in one request, Alpaca's shape: bars per symbol (symbols without bars " +
          'are absent), ordered by symbol then time, one next_cursor for the whole set. Every other ' +
          'parameter as in /bars/{symbol}; ndjson and csv rows carry the symbol.',
        tags: ['bars'],
        querystring: MultiBarsQuery,
        response: {
          200: { ...responseSchema(MultiBarsResponse, 'Bars per symbol'), ...multiBarsExamples },
          ...errors,
        },
      },
    },
    (request, reply) => serve(deps, request, reply, request.query.symbols, request.query, true),
  );
}

/** The position a cursor names, checked against the request it comes back with. */
function cursorPosition(cursor: string | undefined, symbols: readonly string[], many: boolean) {
  if (cursor === undefined) return undefined;
  let position: BarsPosition;
  try {
    position = decodeBarsPosition(cursor);
  } catch (err) {
    if (err instanceof DbError) throw invalidParameter('cursor', err.message, err);
    throw err;
  }
  if (many ? position.symbol === undefined : position.symbol !== undefined) {
    throw invalidParameter('cursor', `is a cursor of ${many ? '/bars/{symbol}' : '/bars'}`);
  }
  if (position.symbol !== undefined && !symbols.includes(position.symbol)) {
    throw invalidParameter('cursor', `names ${position.symbol}, which symbols does not hold`);
  }
  return position;
}

async function serve(
  deps: BarsDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  symbols: readonly string[],
  q: Query,
  many: boolean,
) {
  const position = cursorPosition(q.cursor, symbols, many);
  const read: Omit<ReadBarsOptions, 'limit'> = {
    symbols,
    start: q.start,
    end: q.end,
    includeLegacy: q.include_legacy,
    interval: q.interval,
    session: q.session,
    after: position,
  };
  const seed =
    q.fill === 'previous' && position?.previous
      ? {
          symbol: position.symbol ?? symbols[0]!,
          timestamp: position.timestamp,
          ...position.previous,
        }
      : undefined;
  // A range that ends before the open minute does not change unless bars are rewritten.
  const openMinute = Math.floor((deps.now ?? Date.now)() / 60_000) * 60_000;
  const closed = q.end !== undefined && q.end.getTime() < openMinute;
  reply.header('cache-control', closed ? `public, max-age=${CLOSED_RANGE_MAX_AGE_S}` : 'no-store');

  if (q.format !== 'json' && q.limit === undefined) {
    return streamExport(deps, request, reply, read, q, many, seed);
  }
  const limit = q.limit ?? DEFAULT_BARS_LIMIT;
  // The key is only built when there is a cache to look in; one format per key, so a page drops
  // its rows once its body is written.
  const key = deps.cache.enabled
    ? [
        q.format,
        symbols.join(','),
        many,
        q.start?.getTime(),
        q.end?.getTime(),
        q.include_legacy,
        limit,
        q.cursor,
        q.interval,
        q.session,
        q.fill,
      ].join('|')
    : '';
  const page = await deps.cache.get(key, () =>
    q.format === 'json' && q.fill === 'none' && !many
      ? loadJsonPage(deps.db, { ...read, limit }, symbols[0]!)
      : loadPage(
          deps.db,
          { ...read, limit },
          q.fill === 'previous' ? (seed ?? null) : undefined,
          many,
        ),
  );
  const body = pageBody(page, q, symbols, many);
  if (page.nextCursor && q.format !== 'json') reply.header('x-next-cursor', page.nextCursor);
  reply.type(CONTENT_TYPES[q.format]);
  if (closed) {
    body.etag ??= `"${hash('sha1', body.bytes, 'base64url')}"`;
    const etag = body.etag;
    reply.header('etag', etag);
    if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
  }
  return reply.send(body.bytes);
}

const CONTENT_TYPES = {
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
} as const;

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * Reads one page: `limit` + 1 rows tell whether another page follows. With fill (seed is then
 * given, or null), made-up bars count toward the page like real ones.
 */
async function loadPage(
  db: Db,
  options: ReadBarsOptions,
  seed: ConstructorParameters<typeof GapFiller>[2] | null | undefined,
  many: boolean,
): Promise<BarsPage> {
  const rows = await readBarRows(db, { ...options, limit: options.limit + 1 });
  let out = rows;
  if (seed !== undefined) {
    out = [];
    const filler = new GapFiller(options.interval, options.session ?? 'all', seed ?? undefined);
    const take = (r: BarRow) => out.push(r) <= options.limit;
    for (const r of rows) if (!filler.push(r, take)) break;
  }
  const more = out.length > options.limit;
  if (more) out.length = options.limit;
  const last = out[out.length - 1];
  const nextCursor =
    more && last
      ? encodeBarsPosition({
          symbol: many ? last[0] : undefined,
          timestamp: utcTextToDate(last[1]),
          // A filled bar repeats the previous close and origin, so the last bar serves either way.
          previous:
            seed !== undefined
              ? { close: last[5], isLegacy: last[8] === 't', dataSource: last[9] as 'trades' }
              : undefined,
        })
      : null;
  return { count: out.length, rows: out, nextCursor, bodies: {} };
}

/**
 * A JSON page of one symbol without fill, read by COPY and rendered from its bytes (as exports
 * are): the body is written at once, no text rows are made. The same bytes as loadPage + pageBody.
 */
async function loadJsonPage(db: Db, options: ReadBarsOptions, symbol: string): Promise<BarsPage> {
  const { text } = barsReadSql({ ...options, limit: options.limit + 1 }, true);
  const { bars, count, last, more } = await copyJsonPage(db, text, options.limit);
  const nextCursor =
    more && last ? encodeBarsPosition({ timestamp: utcTextToDate(last.utc) }) : null;
  const bytes = Buffer.concat([
    Buffer.from(`{"symbol":"${symbol}","bars":[`),
    bars,
    Buffer.from(`],"next_cursor":${nextCursor === null ? 'null' : `"${nextCursor}"`}}`),
  ]);
  return { count, nextCursor, bodies: { json: { bytes } } };
}

/** The page's body in the asked format, rendered once per page (the micro-cache keeps it). */
function pageBody(page: BarsPage, q: Query, symbols: readonly string[], many: boolean) {
  const cached = page.bodies[q.format];
  if (cached) return cached;
  const rows = page.rows ?? [];
  let text: string;
  if (q.format === 'csv') {
    const opts = { symbol: many, filled: q.fill === 'previous' };
    text = csvHeader(opts) + rows.map((r) => barCsv(r, opts)).join('');
  } else if (q.format === 'ndjson') {
    text = rows.map(barNdjson).join('');
  } else {
    const cursor = page.nextCursor === null ? 'null' : `"${page.nextCursor}"`;
    const bar = q.fill === 'none' ? barJsonExact : barJson;
    if (!many) {
      text = `{"symbol":"${symbols[0]}","bars":[${rows.map(bar).join(',')}],"next_cursor":${cursor}}`;
    } else {
      const parts: string[] = [];
      for (let i = 0; i < rows.length; ) {
        let j = i;
        while (j < rows.length && rows[j]![0] === rows[i]![0]) j++;
        parts.push(`"${rows[i]![0]}":[${rows.slice(i, j).map(bar).join(',')}]`);
        i = j;
      }
      text = `{"bars":{${parts.join(',')}},"next_cursor":${cursor}}`;
    }
  }
  const body = { bytes: Buffer.from(text) } as { bytes: Buffer; etag?: string };
  page.bodies[q.format] = body;
  // Every request sharing this page asks for this format (it is part of the cache key).
  page.rows = undefined;
  return body;
}

/**
 * format=ndjson|csv without limit: the whole range, read in chunks on one connection and written as
 * the client takes it (back-pressure), so memory holds about one chunk. A client that goes away
 * aborts the read and cancels the query in flight.
 */
async function streamExport(
  deps: BarsDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  read: Omit<ReadBarsOptions, 'limit'>,
  q: Query,
  many: boolean,
  seed: ConstructorParameters<typeof GapFiller>[2],
) {
  const abort = new AbortController();
  if (q.fill === 'none') {
    const copy = await copyRenderedBars(
      deps.db,
      read,
      q.format as 'ndjson' | 'csv',
      abort.signal,
      q.format === 'ndjson' || many,
    );
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const header = q.format === 'csv' ? csvHeader({ symbol: many, filled: false }) : '';
    async function* copyBody() {
      if (header) yield Buffer.from(header);
      yield* copy;
    }
    return reply
      .type(CONTENT_TYPES[q.format])
      .send(Readable.from(copyBody(), { objectMode: false }));
  }
  const chunks = streamBarRows(deps.db, read, abort.signal, EXPORT_CHUNK_ROWS);
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
    // Releases the connection even when the body never started to flow.
    void chunks.return(undefined).catch(() => {});
  });
  // The first chunk is read before any header goes out, so a database failure is still a clean 503.
  const first = await chunks.next();
  const csv = { symbol: many, filled: q.fill === 'previous' };
  const line = q.format === 'csv' ? (r: BarRow) => barCsv(r, csv) : barNdjson;
  const filler =
    q.fill === 'previous' ? new GapFiller(read.interval, read.session ?? 'all', seed) : undefined;
  const render = (rows: BarRow[]) => {
    if (!filler) return rows.map(line).join('');
    const out: string[] = [];
    for (const r of rows) filler.push(r, (x) => out.push(line(x)) > 0);
    return out.join('');
  };
  async function* body() {
    if (q.format === 'csv') yield Buffer.from(csvHeader(csv));
    if (first.done) return;
    yield Buffer.from(render(first.value));
    for await (const rows of chunks) yield Buffer.from(render(rows));
  }
  request.log.debug({ format: q.format }, 'streaming export');
  return reply.type(CONTENT_TYPES[q.format]).send(Readable.from(body(), { objectMode: false }));
}
