import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, type Db, migrate, upsertBars } from '@timed/db';
import {
  type EmbeddedPostgresHandle,
  ensureDatabase,
  startEmbeddedPostgres,
} from '@timed/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { session } from '../test/seed.js';
import { buildApp } from './app.js';

// Its own Postgres, persistent in a temp folder, so the test can stop and restart it.
let dataDir: string;
let pg: EmbeddedPostgresHandle | undefined;
let db: Db;
let app: FastifyInstance;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'timed-api-outage-'));
  pg = await startEmbeddedPostgres({ dataDir, persistent: true });
  const url = await ensureDatabase(pg.url(), 'outage');
  await migrate({ url });
  db = createDb(url);
  await upsertBars(db, session('AAPL', '2025-10-22'));
  app = await buildApp({ db, retryAfterSeconds: 7 });
});
afterAll(async () => {
  await app?.close();
  await db?.destroy();
  await pg?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const bars = () => app.inject({ method: 'GET', url: '/bars/AAPL?start=2025-10-22' });

describe('Postgres outage', () => {
  it('answers 503 with Retry-After while Postgres is down, and 200 again once it is back', async () => {
    expect((await bars()).statusCode).toBe(200);
    const port = pg!.port;

    await pg!.stop();
    pg = undefined;
    const down = await bars();
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('7');
    expect(down.json()).toMatchObject({ error: { code: 'DATABASE_UNAVAILABLE' } });
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'down', database: { reachable: false } });
    const status = await app.inject({ method: 'GET', url: '/migration/status' });
    expect(status.statusCode).toBe(503);
    expect(status.headers['retry-after']).toBe('7');

    pg = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    // No restart of the app: the pool reconnects on the next request.
    const up = await bars();
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json<{ bars: unknown[] }>().bars).toHaveLength(390);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
