import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  alert,
  freshStart,
  getJson,
  ingest,
  listAll,
  settle,
  status,
  waitForQuiet,
} from './helpers.js';

// Runs twice: E = 2.1.1 with PURGE_ON_PATCH unset (project ingest-patch) and = true
// (project ingest-patch-purge).
const purgeOnPatch = env.PURGE_ON_PATCH === 'true';

describe(`a patch-only change 2.1.0 -> 2.1.1 (PURGE_ON_PATCH=${purgeOnPatch})`, () => {
  beforeEach(freshStart);

  it(
    purgeOnPatch ? 'migrates with a purge when configured to' : 'updates S without purging',
    async () => {
      expect((await ingest(alert('AAPL', '2.1.0', { ts: 1_704_067_200_000 }))).status).toBe(200);
      await settle();
      const res = await ingest(alert('AAPL', '2.1.1', { ts: 1_704_067_260_000 }));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { action: string };
      expect((await status()).stored).toBe('2.1.1');
      const s = await waitForQuiet();
      const trail = (await env.TIMED_KV.get('timed:trail:AAPL', 'json')) as unknown[];

      if (purgeOnPatch) {
        expect(body.action).toBe('migrate');
        expect(s.migrations).toBe(1);
        expect(await listAll('timed:archive:2.1.0:')).toHaveLength(1);
        // The trail was started afresh with the 2.1.1 point.
        expect(trail).toHaveLength(1);
      } else {
        expect(body.action).toBe('bump');
        expect(s.migrations).toBe(0);
        expect(await listAll('timed:archive:')).toEqual([]);
        // Same scoring model: the trail continues across the patch.
        expect(trail).toHaveLength(2);
      }
      const version = await getJson('/timed/version');
      expect(version.body).toMatchObject({
        storedVersion: '2.1.1',
        expectedVersion: '2.1.1',
        match: true,
      });
    },
  );

  it("keeps other tickers' 2.1.0 data readable only when not purging", async () => {
    await ingest(alert('MSFT', '2.1.0'));
    await settle();
    await ingest(alert('AAPL', '2.1.1'));
    await waitForQuiet();
    const msft = await getJson('/timed/latest?ticker=MSFT');
    expect(msft.status).toBe(purgeOnPatch ? 404 : 200);
  });
});
