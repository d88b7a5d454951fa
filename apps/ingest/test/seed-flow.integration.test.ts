import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { setKvObserver } from '../src/kv/kv-store.js';
import {
  API_KEY,
  alert,
  call,
  coordinator,
  failNextNotices,
  freshStart,
  getJson,
  ingest,
  listAll,
  received,
  settle,
  status,
  waitFor,
  waitForQuiet,
} from './helpers.js';

const OLD_TICKERS = Array.from({ length: 42 }, (_, i) => `T${String(i).padStart(3, '0')}`);
const DAY = 86_400;

interface DiscordBody {
  username: string;
  content: string;
  embeds: { title: string; fields: { name: string; value: string }[] }[];
}

/** Collects 2.1.0 data the way TradingView would send it. */
async function collectOldData(): Promise<void> {
  for (const t of OLD_TICKERS) {
    const res = await ingest(alert(t, '2.1.0', { state: 'Q2' }));
    expect(res.status).toBe(200);
  }
  await settle();
  await waitFor(async () => (await status()).tickers === OLD_TICKERS.length, 'the index');
}

describe("the seed's example migration flow (2.1.0 -> 2.2.0)", () => {
  beforeEach(freshStart);

  it('archives, purges, updates the version and notifies Discord', async () => {
    await collectOldData();
    expect((await getJson('/timed/version')).body).toEqual({
      ok: true,
      storedVersion: '2.1.0',
      expectedVersion: '2.2.0',
      match: false,
      mismatch: null,
      staleRejected: 0,
    });

    // 1-2. The first alert with version 2.2.0 arrives.
    const before = Date.now();
    const res = await ingest(alert('AAPL', '2.2.0', { state: 'Q1' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { action: string; migration: { archiveKey: string } };
    expect(body.action).toBe('migrate');
    // 3. Stored 2.1.0 was detected; 4. archive key timed:archive:2.1.0:{epochMs}.
    const archiveKey = body.migration.archiveKey;
    expect(archiveKey).toMatch(/^timed:archive:2\.1\.0:\d{13}$/);
    const archivedAt = Number(archiveKey.split(':').at(-1));
    expect(archivedAt).toBeGreaterThanOrEqual(before);

    const done = await waitForQuiet();
    expect(done.migrations).toBe(1);

    const archive = await env.TIMED_KV.get(archiveKey, 'json');
    expect(archive).toEqual({
      version: '2.1.0',
      migratedAt: archivedAt,
      tickerCount: 42,
      sampleTickers: OLD_TICKERS.slice(0, 10),
    });
    const [listed] = await listAll('timed:archive:');
    expect(listed?.name).toBe(archiveKey);
    // Kept 30 days (KV expiration is in seconds).
    const expectedExpiry = archivedAt / 1000 + 30 * DAY;
    expect(listed?.expiration).toBeGreaterThan(expectedExpiry - 120);
    expect(listed?.expiration).toBeLessThan(expectedExpiry + 120);

    // All old data purged: latest, trail, momentum, prevstate.
    for (const prefix of ['timed:latest:', 'timed:trail:', 'timed:momentum:', 'timed:prevstate:']) {
      const names = (await listAll(prefix)).map((k) => k.name);
      expect(names, prefix).toEqual([`${prefix}AAPL`]);
    }
    // The index is rebuilt from new data only; S = 2.2.0 everywhere.
    await waitFor(async () => {
      const index = await env.TIMED_KV.get('timed:tickers', 'json');
      return JSON.stringify(index) === '["AAPL"]';
    }, 'the purged index');
    await waitFor(async () => (await env.TIMED_KV.get('timed:data_version')) === '2.2.0', 'KV S');
    expect((await getJson('/timed/version')).body).toMatchObject({
      ok: true,
      storedVersion: '2.2.0',
      expectedVersion: '2.2.0',
      match: true,
    });
    const health = (await getJson('/timed/health')).body;
    expect(health).toMatchObject({
      ok: true,
      tickers: 1,
      dataVersion: '2.2.0',
      expectedVersion: '2.2.0',
    });
    expect(typeof health.lastIngestMs).toBe('number');

    // 5. Discord notice, as the receiver got it.
    const notices = await waitFor(async () => {
      const r = await received();
      return r.length > 0 ? r : null;
    }, 'the Discord notice');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.path).toBe('/api/webhooks/1/test-token');
    expect(notices[0]?.contentType).toBe('application/json');
    const notice = notices[0]?.body as DiscordBody;
    expect(notice.content).toContain('2.1.0 → 2.2.0');
    expect(notice.content).toContain('42 tickers archived');
    const fields = Object.fromEntries(notice.embeds[0]!.fields.map((f) => [f.name, f.value]));
    expect(fields).toMatchObject({
      From: '2.1.0',
      To: '2.2.0',
      'Tickers archived': '42',
      Archive: `\`${archiveKey}\``,
    });
    // 42 tickers x 4 keys of old data.
    expect(fields['Keys purged']).toBe(String(42 * 4));

    // 6. New data collects under 2.2.0.
    const next = await ingest(alert('MSFT', '2.2.0'));
    expect(((await next.json()) as { action: string }).action).toBe('ingest');
    const latest = await getJson<{ version: string; data: { ticker: string } }>(
      '/timed/latest?ticker=msft',
    );
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ version: '2.2.0', data: { ticker: 'MSFT' } });
  });

  it('old data is not served while its purge is still pending', async () => {
    await collectOldData();
    // Hold the purge: KV refuses its listings until released, so nothing is deleted meanwhile.
    setKvObserver((op) => {
      if (op.kind === 'list') throw new Error('KV list failed: 503 (held by the test)');
    });
    const res = await ingest(alert('AAPL', '2.2.0'));
    expect(res.status).toBe(200);
    expect((await status()).purge).not.toBeNull();
    // The old value is still in KV, yet not served: it belongs to the replaced model.
    expect(await env.TIMED_KV.get('timed:latest:T000')).not.toBeNull();
    const old = await getJson('/timed/latest?ticker=T000');
    expect(old.status).toBe(404);
    setKvObserver(undefined);
    await runDurableObjectAlarm(coordinator());
    await waitForQuiet();
    expect(await env.TIMED_KV.get('timed:latest:T000')).toBeNull();
  });

  it('a failing Discord webhook is logged and never fails the ingest or the migration', async () => {
    await ingest(alert('OLD', '2.1.0'));
    await failNextNotices(5, 500);
    const res = await ingest(alert('NEW', '2.2.0'));
    expect(res.status).toBe(200);
    const s = await waitForQuiet();
    expect(s.migrations).toBe(1);
    expect(s.stored).toBe('2.2.0');
    const r = await received();
    expect(r.map((n) => n.answeredStatus)).toEqual([500]);
    expect((await ingest(alert('NEW2', '2.2.0'))).status).toBe(200);
  });

  it('POST /timed/purge needs the key, purges everything and answers the seed JSON', async () => {
    await collectOldData();
    const denied = await call('/timed/purge', { method: 'POST' });
    expect(denied.status).toBe(401);
    const wrong = await call('/timed/purge?key=nope-nope-nope', { method: 'POST' });
    expect(wrong.status).toBe(401);
    expect(await listAll('timed:latest:')).toHaveLength(42);

    const res = await call(`/timed/purge?key=${API_KEY}`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ok: true,
      message: 'Data purged successfully',
      purged: 42,
      tickerCount: 42,
      version: '2.1.0',
    });
    for (const prefix of ['timed:latest:', 'timed:trail:', 'timed:momentum:', 'timed:prevstate:']) {
      expect(await listAll(prefix), prefix).toEqual([]);
    }
    await waitFor(
      async () => JSON.stringify(await env.TIMED_KV.get('timed:tickers', 'json')) === '[]',
      'the emptied index',
    );
    expect((await getJson('/timed/health')).body).toMatchObject({
      tickers: 0,
      dataVersion: '2.1.0',
    });
    const notice = await waitFor(async () => (await received())[0], 'the purge notice');
    expect((notice.body as DiscordBody).content).toContain('Manual purge complete: 42 tickers');
  });
});
