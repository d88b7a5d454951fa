import { env } from 'cloudflare:workers';
import { compareSemver } from '@timed/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { resetVersionCache } from '../src/ingest/version-gate.js';
import {
  alert,
  freshStart,
  getJson,
  ingest,
  listAll,
  received,
  settle,
  status,
  waitFor,
} from './helpers.js';

const OLD = Array.from({ length: 300 }, (_, i) => `OLD${String(i).padStart(3, '0')}`);

async function seedOldVersion(): Promise<void> {
  for (let i = 0; i < OLD.length; i += 50) {
    const batch = OLD.slice(i, i + 50).map((t) => ingest(alert(t, '2.1.0')));
    for (const res of await Promise.all(batch)) expect(res.status).toBe(200);
  }
  await settle();
  await waitFor(async () => (await status()).tickers === OLD.length, 'the old index');
}

describe('100 concurrent first payloads of a new version, with ingests continuing', () => {
  const newVersionTickers = new Set<string>();
  const versionsSeen: string[] = [];
  const actions: string[] = [];
  const statuses: number[] = [];

  beforeAll(async () => {
    await freshStart();
    await seedOldVersion();
    // Every isolate (here: the one test isolate) still believes S = 2.1.0, or knows nothing.
    resetVersionCache();

    const send = async (ticker: string) => {
      const res = await ingest(alert(ticker, '2.2.0', { ts: 1_704_067_200_000 + actions.length }));
      statuses.push(res.status);
      const body = (await res.json()) as { action: string };
      actions.push(body.action);
      if (res.status === 200) newVersionTickers.add(ticker);
    };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const v = await getJson<{ storedVersion: string | null }>('/timed/version');
        if (v.body.storedVersion) versionsSeen.push(v.body.storedVersion);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // 100 at once: half re-send tickers that have 2.1.0 data, half are new tickers.
    const first = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? OLD[i]! : `NEW${i}`));
    await Promise.all(first.map(send));

    // Ingests of 2.2.0 continue while the purge runs (old and new tickers, in waves).
    let wave = 0;
    while ((await status()).purge !== null && wave < 200) {
      const tickers = Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? OLD[(wave * 7 + i) % OLD.length]! : `MORE${wave}_${i}`,
      );
      await Promise.all(tickers.map(send));
      wave++;
    }
    await settle();
    await waitFor(async () => ((await status()).purge === null ? true : null), 'the purge');
    watching = false;
    await watcher;
  });

  it('migrates exactly once: one archive, one notice, S = 2.2.0', async () => {
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(actions.filter((a) => a === 'migrate')).toHaveLength(1);
    expect(await listAll('timed:archive:')).toHaveLength(1);
    const s = await status();
    expect(s.migrations).toBe(1);
    expect(s.stored).toBe('2.2.0');
    await waitFor(async () => (await env.TIMED_KV.get('timed:data_version')) === '2.2.0', 'KV S');
    const notices = await waitFor(async () => {
      const r = await received();
      return r.length > 0 ? r : null;
    }, 'the notice');
    expect(notices).toHaveLength(1);
  });

  it('deletes no 2.2.0 data, including tickers that had 2.1.0 data', async () => {
    expect(newVersionTickers.size).toBeGreaterThan(100);
    for (const prefix of ['timed:latest:', 'timed:trail:', 'timed:momentum:', 'timed:prevstate:']) {
      const keys = await listAll(prefix);
      const names = new Set(keys.map((k) => k.name.slice(prefix.length)));
      for (const t of newVersionTickers) expect(names.has(t), `${prefix}${t}`).toBe(true);
      // And nothing of 2.1.0 is left.
      for (const k of keys) expect(k.metadata, k.name).toMatchObject({ v: '2.2.0' });
      expect(names.size, prefix).toBe(newVersionTickers.size);
    }
    await waitFor(async () => (await status()).tickers === newVersionTickers.size, 'new index');
  });

  it('never showed S moving backwards', () => {
    expect(versionsSeen.length).toBeGreaterThan(0);
    for (let i = 1; i < versionsSeen.length; i++) {
      expect(compareSemver(versionsSeen[i]!, versionsSeen[i - 1]!)).toBeGreaterThanOrEqual(0);
    }
    expect(versionsSeen.at(-1)).toBe('2.2.0');
  });

  it('refuses 2.1.0 payloads after the migration', async () => {
    const res = await ingest(alert(OLD[0]!, '2.1.0'));
    expect(res.status).toBe(409);
  });
});
