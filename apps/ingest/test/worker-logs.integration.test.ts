import { describe, expect, it } from 'vitest';
import {
  API_KEY,
  alert,
  call,
  captureLogs,
  failNextNotices,
  freshStart,
  ingest,
  settle,
  waitFor,
  waitForQuiet,
} from './helpers.js';

// E = 2.2.0 in this project.

function setVersion(body: unknown) {
  return call(`/timed/version?key=${API_KEY}`, { method: 'POST', body: JSON.stringify(body) });
}

describe("the Worker's logs: one JSON line per decision, never the key", () => {
  it('logs ingests, refusals, a migration with its purge, a skip, a rollback and a failed notice', async () => {
    await freshStart();
    const logs = captureLogs();
    try {
      expect((await ingest(alert('AAPL', '2.1.0'), { key: 'wrong-key-wrong-key' })).status).toBe(
        401,
      );
      expect((await ingest(alert('AAPL', '2.1.0'))).status).toBe(200);
      expect((await ingest(alert('AAPL', '2.1.0', { ts: 1_704_067_260_000 }))).status).toBe(200);
      expect((await ingest(alert('MSFT', '2.0.0'))).status).toBe(409);
      await settle();
      await failNextNotices(1, 500);
      expect((await ingest(alert('NVDA', '2.2.0'))).status).toBe(200);
      await waitForQuiet();
      await waitFor(() => logs.of('discord_notice_failed').length > 0, 'the failed notice');
      expect((await setVersion({ version: '2.3.0', purge: false })).status).toBe(200);
      const back = await setVersion({ version: '2.2.0', rollback: true, purge: false });
      expect(back.status).toBe(200);
      expect((await setVersion({ version: '2.1.0' })).status).toBe(409);
      await settle();
    } finally {
      logs.restore();
    }

    // Every line the Worker wrote is one JSON object with a level and an event.
    for (const line of logs.raw) {
      expect(() => JSON.parse(line), line).not.toThrow();
      expect(JSON.parse(line), line).toMatchObject({
        level: expect.stringMatching(/^(info|warn|error)$/),
        event: expect.any(String),
      });
    }
    const ingests = logs.of('ingest');
    expect(ingests.map((l) => [l.ticker, l.version, l.stored, l.action])).toEqual([
      ['AAPL', '2.1.0', '2.1.0', 'initialize'],
      ['AAPL', '2.1.0', '2.1.0', 'ingest'],
      ['NVDA', '2.2.0', '2.2.0', 'migrate'],
    ]);
    expect(ingests[0]).toMatchObject({ expected: '2.2.0', admitted: true });
    expect(logs.of('stale_refused')).toEqual([
      expect.objectContaining({ ticker: 'MSFT', version: '2.0.0', stored: '2.1.0' }),
    ]);
    const [started] = logs.of('migration_started');
    expect(started).toMatchObject({ from: '2.1.0', to: '2.2.0', ticker: 'NVDA', tickerCount: 1 });
    expect(String(started?.archiveKey)).toMatch(/^timed:archive:2\.1\.0:\d{13}$/);
    expect(logs.of('purge_finished')).toEqual([
      expect.objectContaining({ reason: 'migration', keepVersion: '2.2.0', deletedKeys: 4 }),
    ]);
    expect(logs.of('migration_finished')).toEqual([
      expect.objectContaining({ from: '2.1.0', to: '2.2.0', archiveKey: started?.archiveKey }),
    ]);
    expect(logs.of('discord_notice_failed')).toEqual([
      expect.objectContaining({ level: 'error', notice: 'migration', status: 500, to: '2.2.0' }),
    ]);
    expect(logs.of('version_skip')).toEqual([
      expect.objectContaining({ via: 'route', from: '2.2.0', to: '2.3.0', purge: false }),
    ]);
    expect(logs.of('version_rollback')).toEqual([
      expect.objectContaining({ via: 'route', from: '2.3.0', to: '2.2.0', purge: false }),
    ]);
    expect(logs.of('version_change_refused')).toEqual([
      expect.objectContaining({ level: 'warn', to: '2.1.0', code: 'ROLLBACK_REQUIRED' }),
    ]);
    expect(logs.of('request_refused').map((l) => l.code)).toEqual([
      'UNAUTHORIZED',
      'STALE_VERSION',
      'ROLLBACK_REQUIRED',
    ]);
    // The key is in every keyed request's URL; it must be in no log line.
    expect(logs.raw.length).toBeGreaterThan(10);
    expect(logs.raw.join('\n')).not.toContain(API_KEY);
    expect(logs.raw.join('\n')).not.toContain('wrong-key-wrong-key');
  });
});
