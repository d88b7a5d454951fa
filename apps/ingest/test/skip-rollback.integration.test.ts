import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { setKvObserver } from '../src/kv/kv-store.js';
import {
  API_KEY,
  alert,
  call,
  callWith,
  captureLogs,
  coordinator,
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
const OLD = ['AAA', 'BBB', 'CCC'];
const DAY = 86_400;

async function ingestOk(ticker: string, version: string, extra = {}) {
  const res = await ingest(alert(ticker, version, extra));
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

/** Data of `version` for OLD, with S and the coordinator's KV mirror of it settled. */
async function collect(version: string): Promise<void> {
  for (const t of OLD) await ingestOk(t, version, { state: 'Q2' });
  await settle();
  await waitFor(async () => (await status()).tickers === OLD.length, 'the index');
  await waitFor(async () => (await env.TIMED_KV.get('timed:data_version')) === version, 'KV S');
}

/** `POST /timed/version?key=…` with a JSON body. */
function setVersion(body: unknown, key: string | null = API_KEY) {
  const qs = key === null ? '' : `?key=${encodeURIComponent(key)}`;
  return call(`/timed/version${qs}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string; details?: unknown } })
    .error;
}

describe('skipping a migration as the seed writes it: timed:data_version set by hand', () => {
  beforeEach(freshStart);

  it('is adopted as S without purging; old data stays, is served and its trails go on', async () => {
    await collect('2.1.0');
    const logs = captureLogs();
    // `wrangler kv key put timed:data_version 2.2.0`: a write from outside the Worker.
    await env.TIMED_KV.put('timed:data_version', '2.2.0');

    const v = await waitFor(async () => {
      const r = await getJson<{ storedVersion: string; match: boolean }>('/timed/version');
      return r.body.storedVersion === '2.2.0' ? r.body : null;
    }, 'the hand-set S');
    expect(v.match).toBe(true);
    const health = (await getJson('/timed/health')).body;
    expect(health).toMatchObject({
      dataVersion: '2.2.0',
      keptFrom: '2.1.0',
      purge: null,
      lastVersionChange: { kind: 'skip', via: 'kv', from: '2.1.0', to: '2.2.0', purge: false },
    });

    // The next 2.2.0 alert ingests; it does not migrate.
    const body = await ingestOk('AAA', '2.2.0', { ts: 1_704_067_260_000, state: 'Q3' });
    expect(body.action).toBe('ingest');
    expect(body.transition).toEqual({ from: 'Q2', to: 'Q3' });
    expect(await env.TIMED_KV.get('timed:trail:AAA', 'json')).toHaveLength(2);
    await settle();
    const s = await status();
    expect(s.purge).toBeNull();
    expect(s.migrations).toBe(0);
    expect(await listAll('timed:archive:')).toEqual([]);
    for (const t of OLD) {
      const latest = await getJson<{ version: string }>(`/timed/latest?ticker=${t}`);
      expect(latest.status, t).toBe(200);
    }
    expect((await getJson<{ version: string }>('/timed/latest?ticker=BBB')).body.version).toBe(
      '2.1.0',
    );
    // The old script is now stale, as after any change of S.
    expect((await ingest(alert('AAA', '2.1.0'))).status).toBe(409);
    logs.restore();
    expect(logs.of('version_skip')).toEqual([
      expect.objectContaining({ via: 'kv', from: '2.1.0', to: '2.2.0', purge: false }),
    ]);
  });

  it('is honoured by the very next alert, before anyone asked for the version', async () => {
    await collect('2.1.0');
    await env.TIMED_KV.put('timed:data_version', '2.2.0');
    const body = await ingestOk('NEW', '2.2.0');
    expect(body.action).toBe('ingest');
    await settle();
    expect((await status()).purge).toBeNull();
    expect(await listAll('timed:latest:')).toHaveLength(OLD.length + 1);
  });

  it('an older hand-set value is refused (a rollback needs the route), logged and visible', async () => {
    await collect('2.2.0');
    const logs = captureLogs();
    await env.TIMED_KV.put('timed:data_version', '2.1.0');
    const health = await waitFor(async () => {
      const h = (await getJson<{ lastVersionChange: { kind: string } | null }>('/timed/health'))
        .body;
      return h.lastVersionChange ? h : null;
    }, 'the refusal');
    logs.restore();
    expect(health).toMatchObject({
      dataVersion: '2.2.0',
      lastVersionChange: { kind: 'refused', via: 'kv', from: '2.2.0', to: '2.1.0' },
    });
    expect(health.lastVersionChange).toMatchObject({
      reason: expect.stringContaining('"rollback": true'),
    });
    expect(logs.of('version_refused')).toHaveLength(1);
    expect((await ingest(alert('AAA', '2.1.0'))).status).toBe(409);
  });

  it("the coordinator's own mirror is never taken for a hand-set value", async () => {
    await collect('2.1.0');
    await ingestOk('NEW', '2.2.0');
    await waitForQuiet();
    const recorder = new KvRecorder().install();
    // An out-of-date copy of the mirror (what KV may serve for a minute) changes nothing.
    await env.TIMED_KV.put('timed:data_version', '2.1.0', { metadata: { v: '2.1.0' } });
    await waitFor(async () => {
      await getJson('/timed/health');
      return recorder.ops.some((o) => o.scope.startsWith('version-check#'));
    }, 'a version check after the write');
    expect((await getJson('/timed/health')).body).toMatchObject({
      dataVersion: '2.2.0',
      lastVersionChange: null,
    });
  });
});

describe('POST /timed/version?key=KEY', () => {
  beforeEach(freshStart);

  it('needs the key like the other keyed routes', async () => {
    expect((await setVersion({ version: '2.2.0' }, null)).status).toBe(401);
    const wrong = await setVersion({ version: '2.2.0' }, 'wrong-key-wrong');
    expect(wrong.status).toBe(401);
    expect(await errorOf(wrong)).toMatchObject({ code: 'UNAUTHORIZED' });
    const unset = await callWith({ TIMED_API_KEY: undefined }, `/timed/version?key=${API_KEY}`, {
      method: 'POST',
      body: JSON.stringify({ version: '2.2.0' }),
    });
    expect(unset.status).toBe(503);
    expect((await status()).stored).toBeNull();
  });

  it('answers 400 naming each bad field, and changes nothing', async () => {
    await collect('2.1.0');
    const cases: [unknown, string, string][] = [
      ['{"version":', 'INVALID_JSON', 'body is not JSON'],
      [[], 'INVALID_PAYLOAD', 'must be a JSON object'],
      [{}, 'INVALID_PAYLOAD', 'version:'],
      [{ version: 'two' }, 'INVALID_PAYLOAD', 'version: must be a semantic version'],
      [{ version: '2.2.0', purge: 'no' }, 'INVALID_PAYLOAD', 'purge: must be true or false'],
      [{ version: '2.2.0', rollback: 1 }, 'INVALID_PAYLOAD', 'rollback: must be true or false'],
      [{ version: '2.2.0', force: true }, 'INVALID_PAYLOAD', 'force'],
    ];
    for (const [body, code, message] of cases) {
      const res = await setVersion(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = await errorOf(res);
      expect(error.code, JSON.stringify(body)).toBe(code);
      expect(error.message, JSON.stringify(body)).toContain(message);
    }
    expect((await status()).stored).toBe('2.1.0');
    expect((await status()).lastVersionChange).toBeNull();
  });

  it('skips a migration: { version, purge: false } sets S and keeps the data', async () => {
    await collect('2.1.0');
    const res = await setVersion({ version: '2.2.0', purge: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ok: true,
      action: 'skip',
      from: '2.1.0',
      storedVersion: '2.2.0',
      expectedVersion: '2.2.0',
      match: true,
      purge: false,
    });
    expect((await ingestOk('AAA', '2.2.0')).action).toBe('ingest');
    await settle();
    expect((await status()).purge).toBeNull();
    expect(await listAll('timed:latest:')).toHaveLength(OLD.length);
    // The mirror follows, and is not mistaken for a hand-set value later.
    await waitFor(async () => (await env.TIMED_KV.get('timed:data_version')) === '2.2.0', 'KV S');
    expect((await getJson('/timed/health')).body).toMatchObject({
      lastVersionChange: { kind: 'skip', via: 'route' },
    });
  });

  it('with purge: true moves forward the way a first alert would: archive and purge', async () => {
    await collect('2.1.0');
    const res = await setVersion({ version: '2.2.0', purge: true });
    const body = (await res.json()) as { action: string; archiveKey: string };
    expect(res.status).toBe(200);
    expect(body.action).toBe('migrate');
    expect(body.archiveKey).toMatch(/^timed:archive:2\.1\.0:\d{13}$/);
    const done = await waitForQuiet();
    expect(done.lastMigration).toMatchObject({ from: '2.1.0', to: '2.2.0', tickerCount: 3 });
    expect(await listAll('timed:latest:')).toEqual([]);
  });

  it('refuses an older version without rollback: true, saying to pass it', async () => {
    await collect('2.2.0');
    const res = await setVersion({ version: '2.1.0' });
    expect(res.status).toBe(409);
    const error = await errorOf(res);
    expect(error.code).toBe('ROLLBACK_REQUIRED');
    expect(error.message).toContain('"rollback": true');
    const notBack = await setVersion({ version: '2.3.0', rollback: true });
    expect(notBack.status).toBe(409);
    expect((await errorOf(notBack)).code).toBe('NOT_A_ROLLBACK');
    expect((await status()).stored).toBe('2.2.0');
    expect(await listAll('timed:archive:')).toEqual([]);
  });
});

describe('rolling back to an older script version', () => {
  beforeEach(freshStart);

  it('archives the current data first, purges it, then ingests the older alerts', async () => {
    await collect('2.2.0');
    const logs = captureLogs();
    const before = Date.now();
    const res = await setVersion({ version: '2.1.0', rollback: true });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({
      ok: true,
      action: 'rollback',
      from: '2.2.0',
      storedVersion: '2.1.0',
      purge: true,
    });
    const archiveKey = String(body.archiveKey);
    expect(archiveKey).toMatch(/^timed:archive:2\.2\.0:\d{13}$/);
    const archivedAt = Number(archiveKey.split(':').at(-1));
    expect(archivedAt).toBeGreaterThanOrEqual(before);
    // Archived before anything was deleted: the same record a migration writes, kept 30 days.
    expect(await env.TIMED_KV.get(archiveKey, 'json')).toEqual({
      version: '2.2.0',
      migratedAt: archivedAt,
      tickerCount: 3,
      sampleTickers: OLD,
    });
    const [listed] = await listAll('timed:archive:');
    expect(listed?.expiration).toBeGreaterThan(archivedAt / 1000 + 30 * DAY - 120);
    expect(listed?.expiration).toBeLessThan(archivedAt / 1000 + 30 * DAY + 120);

    // The older script's alerts are ingested from now on (this isolate's cache was updated).
    expect((await ingestOk('ZZZ', '2.1.0')).action).toBe('ingest');
    const done = await waitForQuiet();
    expect(done.stored).toBe('2.1.0');
    for (const prefix of ['timed:latest:', 'timed:trail:', 'timed:momentum:', 'timed:prevstate:']) {
      expect(
        (await listAll(prefix)).map((k) => k.name),
        prefix,
      ).toEqual([`${prefix}ZZZ`]);
    }
    expect((await ingestOk('AAA', '2.1.0')).action).toBe('ingest');
    expect((await getJson('/timed/latest?ticker=AAA')).status).toBe(200);
    await waitFor(async () => (await env.TIMED_KV.get('timed:data_version')) === '2.1.0', 'KV S');
    expect((await getJson('/timed/health')).body).toMatchObject({
      dataVersion: '2.1.0',
      lastVersionChange: { kind: 'rollback', via: 'route', from: '2.2.0', to: '2.1.0', archiveKey },
    });
    logs.restore();
    expect(logs.of('rollback_started')).toHaveLength(1);
    expect(logs.of('version_rollback')).toEqual([
      expect.objectContaining({ from: '2.2.0', to: '2.1.0', purge: true, archiveKey }),
    ]);
    expect(logs.of('purge_finished')).toEqual([
      expect.objectContaining({ reason: 'rollback', dropAbove: '2.1.0' }),
    ]);
  });

  it('with purge: false keeps the current data and only moves S back', async () => {
    await collect('2.2.0');
    const res = await setVersion({ version: '2.1.0', rollback: true, purge: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ action: 'rollback', purge: false });
    expect((await status()).purge).toBeNull();
    expect(await listAll('timed:archive:2.2.0:')).toHaveLength(1);
    expect(await listAll('timed:latest:')).toHaveLength(OLD.length);
    expect((await ingestOk('AAA', '2.1.0')).action).toBe('ingest');
  });

  it('is refused while a purge runs', async () => {
    await collect('2.1.0');
    // KV refuses every listing: the migration's purge cannot finish while this holds.
    setKvObserver((op) => {
      if (op.kind === 'list') throw new Error('KV list failed: 503 (held by the test)');
    });
    await ingestOk('NEW', '2.2.0');
    const res = await setVersion({ version: '2.1.0', rollback: true });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe('PURGE_RUNNING');
    expect((await status()).stored).toBe('2.2.0');
    setKvObserver(undefined);
    await runDurableObjectAlarm(coordinator());
    await waitForQuiet();
    expect(await listAll('timed:archive:2.2.0:')).toEqual([]);
  });
});
