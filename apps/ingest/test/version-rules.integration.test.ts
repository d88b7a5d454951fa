import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  alert,
  freshStart,
  getJson,
  ingest,
  KvRecorder,
  listAll,
  settle,
  status,
  waitFor,
  waitForQuiet,
} from './helpers.js';

// This project runs with CURRENT_DATA_VERSION (E) = 2.2.0.

async function latestMeta(ticker: string) {
  const r = await env.TIMED_KV.getWithMetadata(`timed:latest:${ticker}`, 'json');
  return {
    value: r.value as Record<string, unknown> | null,
    meta: r.metadata as { v: string } | null,
  };
}

async function ingestOk(ticker: string, version: string, extra = {}) {
  const res = await ingest(alert(ticker, version, extra));
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

describe('version rules (S stored, E = 2.2.0 expected, P payload)', () => {
  beforeEach(freshStart);

  it('first payload ever sets S = P without purging', async () => {
    const body = await ingestOk('AAPL', '2.1.0');
    expect(body.action).toBe('initialize');
    const s = await status();
    expect(s.stored).toBe('2.1.0');
    expect(s.purge).toBeNull();
    expect(await listAll('timed:archive:')).toEqual([]);
    expect((await latestMeta('AAPL')).meta?.v).toBe('2.1.0');
    await waitFor(
      async () => (await env.TIMED_KV.get('timed:data_version')) === '2.1.0',
      'S in KV',
    );
  });

  it('P = S ingests and tags every value with its version', async () => {
    await ingestOk('MSFT', '2.1.0');
    const body = await ingestOk('MSFT', '2.1.0', { ts: 1_704_067_260_000, state: 'Q2' });
    expect(body.action).toBe('ingest');
    expect(body.transition).toEqual({ from: 'Q1', to: 'Q2' });
    for (const key of ['latest', 'trail', 'momentum', 'prevstate']) {
      const r = await env.TIMED_KV.getWithMetadata(`timed:${key}:MSFT`, 'json');
      expect(r.value, key).not.toBeNull();
      expect(r.metadata, key).toMatchObject({ v: '2.1.0' });
    }
    const trail = (await env.TIMED_KV.get('timed:trail:MSFT', 'json')) as unknown[];
    expect(trail).toHaveLength(2);
    expect(await env.TIMED_KV.get('timed:prevstate:MSFT', 'json')).toMatchObject({
      state: 'Q2',
      previous: 'Q1',
    });
  });

  it('P = E and S != E migrates: archive, purge, S = E, then ingest', async () => {
    await ingestOk('OLD1', '2.1.0');
    await ingestOk('OLD2', '2.1.0');
    await settle();
    const body = await ingestOk('NEW1', '2.2.0');
    expect(body.action).toBe('migrate');
    expect(body.migration).toMatchObject({ from: '2.1.0', to: '2.2.0' });
    expect((await status()).stored).toBe('2.2.0');
    await waitForQuiet();
    expect((await latestMeta('OLD1')).value).toBeNull();
    expect((await latestMeta('NEW1')).meta?.v).toBe('2.2.0');
    expect(await listAll('timed:archive:2.1.0:')).toHaveLength(1);
  });

  it('P older than S answers 409 "stale version", stores nothing, counts it, keeps S', async () => {
    await ingestOk('AAPL', '2.2.0');
    // The coordinator's own write of S (its alarm) is not part of this request: let it land first.
    await settle();
    await waitFor(async () => (await env.TIMED_KV.get('timed:data_version')) === '2.2.0', 'KV S');
    const recorder = new KvRecorder().install();
    const res = await ingest(alert('TSLA', '2.1.0'));
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('STALE_VERSION');
    expect(body.error.message).toContain('stale version');
    expect(recorder.writes()).toEqual([]);
    expect((await latestMeta('TSLA')).value).toBeNull();
    await settle();
    const s = await status();
    expect(s.stored).toBe('2.2.0');
    expect(s.staleRejected).toBe(1);
    const { body: version } = await getJson('/timed/version');
    expect(version).toMatchObject({ storedVersion: '2.2.0', staleRejected: 1 });
  });

  it('a stale payload is refused by the coordinator too when the isolate cache is cold', async () => {
    await ingestOk('AAPL', '2.2.0');
    const { resetVersionCache } = await import('../src/ingest/version-gate.js');
    resetVersionCache();
    const res = await ingest(alert('AAPL', '2.0.9'));
    expect(res.status).toBe(409);
    expect((await status()).stored).toBe('2.2.0');
  });

  it('any other P is stored without migrating and shows as a mismatch', async () => {
    await ingestOk('AAPL', '2.1.0');
    const body = await ingestOk('NVDA', '2.1.5');
    expect(body.action).toBe('mismatch');
    expect((await latestMeta('NVDA')).meta?.v).toBe('2.1.5');
    expect((await latestMeta('AAPL')).value).not.toBeNull();
    await settle();
    const s = await status();
    expect(s.stored).toBe('2.1.0');
    expect(s.purge).toBeNull();
    const { body: version } = await getJson('/timed/version');
    expect(version).toMatchObject({
      storedVersion: '2.1.0',
      expectedVersion: '2.2.0',
      match: false,
      mismatch: { version: '2.1.5', ticker: 'NVDA', count: 1 },
    });
    const { body: health } = await getJson('/timed/health');
    expect(health).toMatchObject({ dataVersion: '2.1.0', mismatch: { version: '2.1.5' } });
  });

  it('a payload newer than E while S = E is a mismatch visible even though S matches E', async () => {
    await ingestOk('AAPL', '2.2.0');
    const body = await ingestOk('AMD', '2.3.0');
    expect(body.action).toBe('mismatch');
    await settle();
    const { body: version } = await getJson('/timed/version');
    expect(version).toMatchObject({
      storedVersion: '2.2.0',
      match: true,
      mismatch: { version: '2.3.0' },
    });
    expect((await status()).stored).toBe('2.2.0');
  });

  it('a warm isolate answers P = S from its cache with 1 KV read and 2 to 4 writes', async () => {
    await ingestOk('AAPL', '2.2.0');
    await settle();
    const recorder = new KvRecorder().install();
    // State and momentum both changed: latest, trail, momentum, prevstate.
    const changed = alert('AAPL', '2.2.0', {
      ts: 1_704_067_320_000,
      state: 'Q3',
      momentum: { elite: false },
    });
    const res = await ingest(changed);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-timed-kv-ops')).toBe('reads=1, writes=4, lists=0');
    // Nothing but the scores changed: latest and trail only.
    const typical = await ingest({ ...changed, ts: 1_704_067_380_000, score: 1 });
    expect(typical.headers.get('x-timed-kv-ops')).toBe('reads=1, writes=2, lists=0');
    const mine = recorder.ops.filter((o) => o.scope.startsWith('fetch#'));
    expect(mine.filter((o) => o.kind === 'get')).toHaveLength(2);
    expect(mine.filter((o) => o.kind === 'put' || o.kind === 'delete')).toHaveLength(6);
    expect(recorder.ops.filter((o) => o.kind === 'list')).toEqual([]);
    expect(await env.TIMED_KV.get('timed:momentum:AAPL', 'json')).toMatchObject({
      elite: false,
      since: 1_704_067_320_000,
    });
  });

  it('an identical alert delivered twice is stored once', async () => {
    await ingestOk('AAPL', '2.2.0');
    const second = await ingestOk('AAPL', '2.2.0');
    expect(second.duplicate).toBe(true);
    expect(await env.TIMED_KV.get('timed:trail:AAPL', 'json')).toHaveLength(1);
  });

  it('a late alert goes into the trail in order without replacing latest', async () => {
    await ingestOk('AAPL', '2.2.0', { ts: 1_704_067_500_000, price: 200 });
    const late = await ingestOk('AAPL', '2.2.0', { ts: 1_704_067_400_000, price: 150 });
    expect(late.late).toBe(true);
    expect((await latestMeta('AAPL')).value).toMatchObject({ price: 200 });
    const trail = (await env.TIMED_KV.get('timed:trail:AAPL', 'json')) as { ts: number }[];
    expect(trail.map((p) => p.ts)).toEqual([1_704_067_400_000, 1_704_067_500_000]);
  });
});
