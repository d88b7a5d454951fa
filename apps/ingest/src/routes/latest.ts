import { describeIssues, Ticker } from '@timed/schema';
import { HttpError } from '@timed/schema/errors';
import { json } from '../http/errors.js';
import { isCurrentModel } from '../ingest/visibility.js';
import { KEYS } from '../kv/keys.js';
import type { Router } from '../router.js';

/** `GET /timed/latest?ticker=T`: the latest alert of one ticker with its data version. */
export function registerLatest(router: Router): void {
  router.on('GET', '/timed/latest', async (c) => {
    const parsed = Ticker.safeParse(c.url.searchParams.get('ticker') ?? undefined);
    if (!parsed.success) {
      throw new HttpError(
        400,
        'INVALID_QUERY',
        `ticker: ${describeIssues(parsed.error).replace(/^\(body\): /, '')}`,
      );
    }
    const ticker = parsed.data;
    const [state, stored] = await Promise.all([
      c.gate.current(),
      c.kv.getJson<unknown>(KEYS.latest(ticker)),
    ]);
    if (stored.value === null || !isCurrentModel(stored.meta?.v, state.keepFrom ?? state.stored)) {
      throw new HttpError(404, 'NOT_FOUND', `no current data for ${ticker}`, {
        ticker,
        storedVersion: state.stored,
      });
    }
    return json({ ok: true, ticker, version: stored.meta?.v ?? null, data: stored.value });
  });
}
