import { json } from '../http/errors.js';
import type { Router } from '../router.js';

/** `GET /timed/health`: freshness, ticker count and versions (the seed's fields, then extras). */
export function registerHealth(router: Router): void {
  router.on('GET', '/timed/health', async (c) => {
    const s = await c.coordinator.status();
    const now = Date.now();
    const last = s.lastIngestMs;
    return json({
      ok: true,
      now,
      lastIngestMs: last,
      minutesSinceLast: last === null ? null : Math.round(((now - last) / 60_000) * 100) / 100,
      tickers: s.tickers,
      dataVersion: s.stored,
      expectedVersion: c.env.expectedVersion,
      mismatch: s.mismatch,
      staleRejected: s.staleRejected,
      purge: s.purge,
      lastMigration: s.lastMigration,
      // Data of this version or newer is kept as current after a skip (null: only S's model).
      keptFrom: s.keepFrom,
      lastVersionChange: s.lastVersionChange,
    });
  });
}
