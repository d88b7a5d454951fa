import { HttpError } from '@timed/schema/errors';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type ApiErrorCode, invalidParameter } from '../errors.js';
import type { LiveHub } from '../live-hub.js';
import { parseEventId, StreamQuery } from '../live-params.js';

/** `GET /stream?symbols=&leaderboard=`: Server-Sent Events of prices, bars and the leaderboard. */
export function registerStream(app: FastifyInstance, deps: { hub: LiveHub }): void {
  const { hub } = deps;
  // Open streams would keep close() waiting: end them first (clients resume elsewhere).
  app.addHook('preClose', async () => hub.endStreams());
  app.withTypeProvider<ZodTypeProvider>().get(
    '/stream',
    {
      schema: {
        summary: 'Live events (Server-Sent Events)',
        description:
          '`event: price` (as in /live), `event: bar` (a bar as in /bars plus symbol and final: ' +
          'false for the open minute, true once closed), `event: leaderboard` (with ' +
          'leaderboard=up|down, at most once a second). Reconnect with Last-Event-ID to get the ' +
          'closed bars missed. Comment heartbeats every 15 s.',
        tags: ['live'],
        querystring: StreamQuery,
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (q.symbols.length > hub.maxSymbolsPerStream) {
        throw invalidParameter(
          'symbols',
          `at most ${hub.maxSymbolsPerStream} symbols per stream, got ${q.symbols.length}`,
        );
      }
      const header = request.headers['last-event-id'];
      const lastId = (Array.isArray(header) ? header[0] : header) ?? q.last_event_id;
      let resumeMark: number | null = null;
      if (lastId !== undefined && lastId !== '') {
        const mark = parseEventId(lastId);
        if (mark === undefined) {
          throw invalidParameter(
            'Last-Event-ID',
            `is not an id this API sent: ${lastId.slice(0, 40)}`,
          );
        }
        resumeMark = mark;
      }
      if (hub.stats.streams >= hub.maxStreams) {
        throw new HttpError<ApiErrorCode>(
          429,
          'RATE_LIMITED',
          `this API process already serves ${hub.maxStreams} streams (its limit); retry later or use another replica`,
        );
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 1000\n\n');
      hub.openStream(res, q.symbols, q.leaderboard, resumeMark);
    },
  );
}
