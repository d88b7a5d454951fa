import { type Db, newestBarPerSource, pingDb, screenerHeartbeats } from '@timed/db';
import type { FastifyInstance } from 'fastify';
import { isDbUnavailable } from '../errors.js';
import { responseSchema } from '../json-schema.js';
import { HealthResponse } from '../schemas.js';

const healthJson = responseSchema(HealthResponse);

/**
 * Problems an operator must act on, from the alive screeners. One writer per dataset, whatever
 * the schema: trades and mbp-1 screeners write the same price_bars rows, so two alive for one
 * dataset overwrite each other's bars.
 */
function screenerProblems(
  alive: { instance_id: string; dataset: string; schema: string }[],
): string[] {
  const problems: string[] = [];
  if (alive.length === 0) problems.push('no screener is alive (no heartbeat in the last 30 s)');
  const byDataset = new Map<string, { instance_id: string; schema: string }[]>();
  for (const s of alive) byDataset.set(s.dataset, [...(byDataset.get(s.dataset) ?? []), s]);
  for (const [dataset, writers] of byDataset) {
    if (writers.length < 2) continue;
    const schemas = [...new Set(writers.map((w) => w.schema))].sort().join('+');
    const ids = writers.map((w) => `${w.instance_id} ${w.schema}`).join(', ');
    problems.push(
      `${writers.length} screeners alive for ${dataset}/${schemas} (${ids}): duplicate scanners write the same bars (one writer per dataset, whatever the schema); stop all but one`,
    );
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
