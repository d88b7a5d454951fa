import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { ingestNoteStats, setNoteBatchWindow } from '../src/ingest/ingest-notes.js';
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

  it("a burst's index notes reach the coordinator together, not one call per alert", async () => {
    // A wide window so the whole burst is answered before the drain sends anything.
    setNoteBatchWindow(5_000);
    const tickers = Array.from({ length: 50 }, (_, i) => `N${String(i).padStart(2, '0')}`);
    const responses = await Promise.all(tickers.map((t) => ingest(alert(t, '2.2.0'))));
    for (const r of responses) expect(r.status).toBe(200);
    // Answered without waiting on the coordinator: the notes are still gathering.
    expect(ingestNoteStats()).toEqual({ calls: 0, notes: 0 });
    await settle();
    // (S was unset, so alerts were admitted on the response path; that is not a note.) All 50
    // notes went to the coordinator in one call, and it indexed every ticker.
    expect(ingestNoteStats()).toEqual({ calls: 1, notes: 50 });
    const s = await status();
    expect(s.tickers).toBe(50);
    expect(s.lastIngestMs).not.toBeNull();
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
