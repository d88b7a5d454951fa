import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  alert,
  call,
  coordinator,
  freshStart,
  ingest,
  listAll,
  status,
  waitFor,
  waitForQuiet,
} from './helpers.js';

const OLD = Array.from({ length: 1_000 }, (_, i) => `P${String(i).padStart(4, '0')}`);
const PREFIXES = ['timed:latest:', 'timed:trail:', 'timed:momentum:', 'timed:prevstate:'];

describe('a manual purge too long for one request, with alerts arriving meanwhile', () => {
  const during = new Set<string>();
  let answer: Record<string, unknown>;
  let purgeStartedAt = 0;

  beforeAll(async () => {
    await freshStart();
    // 1,000 tickers of current-version data (S = 2.2.0): 4,000 keys, several purge slices.
    expect((await ingest(alert('SEED', '2.2.0'))).status).toBe(200);
    const puts: Promise<void>[] = [];
    for (const t of OLD) {
      for (const p of PREFIXES) {
        puts.push(env.TIMED_KV.put(`${p}${t}`, '{}', { metadata: { v: '2.2.0' } }));
      }
    }
    await Promise.all(puts);

    purgeStartedAt = Date.now();
    const res = await call(`/timed/purge?key=${API_KEY}`, { method: 'POST' });
    expect(res.status).toBe(200);
    answer = (await res.json()) as Record<string, unknown>;
    // Alerts keep coming while the purge runs, for tickers the purge has not reached yet (the
    // end of the listing order): old tickers and new ones.
    let wave = 0;
    while ((await status()).purge !== null && wave < 100) {
      const tickers = [OLD[OLD.length - 1 - wave]!, `ZLIVE${wave}`];
      for (const r of await Promise.all(
        tickers.map((t) => ingest(alert(t, '2.2.0', { state: undefined, momentum: undefined }))),
      ))
        expect(r.status).toBe(200);
      for (const t of tickers) during.add(t);
      wave++;
    }
    await waitForQuiet();
  });

  it('answers at once that the purge continues in the background', () => {
    expect(answer).toMatchObject({
      ok: true,
      message: 'Data purge started; it continues in the background (see /timed/health)',
      version: '2.2.0',
    });
    expect(answer.purged).toBeLessThan(OLD.length);
  });

  it('deletes everything written before it and nothing written after it began', async () => {
    expect(during.size).toBeGreaterThan(0);
    const latest = new Set((await listAll('timed:latest:')).map((k) => k.name.slice(13)));
    const trail = new Set((await listAll('timed:trail:')).map((k) => k.name.slice(12)));
    expect([...latest].sort()).toEqual([...during].sort());
    expect([...trail].sort()).toEqual([...during].sort());
    // The alerts carried no momentum and no state: the old momentum/prevstate keys of those
    // tickers went too, even though the purge itself skipped them.
    expect(await listAll('timed:momentum:')).toEqual([]);
    expect(await listAll('timed:prevstate:')).toEqual([]);
  });

  it('indexes exactly the tickers written since, even when a note about older writes is late', async () => {
    const s = await status();
    expect(s.tickers).toBe(during.size);
    // A note about a write from before the purge, delivered only now, is not indexed.
    await coordinator().recordIngests([
      { kind: 'stored', ticker: 'P0001', version: '2.2.0', atMs: purgeStartedAt - 1 },
    ]);
    expect((await status()).tickers).toBe(during.size);
    await waitFor(async () => {
      const index = (await env.TIMED_KV.get('timed:tickers', 'json')) as string[] | null;
      return JSON.stringify(index) === JSON.stringify([...during].sort());
    }, 'the index in KV');
  });
});
