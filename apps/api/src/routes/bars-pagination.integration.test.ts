import { createDb, type Db, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { ApiBar } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { walk } from '../../test/seed.js';
import { buildApp } from '../app.js';

let db: Db;
let app: FastifyInstance;

const T0 = Date.parse('2025-01-02T00:00:00Z');
const N = 100_000;
/** Original bars sit on even minutes, so odd minutes are free for bars inserted meanwhile. */
const original = walk('PAGE', T0, 2 * N, { seed: 7, everyNth: 2 });

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl')));
  await upsertBars(db, original);
  app = await buildApp({ db });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
});

type Page = { bars: ApiBar[]; next_cursor: string | null };

async function page(query: string): Promise<Page> {
  const res = await app.inject({ method: 'GET', url: `/bars/PAGE?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Page>();
}

describe('pagination over 100k bars', () => {
  it('returns every bar exactly once, ascending, while new bars are inserted', async () => {
    expect(original).toHaveLength(N);
    let inserting = true;
    let inserted = 0;
    // Writer: odd minutes anywhere in the range plus bars after the end, like a backfill and
    // the live screener writing while a client pages.
    const writer = (async () => {
      for (let round = 0; inserting && round < 200; round++) {
        const odd = walk('PAGE', T0 + 60_000 + round * 997 * 120_000, 2, { seed: round });
        const after = walk('PAGE', T0 + (2 * N + round * 3) * 60_000, 3, { seed: round + 1 });
        inserted += await upsertBars(db, [...odd.slice(0, 1), ...after]);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const seen: ApiBar[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p = await page(`limit=5000${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.bars);
      cursor = p.next_cursor;
      pages++;
    } while (cursor);
    inserting = false;
    await writer;

    expect(pages).toBeGreaterThanOrEqual(N / 5000);
    expect(inserted).toBeGreaterThan(0);
    const times = seen.map((b) => Date.parse(b.timestamp));
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]!);
    const seenSet = new Set(times);
    const missing = original.filter((b) => !seenSet.has(b.timestamp.getTime()));
    expect(missing).toEqual([]);
    // Nothing served that is not in the table.
    const stored = await db
      .selectFrom('price_bars')
      .select('timestamp')
      .where('symbol', '=', 'PAGE')
      .execute();
    const storedSet = new Set(stored.map((r) => r.timestamp.getTime()));
    expect(times.filter((t) => !storedSet.has(t))).toEqual([]);
  });

  it('keeps a cursor stable: bars added before it never appear, bars added after it do', async () => {
    const first = await page('start=2025-01-02T00:00Z&end=2025-01-02T01:00Z&limit=10');
    const lastServed = Date.parse(first.bars.at(-1)!.timestamp);
    expect(first.next_cursor).not.toBeNull();
    // Free odd minutes on both sides of the cursor (the first test's writer fills others).
    const before = walk('PAGE', lastServed - 3 * 60_000, 1, { seed: 90 });
    const afterIt = walk('PAGE', lastServed + 3 * 60_000, 1, { seed: 91 });
    const second = await page(
      `start=2025-01-02T00:00Z&end=2025-01-02T01:00Z&limit=10&cursor=${first.next_cursor}`,
    );
    await upsertBars(db, [...before, ...afterIt]);
    const again = await page(
      `start=2025-01-02T00:00Z&end=2025-01-02T01:00Z&limit=10&cursor=${first.next_cursor}`,
    );
    const t = (p: Page) => p.bars.map((b) => Date.parse(b.timestamp));
    expect(t(again).every((x) => x > lastServed)).toBe(true);
    expect(t(again)).toContain(afterIt[0]!.timestamp.getTime());
    expect(t(again)).not.toContain(before[0]!.timestamp.getTime());
    // Same start as before the insert: the page simply now includes the new bar in its place.
    expect(t(again)[0]).toBe(t(second)[0]);
  });
});
