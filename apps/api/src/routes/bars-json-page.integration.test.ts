import {
  type BarRow,
  createDb,
  type Db,
  encodeBarsPosition,
  readBarRows,
  upsertBars,
  utcTextToDate,
} from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { BarInput } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { prng, walk } from '../../test/seed.js';
import { buildApp } from '../app.js';
import { barJsonExact } from '../bars-format.js';

// JSON pages without fill are rendered from COPY's bytes; this checks them byte for byte against
// the text-row rendering (readBarRows + barJsonExact), which every other format still uses.

let db: Db;
let app: FastifyInstance;

const DAY0 = Date.parse('2025-03-03T00:00:00Z');
const DAYS = 12;
const SYMBOLS = ['JA', 'JB.X', 'JC'];

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl')));
  const rnd = prng(16);
  const bars: BarInput[] = [];
  for (const [s, symbol] of SYMBOLS.entries()) {
    for (let d = 0; d < DAYS; d++) {
      const from = DAY0 + d * 86_400_000 + 8 * 3_600_000;
      const day = walk(symbol, from, 16 * 60, { seed: s * 100 + d, everyNth: 1 + (d % 3) });
      // Some bars with a VWAP (the rest null), some legacy, whole numbers and zero volume.
      for (const b of day) {
        const r = rnd();
        if (r < 0.5) b.vwap = ((Number(b.high) + Number(b.low)) / 2).toFixed(6);
        else if (r < 0.6) Object.assign(b, { is_legacy: true, data_source: 'mbp-1' });
        else if (r < 0.65)
          Object.assign(b, {
            open: '100',
            high: '100.5000',
            low: '99.0000',
            close: '100.0000',
            volume: 0,
          });
      }
      bars.push(...day);
    }
  }
  await upsertBars(db, bars);
  app = await buildApp({ db, barsCacheTtlMs: 0 });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
});

/** Today's body from text rows: limit + 1 rows, the extra one only telling a page follows. */
async function expected(
  symbol: string,
  o: { start: string; end: string; limit: number; legacy: boolean; cursor?: string },
  after: Date | undefined,
  interval: '1m' | '5m' | '1h',
  session: 'all' | 'regular' | 'extended',
): Promise<string> {
  const rows: BarRow[] = await readBarRows(db, {
    symbols: [symbol],
    start: new Date(o.start),
    end: new Date(o.end),
    includeLegacy: o.legacy,
    interval,
    session,
    after: after && { timestamp: after },
    limit: o.limit + 1,
  });
  const more = rows.length > o.limit;
  const page = rows.slice(0, o.limit);
  const last = page[page.length - 1];
  const cursor =
    more && last ? `"${encodeBarsPosition({ timestamp: utcTextToDate(last[1]) })}"` : 'null';
  return `{"symbol":"${symbol}","bars":[${page.map(barJsonExact).join(',')}],"next_cursor":${cursor}}`;
}

describe('JSON pages rendered from COPY', () => {
  it('are the bytes of the text-row rendering on random symbols, ranges, limits and cursors', async () => {
    const rnd = prng(61);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    let nonEmpty = 0;
    let followed = 0;
    for (let n = 0; n < 120; n++) {
      const symbol = pick([...SYMBOLS, 'NONE']);
      const d = Math.floor(rnd() * DAYS);
      const start = new Date(DAY0 + d * 86_400_000 + Math.floor(rnd() * 20) * 3_600_000);
      const end = new Date(start.getTime() + Math.floor(1 + rnd() * 3 * 86_400_000));
      const o = {
        start: start.toISOString(),
        end: end.toISOString(),
        limit: pick([1, 2, 7, 100, 390, 1000, 10_000]),
        legacy: rnd() < 0.5,
      };
      const interval = pick(['1m', '1m', '5m', '1h'] as const);
      const session = pick(['all', 'all', 'regular', 'extended'] as const);
      let url =
        `/bars/${symbol}?start=${o.start}&end=${o.end}&limit=${o.limit}&include_legacy=${o.legacy}` +
        `&interval=${interval}&session=${session}`;
      let after: Date | undefined;
      // Half the time the second page, through the first page's cursor.
      if (rnd() < 0.5) {
        const first = await app.inject({ method: 'GET', url });
        const cursor = first.json<{ next_cursor: string | null }>().next_cursor;
        if (cursor) {
          followed++;
          url += `&cursor=${cursor}`;
          after = new Date(Number(/t:(\d+)/.exec(Buffer.from(cursor, 'base64url').toString())![1]));
        }
      }
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, res.body).toBe(200);
      const want = await expected(symbol, o, after, interval, session);
      expect(res.body, url).toBe(want);
      if (want.includes('"timestamp"')) nonEmpty++;
    }
    // The draw covered pages with bars and second pages.
    expect(nonEmpty).toBeGreaterThan(40);
    expect(followed).toBeGreaterThan(10);
  });
});
