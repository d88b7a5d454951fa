/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// DOM types for the functions that run inside the page (page.evaluate).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, createTestDatabase, type Db, upsertBars } from '@timed/db';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { session, walk } from '../test/seed.js';
import { buildApp } from './app.js';

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
    db = createDb(await createTestDatabase(inject('adminUrl')));
    await upsertBars(db, [
      ...session('AAPL', '2025-10-21', 21, true),
      ...walk('AAPL', Date.parse('2025-10-22T13:00:00Z'), 30, { seed: 4, legacy: true }),
      ...session('AAPL', '2025-10-22', 22),
    ]);
    app = await buildApp({ db, publicDir: inject('publicDir') });
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
    expect(rows).toBe(7);
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

  it('shows the API error for a bad symbol', async () => {
    await page.locator('#symbol').fill("AAPL'; DROP TABLE price_bars");
    await page.locator('button[type=submit]').click();
    expect(await settled()).toBe('error');
    await expect.poll(() => page.locator('#error').isVisible()).toBe(true);
    expect(await page.locator('#error').textContent()).toMatch(/^symbol: must be/);
    expect(await page.locator('#chart').getAttribute('data-bars')).toBe('0');
  });
});
