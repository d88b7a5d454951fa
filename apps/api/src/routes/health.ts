import { type Db, newestBarPerSource, pingDb, screenerHeartbeats } from '@timed/db';
import type { FastifyInstance } from 'fastify';
import { isDbUnavailable } from '../errors.js';
import { responseSchema } from '../json-schema.js';
import type { LiveHub } from '../live-hub.js';
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

/** The live hub's figures as /health shows them; null when the API runs without live routes. */
function liveFigures(hub: LiveHub | undefined) {
  if (!hub) return null;
  const s = hub.stats;
  return {
    listener_connected: s.listenerConnected,
    listener_reconnects: s.listenerReconnects,
    streams: s.streams,
    dropped_clients: s.droppedClients,
    symbols: s.symbols,
    closed_through: s.closedThrough === null ? null : new Date(s.closedThrough),
  };
}

/**
 * `GET /health`: database reachable, newest bar per data_source, screener heartbeats and, with
 * live routes, the live hub's figures (a LISTEN connection that is down is a problem: live state
 * goes stale until it is back).
 */
export function registerHealth(
  app: FastifyInstance,
  deps: { db: Db; retryAfterSeconds: number; live?: LiveHub | undefined },
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
        const live = liveFigures(deps.live);
        if (live && !live.listener_connected) {
          problems.push(
            `live: the LISTEN connection to Postgres is down (reconnecting; ${live.listener_reconnects} reconnect(s) so far): /live, /leaderboard and /stream are stale until it is back`,
          );
        }
        return {
          status: problems.length ? 'degraded' : 'ok',
          time: now,
          database: { reachable: true, latency_ms: latency, error: null },
          newest_bars: newest,
          screeners: { alive: screeners.filter((s) => s.alive).length, instances: screeners },
          live,
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
          live: liveFigures(deps.live),
          problems: ['database unreachable'],
        };
      }
    },
  );
}
