import { ErrorBody } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { responseSchema } from '../json-schema.js';
import type { LiveHub } from '../live-hub.js';
import { LeaderboardQuerySchema, LeaderboardResponse } from '../live-params.js';

/** `GET /leaderboard`: symbols ranked by pct_from_yesterday, volume or trade count. */
export function registerLeaderboard(app: FastifyInstance, deps: { hub: LiveHub }): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/leaderboard',
    {
      schema: {
        summary: 'Leaderboard: gainers, losers, most active',
        description:
          'direction=up puts the largest first (sort=pct: biggest gainers; volume: most active), ' +
          'down the smallest (biggest losers). Symbols without a previous close never rank by ' +
          'pct. With TIMED_WORKER_URL set, rows carry the TradingView state and scores.',
        tags: ['live'],
        querystring: LeaderboardQuerySchema,
        response: { 200: responseSchema(LeaderboardResponse), 400: responseSchema(ErrorBody) },
      },
    },
    async (request) => deps.hub.leaderboard(request.query),
  );
}
