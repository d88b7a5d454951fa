import { type Db, DbError, decodeBarsCursor, queryBarsAtInterval } from '@timed/db';
import { BarsQuery, BarsResponse, ErrorBody } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { BarsPageCache } from '../bars-cache.js';
import { barsToCsv } from '../bars-csv.js';
import { invalidParameter } from '../errors.js';
import { responseSchema } from '../json-schema.js';
import { BarsParams } from '../schemas.js';

const barsJson = responseSchema(BarsResponse, 'Bars in ascending time; CSV with format=csv');
const errorJson = responseSchema(ErrorBody);

/** `GET /bars/:symbol`: a page of bars (1m stored, or aggregated in SQL), JSON or CSV. */
export function registerBars(app: FastifyInstance, deps: { db: Db; cache: BarsPageCache }): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/bars/:symbol',
    {
      schema: {
        summary: 'Bars of one symbol',
        description:
          'OHLCV bars in ascending time. start/end are inclusive (a date alone is that UTC day). ' +
          'Legacy (MBP-1) bars are hidden unless include_legacy=true. Page with next_cursor. ' +
          'format=csv answers text/csv with the same columns and the cursor in X-Next-Cursor.',
        tags: ['bars'],
        params: BarsParams,
        querystring: BarsQuery,
        response: { 200: barsJson, 400: errorJson, 503: errorJson },
      },
    },
    async (request, reply) => {
      const { symbol } = request.params;
      const q = request.query;
      if (q.cursor !== undefined) {
        try {
          decodeBarsCursor(q.cursor);
        } catch (err) {
          if (err instanceof DbError) throw invalidParameter('cursor', err.message, err);
          throw err;
        }
      }
      const options = {
        symbol,
        start: q.start,
        end: q.end,
        includeLegacy: q.include_legacy,
        limit: q.limit,
        cursor: q.cursor,
        interval: q.interval,
      };
      const key = [
        symbol,
        q.start?.getTime(),
        q.end?.getTime(),
        q.include_legacy,
        q.limit,
        q.cursor,
        q.interval,
      ].join('|');
      const page = await deps.cache.get(key, () => queryBarsAtInterval(deps.db, options));
      if (q.format === 'csv') {
        if (page.nextCursor) reply.header('x-next-cursor', page.nextCursor);
        page.csv ??= barsToCsv(page.bars);
        return reply.type('text/csv; charset=utf-8').send(page.csv);
      }
      // Rows go to the route's compiled serializer as they are (numeric text -> JSON numbers,
      // Date -> ISO); the body is kept with the page, as bytes, so a cached page is serialised and encoded once.
      page.json ??= Buffer.from(
        reply.serialize({ symbol, bars: page.bars, next_cursor: page.nextCursor }) as string,
      );
      return reply.type('application/json; charset=utf-8').send(page.json);
    },
  );
}
