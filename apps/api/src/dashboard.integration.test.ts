/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// DOM types for the functions that run inside the page (page.evaluate).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, type Db, LivePublisher, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveState } from '../test/live-state.js';
import { session, walk } from '../test/seed.js';
import { until } from '../test/sse.js';
import { buildApp } from './app.js';
import { LiveHub } from './live-hub.js';

const executablePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(executablePath);
if (!haveBrowser) {
  if (process.env.CI) {
    throw new Error(`Chromium not found at ${executablePath} (CI must install Debian's chromium)`);
  }
  console.warn(
    `[dashboard test] SKIPPED: no Chromium at ${executablePath}; ` +
      'install it with `apt-get install -y --no-install-recommends chromium` or set CHROME_PATH',
  );
}

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

let db: Db;
let hub: LiveHub;
let publisher: LivePublisher;
let app: FastifyInstance;
let browser: Browser;
let page: Page;
let base: string;

/** Pixels of the chart's canvases within a small distance of `hex`. */
async function pixelsOf(hex: string): Promise<number> {
  return page.evaluate((color) => {
    const want = [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16));
    let n = 0;
    for (const canvas of document.querySelectorAll<HTMLCanvasElement>('#chart canvas')) {
      const ctx = canvas.getContext('2d');
      if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) {
        if (
          Math.abs(data[i]! - want[0]!) <= 6 &&
          Math.abs(data[i + 1]! - want[1]!) <= 6 &&
          Math.abs(data[i + 2]! - want[2]!) <= 6
        )
          n++;
      }
    }
    return n;
  }, hex);
}

async function settled(): Promise<string> {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''));
  // Let lightweight-charts paint the new data (it draws on the next animation frame).
  await page.evaluate(
    () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null)))),
  );
  return page.evaluate(() => document.body.dataset.state ?? '');
}

const UP = '#26a69a';
const LEGACY = '#f0b429';

describe.skipIf(!haveBrowser)('dashboard in headless Chromium', () => {
  beforeAll(async () => {
    const url = await createTestDatabase(inject('adminUrl'));
    db = createDb(url);
    await upsertBars(db, [
      ...session('MSFT', '2025-10-22', 31),
      ...session('AAPL', '2025-10-21', 21, true),
      ...walk('AAPL', Date.parse('2025-10-22T13:00:00Z'), 30, { seed: 4, legacy: true }),
      ...session('AAPL', '2025-10-22', 22),
    ]);
    hub = new LiveHub({ db, url, leaderboardIntervalMs: 50 });
    await hub.start();
    publisher = new LivePublisher(db);
    app = await buildApp({ db, publicDir: inject('publicDir'), live: hub });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await hub?.close();
    await publisher?.close();
    await db?.destroy();
  });

  it('loads the seeded bars and draws candles with a volume histogram', async () => {
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('pageerror', (e) => failed.push(e.message));
    await page.goto(`${base}/?symbol=AAPL&start=2025-10-21&end=2025-10-22`);
    expect(await settled()).toBe('ready');
    expect(failed).toEqual([]);
    expect(await page.locator('#chart').getAttribute('data-bars')).toBe('390');
    expect(await page.locator('#chart').getAttribute('data-legacy-bars')).toBe('0');
    expect(await page.locator('#summary').textContent()).toMatch(/390 1m bars of AAPL/);
    expect(await pixelsOf(UP)).toBeGreaterThan(200);
    expect(await pixelsOf(LEGACY)).toBe(0);
  });

  it('shows the migration-status panel with every criterion', async () => {
    await page.waitForFunction(() => document.body.dataset.migration === 'ready');
    const rows = await page.locator('#criteria tbody tr').count();
    expect(rows).toBe(9); // the seven gates and the API's own criteria 4 and 5
    expect(await page.locator('#counts tbody tr').count()).toBe(2);
    expect(await page.locator('#migration-verdict').textContent()).toMatch(/not ready/);
  });

  it('draws legacy bars distinctly when the legacy toggle is on, and hides them again', async () => {
    await page.locator('#legacy').check();
    expect(await settled()).toBe('ready');
    expect(await page.locator('#chart').getAttribute('data-bars')).toBe(String(390 * 2 + 30));
    expect(await page.locator('#chart').getAttribute('data-legacy-bars')).toBe('420');
    expect(await pixelsOf(LEGACY)).toBeGreaterThan(200);
    expect(page.url()).toContain('include_legacy=true');
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });

    await page.locator('#legacy').uncheck();
    expect(await settled()).toBe('ready');
    expect(await page.locator('#chart').getAttribute('data-bars')).toBe('390');
    expect(await pixelsOf(LEGACY)).toBe(0);
  });

  it('moves the live price and the open candle over /stream without a reload', async () => {
    await page.goto(`${base}/?symbol=AAPL&start=2025-10-21&end=2025-10-22`);
    expect(await settled()).toBe('ready');
    await page.waitForFunction(() => document.body.dataset.stream === 'open');
    await until(() => hub.stats.streams === 1, 'the page to stream');
    // A marker that a reload would wipe.
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    const minute = Date.parse('2025-10-22T20:00:00Z');
    const chart = page.locator('#chart');
    const candles = async () => Number(await chart.getAttribute('data-bars'));
    publisher.publish([
      liveState('AAPL', 123.45, {
        prevClose: 120,
        volume: 250_000,
        barTimestamp: minute,
        barOpen: 123,
        barHigh: 123.5,
        barLow: 122.9,
        barClose: 123.45,
        barVolume: 500,
      }),
    ]);
    await page.waitForFunction(
      () => document.getElementById('live-price')?.dataset.price === '123.45',
    );
    expect(await page.locator('#live-price').textContent()).toMatch(/AAPL.*123\.45.*\+2\.88%/);
    await page.waitForFunction(
      () => document.getElementById('chart')?.dataset.openClose === '123.45',
    );
    expect(await chart.getAttribute('data-open-volume')).toBe('500');

    publisher.publish([
      liveState('AAPL', 124.1, {
        prevClose: 120,
        barTimestamp: minute,
        barOpen: 123,
        barHigh: 124.2,
        barLow: 122.9,
        barClose: 124.1,
        barVolume: 900,
      }),
    ]);
    await page.waitForFunction(
      () => document.getElementById('chart')?.dataset.openClose === '124.1',
    );
    expect(await chart.getAttribute('data-open-volume')).toBe('900');
    expect(await page.locator('#live-price').getAttribute('data-price')).toBe('124.1');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await candles()).toBe(390);
  });

  it('shows the leaderboard with volume, and charts a symbol clicked in it', async () => {
    publisher.publish([
      liveState('MSFT', 410, { prevClose: 400, volume: 3_000_000, tradeCount: 20_000 }),
      liveState('NVDA', 150, { prevClose: 160, volume: 9_000_000, tradeCount: 70_000 }),
    ]);
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#leaderboard-table tbody tr[data-symbol="MSFT"]').length === 1,
    );
    const gainers = await page
      .locator('#leaderboard-table tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.symbol));
    // AAPL +3.42 %, MSFT +2.5 %, NVDA −6.25 %.
    expect(gainers).toEqual(['AAPL', 'MSFT', 'NVDA']);

    await page.locator('#leaderboard button[data-board="volume"]').click();
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLElement>('#leaderboard-table tbody tr')?.dataset.symbol ===
        'NVDA',
    );
    const volumeCell = page.locator('#leaderboard-table tbody tr[data-symbol="NVDA"] td.volume');
    expect(await volumeCell.textContent()).toMatch(/9.000.000/);

    await page.locator('#leaderboard-table tbody tr[data-symbol="MSFT"]').click();
    expect(await settled()).toBe('ready');
    await page.waitForFunction(
      () => document.querySelector<HTMLInputElement>('#symbol')?.value === 'MSFT',
    );
    expect(await page.locator('#summary').textContent()).toMatch(/390 1m bars of MSFT/);
    await page.waitForFunction(
      () => document.getElementById('live-price')?.dataset.price === '410',
    );
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard-live.png'), fullPage: true });
  });

  it('shows the API error for a bad symbol', async () => {
    await page.locator('#symbol').fill("AAPL'; DROP TABLE price_bars");
    await page.locator('button[type=submit]').click();
    expect(await settled()).toBe('error');
    await expect.poll(() => page.locator('#error').isVisible()).toBe(true);
    expect(await page.locator('#error').textContent()).toMatch(/^symbol: must be/);
    expect(await page.locator('#chart').getAttribute('data-bars')).toBe('0');
  });
});
