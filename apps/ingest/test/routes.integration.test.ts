import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  API_KEY,
  alert,
  call,
  callWith,
  freshStart,
  getJson,
  ingest,
  settle,
  waitFor,
} from './helpers.js';

describe('HTTP surface', () => {
  beforeEach(freshStart);

  it('accepts the alert as text/plain too (TradingView sends non-JSON-looking bodies so)', async () => {
    const res = await ingest(JSON.stringify(alert('aapl', '2.2.0')), { contentType: 'text/plain' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, ticker: 'AAPL', version: '2.2.0' });
  });

  it('accepts an ISO time as ts and keeps unknown fields', async () => {
    const res = await ingest({ ...alert('MSFT', '2.2.0'), ts: '2024-01-01T00:00:00Z', rsi: 55.5 });
    expect(res.status).toBe(200);
    expect(await env.TIMED_KV.get('timed:latest:MSFT', 'json')).toMatchObject({
      ts: 1_704_067_200_000,
      rsi: 55.5,
    });
  });

  it('answers 401 for a missing or wrong key with the error shape', async () => {
    for (const key of [null, 'wrong-key-wrong-key']) {
      const res = await ingest(alert('AAPL', '2.2.0'), { key });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('answers 503 when TIMED_API_KEY is not configured, and 500 naming a bad variable', async () => {
    const noKey = await callWith({ TIMED_API_KEY: undefined }, `/timed/ingest?key=${API_KEY}`, {
      method: 'POST',
      body: JSON.stringify(alert('AAPL', '2.2.0')),
    });
    expect(noKey.status).toBe(503);
    expect(await noKey.json()).toMatchObject({ error: { code: 'NOT_CONFIGURED' } });
    const bad = await callWith({ CURRENT_DATA_VERSION: 'two' }, '/timed/health');
    expect(bad.status).toBe(500);
    const body = (await bad.json()) as {
      error: { code: string; details: { variables: string[] } };
    };
    expect(body.error.code).toBe('INVALID_ENV');
    expect(body.error.details.variables).toEqual(['CURRENT_DATA_VERSION']);
  });

  it('answers 404 for unknown paths and 405 with Allow for wrong methods', async () => {
    const missing = await call('/timed/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const wrong = await call('/timed/ingest');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('reports health with the seed fields before any ingest', async () => {
    const { status, body } = await getJson('/timed/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      ok: true,
      lastIngestMs: null,
      minutesSinceLast: null,
      tickers: 0,
      dataVersion: null,
      expectedVersion: '2.2.0',
    });
    expect(typeof body.now).toBe('number');
  });

  it('reports minutesSinceLast from the last ingest', async () => {
    await ingest(alert('AAPL', '2.2.0'));
    await settle();
    const { body } = await getJson<{ now: number; lastIngestMs: number; minutesSinceLast: number }>(
      '/timed/health',
    );
    expect(body.lastIngestMs).toBeLessThanOrEqual(body.now);
    expect(body.minutesSinceLast).toBe(
      Math.round(((body.now - body.lastIngestMs) / 60_000) * 100) / 100,
    );
  });

  it('serves /timed/latest: 400 naming ticker, 404 unknown, 200 with the version', async () => {
    await ingest(alert('BRK.B', '2.2.0'));
    const bad = await getJson<{ error: { message: string } }>('/timed/latest?ticker=no%20no');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^ticker: /);
    expect((await getJson('/timed/latest?ticker=ZZZZ')).status).toBe(404);
    const ok = await getJson('/timed/latest?ticker=brk.b');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, ticker: 'BRK.B', version: '2.2.0' });
  });

  it('pages /timed/all with a cursor', async () => {
    const tickers = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE'];
    for (const t of tickers) expect((await ingest(alert(t, '2.2.0'))).status).toBe(200);
    await settle();
    await waitFor(
      async () =>
        ((await env.TIMED_KV.get('timed:tickers', 'json')) as string[] | null)?.length === 5,
      'the index',
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = await getJson<{
        data: { ticker: string }[];
        next_cursor: string | null;
        total: number;
      }>(`/timed/all?limit=2${q}`);
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(5);
      seen.push(...page.body.data.map((d) => d.ticker));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(tickers);
    const bad = await getJson<{ error: { message: string } }>('/timed/all?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('limit');
  });

  it('answers /timed/ping without touching storage', async () => {
    expect((await getJson('/timed/ping')).body).toEqual({ ok: true });
  });
});
