import { createDb, createTestDatabase, type Db } from '@timed/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../app.js';
import type { HealthResponse } from '../schemas.js';

let db: Db;
let app: FastifyInstance;

beforeAll(async () => {
  db = createDb(await createTestDatabase(inject('adminUrl'), { prefix: 'api_health' }));
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
