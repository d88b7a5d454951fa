import { type Db, newestBarPerSource, pingDb, screenerHeartbeats } from '@timed/db';
import type { FastifyInstance } from 'fastify';
import { isDbUnavailable } from '../errors.js';
import { responseSchema } from '../json-schema.js';
import { HealthResponse } from '../schemas.js';

const healthJson = responseSchema(HealthResponse);

/** Problems an operator must act on, from the alive screeners. */
function screenerProblems(alive: { instance_id: string; dataset: string; schema: string }[]) {
  const problems: string[] = [];
  if (alive.length === 0) problems.push('no screener is alive (no heartbeat in the last 30 s)');
  const byFeed = new Map<string, string[]>();
  for (const s of alive) {
    const key = `${s.dataset}/${s.schema}`;
    byFeed.set(key, [...(byFeed.get(key) ?? []), s.instance_id]);
  }
  for (const [feed, ids] of byFeed) {
    if (ids.length > 1) {
      problems.push(
        `${ids.length} screeners alive for ${feed} (${ids.join(', ')}): duplicate scanners write the same bars; stop all but one`,
      );
    }
  }
  return problems;
}

/** `GET /health`: database reachable, newest bar per data_source, screener heartbeats. */
export function registerHealth(
  app: FastifyInstance,
  deps: { db: Db; retryAfterSeconds: number },
): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Health of the API, its database and the screeners',
        description:
          '200 with status ok or degraded (problems listed, e.g. duplicate screeners); ' +
          '503 with status down while the database is unreachable.',
        tags: ['operations'],
        response: { 200: healthJson, 503: healthJson },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      try {
        const now = await pingDb(deps.db);
        const latency = Math.round((performance.now() - started) * 100) / 100;
        const [newest, screeners] = await Promise.all([
          newestBarPerSource(deps.db),
          screenerHeartbeats(deps.db),
        ]);
        const problems = screenerProblems(screeners.filter((s) => s.alive));
        return {
          status: problems.length ? 'degraded' : 'ok',
          time: now,
          database: { reachable: true, latency_ms: latency, error: null },
          newest_bars: newest,
          screeners: { alive: screeners.filter((s) => s.alive).length, instances: screeners },
          problems,
        };
      } catch (err) {
        if (!isDbUnavailable(err)) throw err;
        request.log.warn({ err }, 'health: database unavailable');
        reply.code(503).header('retry-after', String(deps.retryAfterSeconds));
        return {
          status: 'down',
          time: new Date(),
          database: { reachable: false, latency_ms: null, error: (err as Error).message },
          newest_bars: [],
          screeners: { alive: 0, instances: [] },
          problems: ['database unreachable'],
        };
      }
    },
  );
}
