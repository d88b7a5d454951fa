import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { DbError, findMigrationsDir, migrate } from './index.js';
import { readMigrations } from './migrations-dir.js';
import { migrationStatus } from './migrator.js';
import { createTestDatabase } from './testing/index.js';

const adminUrl = inject('adminUrl');

function copyMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'timed-migrations-'));
  cpSync(findMigrationsDir(), dir, { recursive: true });
  return dir;
}

describe('migrate', () => {
  it('applies every file once; a second run applies nothing', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const files = readMigrations(findMigrationsDir()).map((f) => f.name);
    const first = await migrate({ url });
    expect(first.applied).toEqual(files);
    const second = await migrate({ url });
    expect(second.applied).toEqual([]);
    const states = await migrationStatus({ url });
    expect(states.map((s) => s.state)).toEqual(files.map(() => 'applied'));
  });

  it('refuses to run when an applied file was edited, naming the file', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const dir = copyMigrations();
    await migrate({ url, dir });
    const target = join(dir, '0002_add_legacy_flag.sql');
    writeFileSync(target, `${readFileSync(target, 'utf8')}\n-- sneaky edit\n`);
    const err = await migrate({ url, dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).code).toBe('MIGRATION_CHANGED');
    expect((err as DbError).message).toContain('0002_add_legacy_flag.sql');
    expect(
      (await migrationStatus({ url, dir })).find((s) => s.name === '0002_add_legacy_flag.sql')
        ?.state,
    ).toBe('changed');
  });

  it('refuses to run when an applied file disappeared', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const dir = copyMigrations();
    await migrate({ url, dir });
    const { rmSync } = await import('node:fs');
    const last = readMigrations(dir).at(-1)!;
    rmSync(last.path);
    await expect(migrate({ url, dir })).rejects.toMatchObject({ code: 'MIGRATION_MISSING' });
  });

  it('applies each file exactly once when several migrators start at once', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate({ url })));
    const all = results.flatMap((r) => r.applied);
    const files = readMigrations(findMigrationsDir()).map((f) => f.name);
    expect(all.sort()).toEqual([...files].sort());
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const rows = await client.query('SELECT count(*)::int AS n FROM timed_migrations');
    await client.end();
    expect(rows.rows[0].n).toBe(files.length);
  });

  it('rolls back a failing file completely and records nothing for it', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const dir = copyMigrations();
    writeFileSync(
      join(dir, '9999_broken.sql'),
      'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n',
    );
    await expect(migrate({ url, dir })).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const t = await client.query(`SELECT to_regclass('half_done') AS t`);
    const rec = await client.query(
      `SELECT count(*)::int AS n FROM timed_migrations WHERE name = '9999_broken.sql'`,
    );
    await client.end();
    expect(t.rows[0].t).toBeNull();
    expect(rec.rows[0].n).toBe(0);
  });
});

describe('0002_add_legacy_flag (the seed migration)', () => {
  it('marks pre-existing bars legacy mbp-1, with comments and the three indexes', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const dir = mkdtempSync(join(tmpdir(), 'timed-migrations-'));
    cpSync(
      join(findMigrationsDir(), '0001_create_price_bars.sql'),
      join(dir, '0001_create_price_bars.sql'),
    );
    await migrate({ url, dir });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO price_bars VALUES ('WGRX', '2025-10-24T14:30:00Z', 1.20, 1.25, 1.15, 1.18, 0, 12)`,
      );
      await migrate({ url });
      const row = await client.query('SELECT is_legacy, data_source, migrated_at FROM price_bars');
      expect(row.rows).toEqual([
        { is_legacy: true, data_source: 'mbp-1', migrated_at: expect.any(Date) },
      ]);
      const idx = await client.query(
        `SELECT indexname FROM pg_indexes WHERE tablename = 'price_bars' ORDER BY 1`,
      );
      expect(idx.rows.map((r) => r.indexname)).toEqual(
        expect.arrayContaining([
          'idx_price_bars_legacy',
          'idx_price_bars_source',
          'idx_price_bars_timestamp_legacy',
        ]),
      );
      const comment = await client.query(
        `SELECT col_description('price_bars'::regclass, attnum) AS c FROM pg_attribute WHERE attrelid = 'price_bars'::regclass AND attname = 'is_legacy'`,
      );
      expect(comment.rows[0].c).toBe(
        'true = old MBP-1 data (volume=0), false = new TRADES data (real volume)',
      );
      // New rows get the seed's defaults.
      await client.query(
        `INSERT INTO price_bars (symbol, timestamp, open, high, low, close, volume, trade_count) VALUES ('AAPL', now(), 1, 1, 1, 1, 5, 1)`,
      );
      const fresh = await client.query(
        `SELECT is_legacy, data_source FROM price_bars WHERE symbol = 'AAPL'`,
      );
      expect(fresh.rows[0]).toEqual({ is_legacy: false, data_source: 'mbp-1' });
    } finally {
      await client.end();
    }
  });
});
