import { json } from '../http/errors.js';
import type { Router } from '../router.js';

/** `GET /timed/ping`: liveness without any I/O (also the benchmark's no-op baseline). */
export function registerPing(router: Router): void {
  router.on('GET', '/timed/ping', () => json({ ok: true }));
}
