import { requireApiKey } from '../http/auth.js';
import { json } from '../http/errors.js';
import type { Router } from '../router.js';

/** `POST /timed/purge?key=KEY`: deletes every ticker's data and the index (same purge as a migration). */
export function registerPurge(router: Router): void {
  router.on('POST', '/timed/purge', async (c) => {
    await requireApiKey(c.url, c.env.apiKey);
    const r = await c.coordinator.purgeAll();
    return json({
      ok: true,
      message: r.complete
        ? 'Data purged successfully'
        : 'Data purge started; it continues in the background (see /timed/health)',
      purged: r.purged,
      tickerCount: r.tickerCount,
      version: r.version,
    });
  });
}
