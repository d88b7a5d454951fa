import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { alert, freshStart, ingest, KvRecorder, settle, status, waitFor } from './helpers.js';

describe('KV write rate: at most one write per key per second', () => {
  beforeEach(freshStart);

  it('a burst of 500 distinct tickers writes no key twice within a second', async () => {
    // Emulates KV: a second write to a key within 1 s is refused with a 429.
    const recorder = new KvRecorder(true).install();
    expect((await ingest(alert('WARM', '2.2.0'))).status).toBe(200);
    await settle();

    const tickers = Array.from({ length: 500 }, (_, i) => `B${String(i).padStart(3, '0')}`);
    const started = Date.now();
    // As fast as the local runtime allows (in production TradingView can deliver this in 1 s).
    for (const half of [tickers.slice(0, 250), tickers.slice(250)]) {
      const responses = await Promise.all(half.map((t) => ingest(alert(t, '2.2.0'))));
      for (const r of responses) expect(r.status).toBe(200);
    }
    await settle();
    // The index and the last-ingest time were not written per request: the coordinator
    // batches them into timed:tickers, written at most once a second.
    const index = await waitFor(async () => {
      const v = (await env.TIMED_KV.get('timed:tickers', 'json')) as string[] | null;
      return v && v.length === 501 ? v : null;
    }, 'the batched index');
    expect(index).toContain('B499');
    const elapsedSeconds = (Date.now() - started) / 1000;

    expect(recorder.rejected).toBe(0);
    expect(recorder.maxWritesPerKeyPerSecond().count).toBe(1);
    const indexWrites = recorder.writes().filter((w) => w.key === 'timed:tickers');
    expect(indexWrites.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 2);
    const meta = (await env.TIMED_KV.getWithMetadata('timed:tickers')).metadata;
    expect(meta).toMatchObject({ v: '2.2.0', count: 501 });
    expect((await status()).tickers).toBe(501);
  });

  it('two alerts of one ticker within a second are both stored, a second apart', async () => {
    const recorder = new KvRecorder(true).install();
    const a = await ingest(alert('AAPL', '2.2.0', { ts: 1_704_067_200_000 }));
    expect(a.status).toBe(200);
    const b = await ingest(alert('AAPL', '2.2.0', { ts: 1_704_067_260_000, state: 'Q4' }));
    expect(b.status).toBe(200);
    // KV refused the early second write; the store waited and wrote it again.
    expect(recorder.rejected).toBeGreaterThan(0);
    expect(recorder.maxWritesPerKeyPerSecond().count).toBe(1);
    expect(await env.TIMED_KV.get('timed:trail:AAPL', 'json')).toHaveLength(2);
    expect(await env.TIMED_KV.get('timed:latest:AAPL', 'json')).toMatchObject({ state: 'Q4' });
  });
});
