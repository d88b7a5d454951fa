import { json } from '../http/errors.js';
import type { Router } from '../router.js';

/** `GET /timed/version`: stored vs expected data version (the seed's fields, then extras). */
export function registerVersion(router: Router): void {
  router.on('GET', '/timed/version', async (c) => {
    const s = await c.coordinator.status();
    return json({
      ok: true,
      storedVersion: s.stored,
      expectedVersion: c.env.expectedVersion,
      match: s.stored === c.env.expectedVersion,
      // Payloads of a version that is neither S nor E (stored without migrating) and 409s.
      mismatch: s.mismatch,
      staleRejected: s.staleRejected,
    });
  });
}
