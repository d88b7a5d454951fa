// `pnpm start` (scripts/start.mjs) on a clean data folder and free ports: seeded history (legacy
// days, the switch, trades days), live candles with volume reach the API, the leaderboard ranks
// with volume, a webhook lands in the Worker, Ctrl-C stops every process, and a second start on
// the same folder seeds nothing again.
import { chmodSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@timed/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, eventually, ROOT, spawnApp } from './processes.js';

let stack: App | undefined;
afterAll(async () => {
  await stack?.stop('SIGINT');
});

/** True when something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pnpm start (the local stack)', () => {
  it('serves live candles and a webhook, and Ctrl-C leaves no process behind', async () => {
    const [api, worker, gateway, pg] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const dataDir = mkdtempSync(join(tmpdir(), 'timed-stack-'));
    // As root, Postgres runs as the postgres user, which must be able to enter the folder.
    chmodSync(dataDir, 0o755);
    const start = () =>
      spawnApp(join(ROOT, 'scripts/start.mjs'), [], {
        TIMED_DATA_DIR: dataDir,
        PORT: String(api),
        TIMED_WORKER_PORT: String(worker),
        TIMED_GATEWAY_PORT: String(gateway),
        TIMED_PG_PORT: String(pg),
        TIMED_LOCAL_SYMBOLS: '50',
        TIMED_LOCAL_TPS: '100',
        TIMED_API_KEY: 'e2e-stack-key',
        DATABASE_URL: '',
        DATABENTO_API_KEY: '',
        TIMED_SEED_HISTORY: '',
        TIMED_WORKER_URL: '',
      });
    stack = start();
    await stack.waitFor(/candles appear on the dashboard/, 120_000);
    expect(stack.output.join('\n')).toContain(`dashboard     http://127.0.0.1:${api}/`);
    const seededLine = await stack.waitFor(/seeded history: /);
    expect(seededLine).toMatch(/seeded history: 97,500 bars for 50 symbols/);

    // Seeded history: three legacy days, then trades days, visible through include_legacy.
    const base = `http://127.0.0.1:${api}`;
    type Status = {
      counts: Array<{ data_source: string; is_legacy: boolean; bar_count: number }>;
      criteria: Array<{ id: string; pass: boolean; details: Record<string, unknown> }>;
    };
    // The API listens a moment after the stack prints its addresses.
    const status = () =>
      eventually(
        async () => {
          const res = await fetch(`${base}/migration/status`).catch(() => undefined);
          return res?.ok ? ((await res.json()) as Status) : undefined;
        },
        60_000,
        'the API',
      );
    const first = await status();
    const legacyCount = (s: Status) =>
      s.counts.find((c) => c.data_source === 'mbp-1' && c.is_legacy)?.bar_count;
    expect(legacyCount(first)).toBe(50 * 3 * 390);
    const days = first.criteria.find((c) => c.id === 'days_of_new_data')!;
    expect(days.details.switch_source).toBe('first trades screener start');
    const history = async (legacy: boolean) =>
      (
        (await (await fetch(`${base}/bars/AAPL?limit=10000&include_legacy=${legacy}`)).json()) as {
          bars: Array<{ is_legacy: boolean; data_source: string; volume: number }>;
        }
      ).bars;
    const withLegacy = await history(true);
    const without = await history(false);
    expect(withLegacy.filter((b) => b.is_legacy)).toHaveLength(3 * 390);
    expect(withLegacy.filter((b) => b.is_legacy).every((b) => b.data_source === 'mbp-1')).toBe(
      true,
    );
    expect(without.some((b) => b.is_legacy)).toBe(false);
    expect(without.filter((b) => b.data_source === 'trades').length).toBeGreaterThanOrEqual(
      2 * 390,
    );

    // Live candles with volume: the first minute closes within about a minute of starting.
    const bars = await eventually(
      async () => {
        // After the seeded days: the live session opened 30 minutes before the start.
        const since = new Date(Date.now() - 40 * 60_000).toISOString();
        const body = (await (
          await fetch(`http://127.0.0.1:${api}/bars/AAPL?start=${since}`)
        ).json()) as {
          bars: Array<{ volume: number; data_source: string }>;
        };
        return body.bars.length > 0 ? body.bars : undefined;
      },
      150_000,
      'a live AAPL bar from the screener',
    );
    expect(bars[0]).toMatchObject({ data_source: 'trades' });
    expect(bars[0]!.volume).toBeGreaterThan(0);

    // The leaderboard ranks gainers by pct_from_yesterday (previous closes from the seeded days),
    // with volume.
    const board = await eventually(
      async () => {
        const body = (await (await fetch(`${base}/leaderboard?direction=up&limit=5`)).json()) as {
          rows: Array<{ pct_from_yesterday: number | null; volume: number; prev_close: number }>;
        };
        return body.rows.length === 5 ? body.rows : undefined;
      },
      60_000,
      'a full leaderboard',
    );
    for (const row of board) {
      expect(row.pct_from_yesterday).not.toBeNull();
      expect(row.volume).toBeGreaterThan(0);
    }

    // The dashboard page is served.
    const page = await fetch(`http://127.0.0.1:${api}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');

    // A TradingView-style webhook lands in the Worker under wrangler dev.
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${worker}/timed/health`)).ok,
      120_000,
      'the Worker',
    );
    const res = await fetch(`http://127.0.0.1:${worker}/timed/ingest?key=e2e-stack-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        script_version: '2.1.0',
        ticker: 'AAPL',
        ts: Date.now(),
        price: 187.5,
        state: 'Q1',
      }),
    });
    expect(res.status).toBe(200);
    const latest = (await (
      await fetch(`http://127.0.0.1:${worker}/timed/latest?ticker=AAPL`)
    ).json()) as { data: { price: number } };
    expect(latest.data.price).toBe(187.5);

    // Ctrl-C: every app and Postgres stop; the stack exits 0.
    const pids = stack.output
      .map((l) => /"pid":(\d+)/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined)
      .map(Number);
    expect(await stack.stop('SIGINT')).toBe(0);
    expect(stack.output.join('\n')).toContain('[stack]     stopped');
    await eventually(async () => pids.every((p) => !alive(p)), 15_000, 'every app process to exit');
    const open = await Promise.all(
      [api, worker, gateway, pg].map(async (p) => ((await listening(p)) ? p : undefined)),
    );
    expect(open.filter((p) => p !== undefined)).toEqual([]);

    // A second start on the same folder: nothing seeded again, the legacy history as it was.
    stack = start();
    await stack.waitFor(/history not seeded: already seeded/, 120_000);
    await stack.waitFor(/candles appear on the dashboard/, 120_000);
    const again = await status();
    expect(legacyCount(again)).toBe(50 * 3 * 390);
    expect((await history(true)).filter((b) => b.is_legacy)).toHaveLength(3 * 390);
    expect(await stack.stop('SIGINT')).toBe(0);
  });
});
