import { createDb, type Db, sql } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type LiveApi, startLiveApi } from '../../test/live-api.js';
import { SseClient, until } from '../../test/sse.js';
import { buildApp } from '../app.js';
import type { HealthResponse } from '../schemas.js';

let url: string;
let db: Db;
let app: FastifyInstance;

beforeAll(async () => {
  url = await createTestDatabase(inject('adminUrl'), { prefix: 'api_health' });
  db = createDb(url);
  app = await buildApp({ db });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
});
beforeEach(async () => {
  await db.deleteFrom('screener_instances').execute();
});

/** A live heartbeat row (seen just now, not stopped). */
async function alive(id: string, dataset: string, schema: string) {
  await db
    .insertInto('screener_instances')
    .values({ instance_id: id, host: 'host-a', pid: 4242, dataset, schema, last_seen: new Date() })
    .execute();
}

async function health(): Promise<HealthResponse> {
  const res = await app.inject({ method: 'GET', url: '/health' });
  expect(res.statusCode).toBe(200);
  return res.json<HealthResponse>();
}

describe('GET /health: one writer per dataset', () => {
  it('flags a trades and an mbp-1 screener alive for the same dataset', async () => {
    await alive('t1', 'EQUS.MINI', 'trades');
    await alive('m1', 'EQUS.MINI', 'mbp-1');
    const body = await health();
    expect(body.status).toBe('degraded');
    expect(body.screeners.alive).toBe(2);
    expect(body.problems).toEqual([
      expect.stringMatching(
        /^2 screeners alive for EQUS\.MINI\/mbp-1\+trades \((t1 trades, m1 mbp-1|m1 mbp-1, t1 trades)\): duplicate scanners write the same bars \(one writer per dataset, whatever the schema\); stop all but one$/,
      ),
    ]);
  });

  it('is ok with one writer in each of two datasets, and once the second writer stops', async () => {
    await alive('t1', 'EQUS.MINI', 'trades');
    await alive('x1', 'XNAS.ITCH', 'mbp-1');
    let body = await health();
    expect(body.status).toBe('ok');
    expect(body.problems).toEqual([]);

    await alive('m1', 'EQUS.MINI', 'mbp-1');
    expect((await health()).status).toBe('degraded');
    await db
      .updateTable('screener_instances')
      .set({ stopped_at: new Date() })
      .where('instance_id', '=', 'm1')
      .execute();
    body = await health();
    expect(body.status).toBe('ok');
    expect(body.screeners.alive).toBe(2);
  });
});

describe('GET /health: the live hub', () => {
  const apis: LiveApi[] = [];
  afterAll(async () => {
    for (const a of apis) await a.close();
  });
  const liveHealth = async (a: LiveApi) =>
    (await a.app.inject({ method: 'GET', url: '/health' })).json<HealthResponse>();

  it('is null without live routes', async () => {
    expect((await health()).live).toBeNull();
  });

  it("carries the hub's figures: streams, drops, the LISTEN connection and its reconnects", async () => {
    const a = await startLiveApi(db, url);
    apis.push(a);
    await alive('t1', 'EQUS.MINI', 'trades');
    let body = await liveHealth(a);
    expect(body.status).toBe('ok');
    expect(body.live).toEqual({
      listener_connected: true,
      listener_reconnects: 0,
      streams: 0,
      dropped_clients: 0,
      symbols: 0,
      closed_through: null,
    });

    const client = await new SseClient(`${a.base}/stream?symbols=AAA`).open();
    await until(() => a.hub.stats.streams === 1, 'the stream');
    expect((await liveHealth(a)).live?.streams).toBe(1);
    client.close();

    await sql`SELECT pg_terminate_backend(${a.hub.listenerPid!})`.execute(db);
    await until(() => a.hub.stats.listenerReconnects === 1, 'the listener to reconnect');
    body = await liveHealth(a);
    expect(body.live).toMatchObject({ listener_connected: true, listener_reconnects: 1 });
    expect(body.status).toBe('ok');
  });

  it('is degraded, naming it, while the LISTEN connection is down', async () => {
    // Reconnects only after an hour: the drop stays visible.
    const a = await startLiveApi(db, url, { reconnectMinMs: 3_600_000 });
    apis.push(a);
    await alive('t1', 'EQUS.MINI', 'trades');
    await sql`SELECT pg_terminate_backend(${a.hub.listenerPid!})`.execute(db);
    await until(() => !a.hub.stats.listenerConnected, 'the LISTEN connection to drop');
    const body = await liveHealth(a);
    expect(body.status).toBe('degraded');
    expect(body.live).toMatchObject({ listener_connected: false, listener_reconnects: 0 });
    expect(body.problems).toEqual([
      expect.stringMatching(/^live: the LISTEN connection to Postgres is down \(reconnecting/),
    ]);
  });
});
