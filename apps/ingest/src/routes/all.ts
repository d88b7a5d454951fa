import { describeIssues } from '@timed/schema';
import { HttpError } from '@timed/schema/errors';
import { z } from 'zod';
import { json } from '../http/errors.js';
import { isCurrentModel } from '../ingest/visibility.js';
import { KEYS } from '../kv/keys.js';
import { BULK_GET_MAX } from '../kv/kv-store.js';
import type { Router } from '../router.js';

/** Most tickers one page of /timed/all returns (each 100 cost one KV bulk read). */
export const MAX_ALL_LIMIT = 500;

const AllQuery = z.object({
  limit: z.coerce
    .number({ message: `must be a whole number from 1 to ${MAX_ALL_LIMIT}` })
    .int({ message: `must be a whole number from 1 to ${MAX_ALL_LIMIT}` })
    .min(1, { message: `must be a whole number from 1 to ${MAX_ALL_LIMIT}` })
    .max(MAX_ALL_LIMIT, { message: `must be a whole number from 1 to ${MAX_ALL_LIMIT}` })
    .default(200),
  cursor: z.string().max(64).optional(),
});

/** `GET /timed/all?limit=&cursor=`: latest alerts of every indexed ticker, a page at a time. */
export function registerAll(router: Router): void {
  router.on('GET', '/timed/all', async (c) => {
    const q = AllQuery.safeParse(Object.fromEntries(c.url.searchParams));
    if (!q.success) throw new HttpError(400, 'INVALID_QUERY', describeIssues(q.error));
    const { limit, cursor } = q.data;
    const [state, index] = await Promise.all([
      c.gate.current(),
      c.kv.getJson<unknown>(KEYS.tickers),
    ]);
    const all = (Array.isArray(index.value) ? index.value : [])
      .filter((t): t is string => typeof t === 'string')
      .sort();
    const start = cursor === undefined ? 0 : all.findIndex((t) => t > cursor);
    const page = start < 0 ? [] : all.slice(start, start + limit);
    const data: { ticker: string; version: string | null; data: unknown }[] = [];
    for (let i = 0; i < page.length; i += BULK_GET_MAX) {
      const chunk = page.slice(i, i + BULK_GET_MAX);
      const values = await c.kv.getManyJson<unknown>(chunk.map(KEYS.latest));
      for (const ticker of chunk) {
        const hit = values.get(KEYS.latest(ticker));
        if (
          !hit ||
          hit.value === null ||
          !isCurrentModel(hit.meta?.v, state.keepFrom ?? state.stored)
        )
          continue;
        data.push({ ticker, version: hit.meta?.v ?? null, data: hit.value });
      }
    }
    const last = page.at(-1);
    const more = start >= 0 && start + limit < all.length;
    return json({
      ok: true,
      version: state.stored,
      total: all.length,
      count: data.length,
      data,
      next_cursor: more && last !== undefined ? last : null,
    });
  });
}
