import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { KV_OPS_PER_INVOCATION } from '../src/coordinator/purge-job.js';
import {
  alert,
  captureLogs,
  freshStart,
  ingest,
  KvRecorder,
  listAll,
  received,
  status,
  waitFor,
} from './helpers.js';

const TICKERS = Array.from({ length: 5_000 }, (_, i) => `X${String(i).padStart(4, '0')}`);
const PREFIXES = ['timed:latest:', 'timed:trail:', 'timed:momentum:', 'timed:prevstate:'];

/**
 * Writes 5,000 tickers of 2.1.0 data as a pre-coordinator Worker left it: S and the index in KV,
 * four keys per ticker; half carry version metadata, half (legacy) none.
 */
async function seedLegacyKv(): Promise<void> {
  await env.TIMED_KV.put('timed:data_version', '2.1.0');
  await env.TIMED_KV.put('timed:tickers', JSON.stringify(TICKERS));
  const writes: (() => Promise<void>)[] = [];
  TICKERS.forEach((t, i) => {
    const metadata = i % 2 === 0 ? { v: '2.1.0' } : undefined;
    for (const prefix of PREFIXES) {
      writes.push(() => env.TIMED_KV.put(`${prefix}${t}`, JSON.stringify({ t }), { metadata }));
    }
  });
  for (let i = 0; i < writes.length; i += 500) {
    await Promise.all(writes.slice(i, i + 500).map((w) => w()));
  }
}

describe('a migration that must purge 5,000 tickers', () => {
  // 20,000 KV writes take long on a loaded 2-core machine.
  beforeAll(async () => {
    await freshStart();
    await seedLegacyKv();
  }, 300_000);

  it('answers the webhook before the purge ends, then purges in <= 1,000-op slices', async () => {
    const recorder = new KvRecorder().install();
    const logs = captureLogs();
    const res = await ingest(alert('NEWCO', '2.2.0'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { action: string; migration: { archiveKey: string } };
    expect(body.action).toBe('migrate');

    // The response is back while the purge has not finished: old data is still there.
    const right = await status();
    expect(right.purge).not.toBeNull();
    expect(right.stored).toBe('2.2.0');
    expect(await env.TIMED_KV.get('timed:latest:X4999')).not.toBeNull();
    // The webhook itself did no purge work.
    const webhookOps = recorder.ops.filter((o) => o.scope.startsWith('fetch#'));
    expect(webhookOps.filter((o) => o.kind === 'delete' || o.kind === 'list')).toEqual([]);

    // It continues after the response, in alarm invocations, until done.
    const done = await waitFor(
      async () => {
        const s = await status();
        return s.purge === null ? s : null;
      },
      'the 5,000-ticker purge',
      240_000,
    );
    logs.restore();
    // Each slice logged its progress: the deleted count grew slice by slice, then it finished.
    const progress = logs.of('purge_progress');
    expect(progress.length).toBeGreaterThanOrEqual(Math.ceil(20_000 / KV_OPS_PER_INVOCATION) - 1);
    const deleted = progress.map((p) => Number(p.deletedKeys));
    expect(deleted[0]).toBeGreaterThan(0);
    expect(deleted.at(-1)).toBeLessThan(20_000);
    for (let i = 1; i < deleted.length; i++)
      expect(deleted[i]).toBeGreaterThanOrEqual(deleted[i - 1]!);
    expect(logs.of('purge_finished')).toEqual([
      expect.objectContaining({ reason: 'migration', deletedKeys: 20_000 }),
    ]);
    expect(done.lastMigration).toMatchObject({
      from: '2.1.0',
      to: '2.2.0',
      tickerCount: 5_000,
      deletedKeys: 20_000,
    });

    for (const prefix of PREFIXES) {
      expect(
        (await listAll(prefix)).map((k) => k.name),
        prefix,
      ).toEqual([`${prefix}NEWCO`]);
    }
    const archive = await env.TIMED_KV.get(body.migration.archiveKey, 'json');
    expect(archive).toMatchObject({
      version: '2.1.0',
      tickerCount: 5_000,
      sampleTickers: TICKERS.slice(0, 10),
    });

    // Every invocation stayed within KV's 1,000 operations; the purge needed many of them,
    // each listing with the cursor where the previous one stopped.
    const perScope = recorder.opsByScope();
    const alarmScopes = [...perScope].filter(([scope]) => scope.startsWith('alarm#'));
    expect(alarmScopes.length).toBeGreaterThanOrEqual(Math.ceil(20_000 / KV_OPS_PER_INVOCATION));
    for (const [scope, ops] of perScope) expect(ops, scope).toBeLessThanOrEqual(1_000);
    const lists = recorder.ops.filter((o) => o.kind === 'list');
    expect(lists.length).toBeGreaterThan(PREFIXES.length);
    const deletes = recorder.ops.filter((o) => o.kind === 'delete');
    expect(new Set(deletes.map((d) => d.key)).size).toBe(deletes.length);

    const notice = await waitFor(async () => (await received())[0], 'the Discord notice');
    expect(JSON.stringify(notice.body)).toContain('5000 tickers archived, 20000 keys purged');
  }, 300_000);
});
