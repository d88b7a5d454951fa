import { ErrorBody } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { responseSchema } from '../json-schema.js';
import type { LiveHub } from '../live-hub.js';
import { LiveQuery, LiveResponse } from '../live-params.js';

/** `GET /live?symbols=`: the latest live state per symbol, from memory (no database read). */
export function registerLive(app: FastifyInstance, deps: { hub: LiveHub }): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/live',
    {
      schema: {
        summary: 'Live prices',
        description:
          'Last price, bid/ask (= price for trades), pct_from_yesterday = (price − prev_close) / ' +
          'prev_close × 100 and the session day figures, as the screener publishes them. Symbols ' +
          'without live state are left out.',
        tags: ['live'],
        querystring: LiveQuery,
        response: { 200: responseSchema(LiveResponse), 400: responseSchema(ErrorBody) },
      },
    },
    async (request) => ({ prices: deps.hub.prices(request.query.symbols) }),
  );
}
