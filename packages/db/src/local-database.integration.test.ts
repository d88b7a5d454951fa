import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalDatabase, openLocalDatabase } from './index.js';

// Its own server in its own folder (not the run's shared one): this is what the apps start.
const dataDir = join(tmpdir(), `timed-local-${process.pid}-${randomBytes(4).toString('hex')}`);
const opened: LocalDatabase[] = [];

afterAll(async () => {
  for (const local of opened.reverse()) await local.stop().catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
});

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

describe('openLocalDatabase', () => {
  it('starts Postgres in dataDir, creates database timed and applies every migration', async () => {
    const lines: string[] = [];
    const local = await openLocalDatabase({ dataDir, log: (l) => lines.push(l) });
    opened.push(local);
    expect(local.started).toBe(true);
    expect(local.url).toMatch(new RegExp(`^postgres://.*@127\\.0\\.0\\.1:${local.port}/timed$`));
    expect(local.applied.length).toBeGreaterThan(0);
    expect(await tables(local.url)).toEqual(
      expect.arrayContaining(['price_bars', 'screener_instances', 'timed_migrations']),
    );
    expect(lines[0]).toBe(`starting embedded Postgres in ${dataDir}`);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(true);
  });

  it('with reuseRunning, uses the server already running there; its stop leaves that server up', async () => {
    const [first] = opened;
    const again = await openLocalDatabase({ dataDir, reuseRunning: true });
    expect(again.started).toBe(false);
    expect(again.port).toBe(first?.port);
    expect(again.url).toBe(first?.url);
    expect(again.applied).toEqual([]);
    await again.stop();
    expect(await tables(again.url)).toContain('price_bars');
  });

  it('stop() of the one that started it stops the server (data kept for the next run)', async () => {
    const first = opened.shift();
    await first?.stop();
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    const next = await openLocalDatabase({ dataDir, reuseRunning: true });
    opened.push(next);
    expect(next.started).toBe(true);
    expect(next.applied).toEqual([]);
  });
});
