import { createDb, type Db, LivePublisher, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveState } from '../../test/live-state.js';
import { walk } from '../../test/seed.js';
import { buildApp } from '../app.js';
import type { HealthResponse, MigrationStatusResponse } from '../schemas.js';

let db: Db;
let app: FastifyInstance;

const HOUR = 3_600_000;
// Whole hours, so each seeded hour holds exactly 60 bars.
const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
const newFrom = thisHour - 20 * HOUR;
const legacyFrom = thisHour - 72 * HOUR;

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl')));
  await upsertBars(db, [
    // Legacy: 2 hours of MBP-1 bars three days ago (60 per hour).
    ...walk('AAPL', legacyFrom, 120, { seed: 1, legacy: true }),
    // New: 20 full hours of trades bars (1,200 bars, 60 per hour), all with volume.
    ...walk('AAPL', newFrom, 20 * 60, { seed: 2 }),
  ]);
  // The screener's live state: AAPL up on the day, with volume (what the leaderboard ranks).
  const publisher = new LivePublisher(db);
  publisher.publish([liveState('AAPL', 104, { prevClose: 100, volume: 250_000 })]);
  await publisher.close();
  app = await buildApp({ db });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
});

async function heartbeat(
  id: string,
  extra: { last_error?: string; minutesAgo?: number; startedDaysAgo?: number } = {},
) {
  const now = new Date();
  await db
    .insertInto('screener_instances')
    .values({
      instance_id: id,
      host: 'host-a',
      pid: 4242,
      dataset: 'XNAS.ITCH',
      schema: 'trades',
      last_seen: now,
      ...(extra.startedDaysAgo === undefined
        ? {}
        : { started_at: new Date(now.getTime() - extra.startedDaysAgo * 86_400_000) }),
      errors: extra.last_error ? 1 : 0,
      last_error: extra.last_error ?? null,
      last_error_at: extra.last_error
        ? new Date(now.getTime() - (extra.minutesAgo ?? 1) * 60_000)
        : null,
    })
    .onConflict((oc) =>
      oc.column('instance_id').doUpdateSet({
        last_seen: now,
        last_error: extra.last_error ?? null,
        last_error_at: extra.last_error
          ? new Date(now.getTime() - (extra.minutesAgo ?? 1) * 60_000)
          : null,
      }),
    )
    .execute();
}

async function status(query = '') {
  const res = await app.inject({ method: 'GET', url: `/migration/status${query}` });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<MigrationStatusResponse>();
  return { body, pass: Object.fromEntries(body.criteria.map((c) => [c.id, c.pass])) };
}

describe('GET /health', () => {
  it('reports the database, newest bar per data_source and no screener as a problem', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    const body = res.json<HealthResponse>();
    expect(body.database.reachable).toBe(true);
    expect(body.newest_bars).toEqual([
      { data_source: 'trades', newest_bar: new Date(newFrom + (1200 - 1) * 60_000).toISOString() },
      { data_source: 'mbp-1', newest_bar: new Date(legacyFrom + 119 * 60_000).toISOString() },
    ]);
    expect(body.status).toBe('degraded');
    expect(body.problems.join()).toMatch(/no screener is alive/);
  });

  it('is ok with one live screener and flags two alive on the same feed', async () => {
    await heartbeat('one');
    let body = (await app.inject({ method: 'GET', url: '/health' })).json<HealthResponse>();
    expect(body.status).toBe('ok');
    expect(body.problems).toEqual([]);
    expect(body.screeners.alive).toBe(1);
    expect(body.screeners.instances[0]).toMatchObject({ instance_id: 'one', alive: true });

    await heartbeat('two');
    body = (await app.inject({ method: 'GET', url: '/health' })).json<HealthResponse>();
    expect(body.status).toBe('degraded');
    expect(body.screeners.alive).toBe(2);
    expect(body.problems.join()).toMatch(/2 screeners alive for XNAS\.ITCH\/trades.*duplicate/);
    await db.updateTable('screener_instances').set({ stopped_at: new Date() }).execute();
  });
});

describe('GET /migration/status', () => {
  it('computes every success criterion live and passes when the data is good', async () => {
    // The trades screener was switched on 3.5 days ago (its first heartbeat row's start).
    await heartbeat('live', { startedDaysAgo: 3.5 });
    const { body, pass } = await status();
    expect(pass).toEqual({
      new_bars_have_volume: true,
      min_new_bars: true,
      coverage_per_hour: true,
      one_screener_alive: true,
      no_screener_errors_last_hour: true,
      days_of_new_data: true,
      no_screener_errors_since_switch: true,
      api_returns_correct_data: true,
      leaderboard_shows_volume: true,
    });
    expect(body.passed).toBe(true);
    const byId = Object.fromEntries(body.criteria.map((c) => [c.id, c]));
    expect(byId.min_new_bars!.value).toBe(1200);
    expect(byId.new_bars_have_volume!.value).toBe(1);
    expect(byId.coverage_per_hour!.details).toMatchObject({
      new_bars_per_hour: 60,
      legacy_bars_per_hour: 60,
    });
    expect(byId.one_screener_alive!.value).toBe(1);
    // From the switch to the newest trades bar (the last minute before this hour).
    const newest = newFrom + 1199 * 60_000;
    expect(byId.days_of_new_data).toMatchObject({
      pass: true,
      target: '>= 3 days from the switch to the newest trades bar',
      details: {
        min_days: 3,
        switch_source: 'first trades screener start',
        newest_trades_bar: new Date(newest).toISOString(),
      },
    });
    const switchAt = Date.parse(byId.days_of_new_data!.details.switch_at as string);
    expect(byId.days_of_new_data!.value).toBe(
      Math.floor(((newest - switchAt) / 86_400_000) * 100) / 100,
    );
    expect(byId.no_screener_errors_since_switch).toMatchObject({ value: 0, pass: true });
  });

  it('wants the days ?min_days asks for, and names a bad value', async () => {
    const { body, pass } = await status('?min_days=5');
    expect(pass.days_of_new_data).toBe(false);
    expect(body.passed).toBe(false);
    const days = body.criteria.find((c) => c.id === 'days_of_new_data')!;
    expect(days.target).toBe('>= 5 days from the switch to the newest trades bar');
    expect(days.description).toBe('At least 5 day(s) of trades bars since the switch');
    const bad = await app.inject({ method: 'GET', url: '/migration/status?min_days=-1' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: expect.any(String) } });
    expect(bad.body).toContain('min_days');
  });

  it('returns the seed counts per data_source/is_legacy and the last day by hour', async () => {
    const { body } = await status();
    expect(body.counts).toEqual([
      {
        data_source: 'mbp-1',
        is_legacy: true,
        bar_count: 120,
        total_volume: 0,
        first_bar: new Date(legacyFrom).toISOString(),
        last_bar: new Date(legacyFrom + 119 * 60_000).toISOString(),
      },
      {
        data_source: 'trades',
        is_legacy: false,
        bar_count: 1200,
        total_volume: walk('AAPL', newFrom, 20 * 60, { seed: 2 }).reduce(
          (n, b) => n + Number(b.volume),
          0,
        ),
        first_bar: new Date(newFrom).toISOString(),
        last_bar: new Date(newFrom + 1199 * 60_000).toISOString(),
      },
    ]);
    expect(body.last_day_by_hour).toHaveLength(20);
    expect(body.last_day_by_hour.every((h) => h.new_bars === 60 && h.legacy_bars === 0)).toBe(true);
  });

  it('fails the criteria the data breaks: zero volume, errors, a second screener', async () => {
    await upsertBars(db, walk('MSFT', thisHour + 0, 1, { seed: 3, legacy: false }));
    await db.updateTable('price_bars').set({ volume: 0 }).where('symbol', '=', 'MSFT').execute();
    await heartbeat('live', { last_error: 'gateway closed the session', minutesAgo: 5 });
    await heartbeat('second');
    const { body, pass } = await status();
    expect(pass).toMatchObject({
      new_bars_have_volume: false,
      min_new_bars: true,
      one_screener_alive: false,
      no_screener_errors_last_hour: false,
      no_screener_errors_since_switch: false,
    });
    expect(body.passed).toBe(false);
    const errors = body.criteria.find((c) => c.id === 'no_screener_errors_last_hour')!;
    expect(errors.details).toMatchObject({
      errors: [{ instance_id: 'live', last_error: 'gateway closed the session' }],
    });
    const since = body.criteria.find((c) => c.id === 'no_screener_errors_since_switch')!;
    expect(since).toMatchObject({
      value: 1,
      details: { errors: [{ instance_id: 'live', last_error: 'gateway closed the session' }] },
    });
  });

  it('keeps counting an error after the last hour: cumulative since the switch', async () => {
    await heartbeat('second', {});
    await db
      .updateTable('screener_instances')
      .set({ stopped_at: new Date() })
      .where('instance_id', '=', 'second')
      .execute();
    await heartbeat('live', { last_error: 'gateway closed the session', minutesAgo: 26 * 60 });
    await db
      .updateTable('screener_instances')
      .set({ errors: 4 })
      .where('instance_id', '=', 'live')
      .execute();
    const { body, pass } = await status();
    expect(pass.no_screener_errors_last_hour).toBe(true);
    expect(pass.no_screener_errors_since_switch).toBe(false);
    expect(body.criteria.find((c) => c.id === 'no_screener_errors_since_switch')!.value).toBe(4);
  });
});

describe('docs, CORS, rate limit', () => {
  it('serves an OpenAPI 3 document generated from the zod schemas, and the UI at /docs', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, { get: { parameters?: { name: string; in: string }[] } }>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/bars/{symbol}', '/health', '/migration/status']),
    );
    const names = doc.paths['/bars/{symbol}']!.get.parameters!.map((p) => `${p.in}:${p.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'path:symbol',
        'query:start',
        'query:end',
        'query:include_legacy',
        'query:limit',
        'query:cursor',
        'query:interval',
        'query:format',
      ]),
    );
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });

  it('answers CORS for configured origins only', async () => {
    const limited = await buildApp({ db, corsOrigin: ['https://desk.example'] });
    try {
      const ok = await limited.inject({
        method: 'GET',
        url: '/health',
        headers: { origin: 'https://desk.example' },
      });
      expect(ok.headers['access-control-allow-origin']).toBe('https://desk.example');
      const other = await limited.inject({
        method: 'GET',
        url: '/health',
        headers: { origin: 'https://evil.example' },
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await limited.close();
    }
    const open = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://any.example' },
    });
    expect(open.headers['access-control-allow-origin']).toBe('*');
  });

  it('rate-limits per client with a 429 in the error shape and Retry-After', async () => {
    const limited = await buildApp({ db, rateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      const codes: number[] = [];
      let last: Awaited<ReturnType<typeof limited.inject>> | undefined;
      for (let i = 0; i < 4; i++) {
        last = await limited.inject({ method: 'GET', url: '/bars/AAPL?limit=1' });
        codes.push(last.statusCode);
      }
      expect(codes).toEqual([200, 200, 200, 429]);
      expect(last!.headers['retry-after']).toBeDefined();
      expect(last!.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    } finally {
      await limited.close();
    }
  });
});
