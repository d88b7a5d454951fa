import { abortAllDurableObjects, runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { ALARM_RETRY_MS } from '../src/coordinator/version-coordinator.js';
import { setKvObserver } from '../src/kv/kv-store.js';
import {
  API_KEY,
  alert,
  callWith,
  captureLogs,
  coordinator,
  freshStart,
  hangNextNotices,
  ingest,
  listAll,
  received,
  settle,
  status,
  waitFor,
  waitForQuiet,
} from './helpers.js';

const INTERNALS = 'sqlite: disk I/O error at /var/lib/kv/blobs/7f3a (internal detail 4711)';
const PREFIXES = ['timed:latest:', 'timed:trail:', 'timed:momentum:', 'timed:prevstate:'];

function post(body: unknown): RequestInit {
  return { method: 'POST', body: JSON.stringify(body) };
}

/** The coordinator binding as the runtime hands it over, but every call to the object fails. */
function failingCoordinator(): typeof env.VERSION_COORDINATOR {
  const fail = () => Promise.reject(new Error(`Durable Object reset: ${INTERNALS}`));
  const stub = {
    admit: fail,
    state: fail,
    status: fail,
    recordIngests: fail,
    purgeAll: fail,
    changeVersion: fail,
  };
  return {
    idFromName: (name: string) => env.VERSION_COORDINATOR.idFromName(name),
    getByName: () => stub,
  } as unknown as typeof env.VERSION_COORDINATOR;
}

/** The KV binding, except that every read fails with an internal-looking error. */
function failingKv(): KVNamespace {
  const kv = env.TIMED_KV;
  return {
    get: kv.get.bind(kv),
    put: kv.put.bind(kv),
    delete: kv.delete.bind(kv),
    list: kv.list.bind(kv),
    getWithMetadata: () => Promise.reject(new Error(INTERNALS)),
  } as unknown as KVNamespace;
}

describe('failure paths', () => {
  beforeEach(freshStart);

  it('answers 503 COORDINATOR_UNAVAILABLE when the coordinator fails, naming no internals', async () => {
    const logs = captureLogs();
    const broken = { VERSION_COORDINATOR: failingCoordinator() };
    const res = await callWith(
      broken,
      `/timed/ingest?key=${API_KEY}`,
      post(alert('AAPL', '2.2.0')),
    );
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 'COORDINATOR_UNAVAILABLE',
        message: 'data version coordinator failed (admit)',
      },
    });
    expect(text).not.toContain('internal detail');
    for (const path of ['/timed/health', '/timed/version']) {
      expect((await callWith(broken, path)).status, path).toBe(503);
    }
    // Nothing was stored for the refused alert.
    expect(await listAll('timed:')).toEqual([]);
    logs.restore();
    const failed = logs.of('request_failed');
    expect(failed.map((l) => l.path)).toEqual(['/timed/ingest', '/timed/health', '/timed/version']);
    expect(String(failed[0]?.error)).toContain('internal detail 4711');
  });

  it('answers an unexpected failure with a bare 500: no message, stack or key in the body', async () => {
    const logs = captureLogs();
    const res = await callWith(
      { TIMED_KV: failingKv() },
      `/timed/ingest?key=${API_KEY}`,
      post(alert('AAPL', '2.2.0')),
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    for (const leak of ['internal detail', 'sqlite', '/var/lib', 'at ', '.ts', API_KEY]) {
      expect(text).not.toContain(leak);
    }
    await settle();
    logs.restore();
    // The operator's log has the cause, without the key.
    const [failed] = logs.of('request_failed');
    expect(failed).toMatchObject({ level: 'error', method: 'POST', path: '/timed/ingest' });
    expect(String(failed?.error)).toContain('internal detail 4711');
    expect(logs.raw.join('\n')).not.toContain(API_KEY);
  });

  it('retries a coordinator alarm that failed, and the retry does the work', async () => {
    let failures = 0;
    // KV fails the coordinator's first write of timed:data_version (from its alarm).
    setKvObserver((op) => {
      if (op.kind === 'put' && op.key === 'timed:data_version' && failures === 0) {
        failures++;
        throw new Error('KV PUT failed: 500 Internal Server Error');
      }
    });
    const logs = captureLogs();
    expect((await ingest(alert('AAPL', '2.1.0'))).status).toBe(200);
    await settle();
    const [failed] = await waitFor(() => {
      const l = logs.of('coordinator_alarm_failed');
      return l.length > 0 ? l : null;
    }, 'the failed alarm');
    expect(failed).toMatchObject({ retryInMs: ALARM_RETRY_MS });
    expect(String(failed?.error)).toContain('500 Internal Server Error');
    // Not written yet; the retry writes it without any new request.
    await waitFor(
      async () => (await env.TIMED_KV.get('timed:data_version')) === '2.1.0',
      'the retried alarm to write S',
      ALARM_RETRY_MS + 30_000,
    );
    logs.restore();
    expect(failures).toBe(1);
    expect(logs.of('coordinator_alarm_failed')).toHaveLength(1);
  });

  it('resumes a purge where it stopped after the Durable Object restarts', async () => {
    const tickers = Array.from({ length: 300 }, (_, i) => `R${String(i).padStart(3, '0')}`);
    await env.TIMED_KV.put('timed:data_version', '2.1.0');
    await env.TIMED_KV.put('timed:tickers', JSON.stringify(tickers));
    await Promise.all(
      tickers.flatMap((t) =>
        PREFIXES.map((p) => env.TIMED_KV.put(`${p}${t}`, '{}', { metadata: { v: '2.1.0' } })),
      ),
    );
    // After the first slice's deletes, KV refuses listings: the purge stops half-way.
    let deletes = 0;
    let holding = true;
    setKvObserver((op) => {
      if (op.kind === 'delete') deletes++;
      if (holding && op.kind === 'list' && deletes > 0) {
        throw new Error('KV list failed: 503 Service Unavailable');
      }
    });
    const logs = captureLogs();
    expect((await ingest(alert('NEWCO', '2.2.0'))).status).toBe(200);
    const stopped = await waitFor(
      () => (logs.of('coordinator_alarm_failed').length > 0 ? status() : null),
      'the purge to stop half-way',
    );
    expect(stopped.purge?.deletedKeys).toBeGreaterThan(0);
    expect(stopped.purge?.deletedKeys).toBeLessThan(tickers.length * 4);

    // The object restarts (code update, eviction): its in-memory state is gone, storage stays.
    await abortAllDurableObjects();
    holding = false;
    const done = await waitForQuiet(ALARM_RETRY_MS + 60_000);
    logs.restore();
    expect(done.lastMigration).toMatchObject({ from: '2.1.0', to: '2.2.0', tickerCount: 300 });
    for (const prefix of PREFIXES) {
      expect(
        (await listAll(prefix)).map((k) => k.name),
        prefix,
      ).toEqual([`${prefix}NEWCO`]);
    }
    // It went on from its cursor: slices after the restart, nothing deleted twice.
    const progress = logs.of('purge_progress').concat(logs.of('purge_finished'));
    expect(Math.max(...progress.map((p) => Number(p.slices)))).toBeGreaterThan(1);
    expect(done.lastMigration?.deletedKeys).toBe(tickers.length * 4);
    expect(deletes).toBe(tickers.length * 4);
    expect(await listAll('timed:archive:2.1.0:')).toHaveLength(1);
  });

  it('answers 503 KV_RATE_LIMITED when KV refuses a write twice, and stores the next alert', async () => {
    let refusals = 0;
    setKvObserver((op) => {
      if (op.kind === 'put' && op.key === 'timed:latest:BUSY' && refusals < 2) {
        refusals++;
        throw new Error('KV PUT failed: 429 Too Many Requests');
      }
    });
    const logs = captureLogs();
    const res = await ingest(alert('BUSY', '2.2.0'));
    expect(refusals).toBe(2);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: {
        code: 'KV_RATE_LIMITED',
        message: 'KV is rate-limiting this key; try again in a second',
        details: { key: 'timed:latest:BUSY' },
      },
    });
    // Retried once (a second apart), then given up on, logged.
    expect(logs.of('kv_rate_limited')).toEqual([
      expect.objectContaining({ key: 'timed:latest:BUSY', retryInMs: 1_050 }),
    ]);
    const again = await ingest(alert('BUSY', '2.2.0', { ts: 1_704_067_260_000 }));
    expect(again.status).toBe(200);
    expect(await env.TIMED_KV.get('timed:latest:BUSY', 'json')).toMatchObject({
      ts: 1_704_067_260_000,
    });
    logs.restore();
  });

  it('a 429 answered once is retried and the alert stored', async () => {
    let refusals = 0;
    setKvObserver((op) => {
      if (op.kind === 'put' && op.key === 'timed:latest:ONCE' && refusals < 1) {
        refusals++;
        throw new Error('KV PUT failed: 429 Too Many Requests');
      }
    });
    const res = await ingest(alert('ONCE', '2.2.0'));
    expect(res.status).toBe(200);
    expect(refusals).toBe(1);
    expect(await env.TIMED_KV.get('timed:latest:ONCE', 'json')).toMatchObject({ ticker: 'ONCE' });
  });

  it('a Discord webhook that never answers times out, is logged and fails nothing', async () => {
    expect((await ingest(alert('OLD', '2.1.0'))).status).toBe(200);
    await settle();
    await hangNextNotices(1);
    const logs = captureLogs();
    const res = await ingest(alert('NEW', '2.2.0'));
    expect(res.status).toBe(200);
    const done = await waitForQuiet();
    expect(done.lastMigration).toMatchObject({ from: '2.1.0', to: '2.2.0' });
    const [failure] = await waitFor(() => {
      const l = logs.of('discord_notice_failed');
      return l.length > 0 ? l : null;
    }, 'the timed-out notice');
    expect(failure).toMatchObject({
      level: 'error',
      notice: 'migration',
      from: '2.1.0',
      to: '2.2.0',
      timedOut: true,
    });
    // The receiver got the request and never answered it; the webhook URL (a token) is not logged.
    expect((await received()).map((r) => r.answeredStatus)).toEqual([0]);
    expect(logs.raw.join('\n')).not.toContain('test-token');
    expect((await ingest(alert('NEW2', '2.2.0'))).status).toBe(200);
    logs.restore();
    await runDurableObjectAlarm(coordinator());
  });
});
