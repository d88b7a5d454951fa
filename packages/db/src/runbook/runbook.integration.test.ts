import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { bar } from '../../test/helpers/index.js';
import * as seed from '../../test/helpers/seed-sql.js';
import { createDb, type Db, queryBars, upsertBars } from '../index.js';
import { createTestDatabase } from '../testing/index.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const adminUrl = inject('adminUrl');
const backupDir = mkdtempSync(join(tmpdir(), 'timed-backups-'));
let url: string;
let db: Db;

async function timedDb(...args: string[]) {
  try {
    const r = await run(process.execPath, [cli, ...args], {
      env: { ...process.env, DATABASE_URL: url, TIMED_BACKUP_DIR: backupDir },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function counts() {
  const rows = await db
    .selectFrom('price_bars')
    .select((eb) => [
      eb.fn.countAll<string>().as('all'),
      eb.fn.count<string>('symbol').filterWhere('is_legacy', '=', true).as('legacy'),
      eb.fn.count<string>('symbol').filterWhere('deleted_at', 'is not', null).as('deleted'),
    ])
    .executeTakeFirstOrThrow();
  return { all: Number(rows.all), legacy: Number(rows.legacy), deleted: Number(rows.deleted) };
}

beforeEach(async () => {
  await db?.destroy();
  url = await createTestDatabase(adminUrl);
  db = createDb(url);
  // 6 legacy mbp-1 bars (minutes 0-5) and 4 trades bars (minutes 4-7; 4 and 5 replaced legacy).
  await upsertBars(
    db,
    Array.from({ length: 6 }, (_, i) =>
      bar('WGRX', i, 1.2, { volume: 0, is_legacy: true, data_source: 'mbp-1' }),
    ),
  );
  await upsertBars(
    db,
    Array.from({ length: 4 }, (_, i) => bar('WGRX', 4 + i, 1.3)),
  );
});
afterAll(() => db?.destroy());

describe('timed-db runbook', () => {
  it('refuses a destructive command without --yes, after printing the plan with its count', async () => {
    const r = await timedDb('legacy', 'soft-delete', '--force');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('plan: mark legacy bars deleted (hidden, restorable): 4 row(s)');
    expect(r.stderr).toContain('add --yes');
    expect(await counts()).toEqual({ all: 8, legacy: 4, deleted: 0 });
  });

  it('legacy status prints the counts per data_source and is_legacy, and the success criteria', async () => {
    const r = await timedDb('legacy', 'status');
    expect(r.stdout).toMatch(/mbp-1\s+true\s+4\s+0/);
    expect(r.stdout).toMatch(/trades\s+false\s+4\s+\d+/);
    expect(r.stdout).toMatch(/New bars have volume > 0\s+1\s+pass/);
    // 4 new bars of the 1,000 the seed asks for, and no screener running.
    expect(r.stdout).toMatch(/At least 1,000 new bars collected\s+4\s+FAIL/);
    expect(r.stdout).toMatch(/Exactly one screener process running\s+0\s+FAIL/);
    expect(r.stdout).toContain('not ready for cleanup');
  });

  it('Option A: soft-delete hides legacy bars from queries, restore brings them back, purge removes old ones', async () => {
    expect((await timedDb('legacy', 'soft-delete', '--yes', '--force')).stdout).toContain(
      'soft-deleted 4 legacy bar(s)',
    );
    const hidden = await queryBars(db, { symbol: 'WGRX', includeLegacy: true, limit: 100 });
    expect(hidden.bars.every((b) => !b.is_legacy)).toBe(true);
    expect((await timedDb('legacy', 'restore', '--yes')).stdout).toContain('restored 4');
    expect(
      (await queryBars(db, { symbol: 'WGRX', includeLegacy: true, limit: 100 })).bars,
    ).toHaveLength(8);
    await timedDb('legacy', 'soft-delete', '--yes', '--force');
    expect(
      (await timedDb('legacy', 'purge', '--older-than', '7d', '--yes', '--force')).stdout,
    ).toContain('purged 0');
    await db
      .updateTable('price_bars')
      .set({ deleted_at: new Date(Date.now() - 8 * 86_400_000) })
      .where('deleted_at', 'is not', null)
      .execute();
    expect(
      (await timedDb('legacy', 'purge', '--older-than', '7d', '--yes', '--force')).stdout,
    ).toContain('purged 4');
    expect(await counts()).toEqual({ all: 4, legacy: 0, deleted: 0 });
  });

  it('Option B: archive moves legacy bars out in one step; unarchive puts them back, keeping newer bars', async () => {
    expect((await timedDb('legacy', 'archive', '--yes', '--force')).stdout).toContain('archived 4');
    expect(await counts()).toEqual({ all: 4, legacy: 0, deleted: 0 });
    const archived = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM price_bars_legacy`.execute(db);
    expect(archived.rows[0]?.n).toBe(4);
    // A trades bar arrives for legacy minute 0 meanwhile: it must survive the unarchive.
    await upsertBars(db, [bar('WGRX', 0, 9)]);
    const r = await timedDb('legacy', 'unarchive', '--yes');
    expect(r.stdout).toContain('unarchived 3 bar(s); 1 kept');
    const rows = await queryBars(db, { symbol: 'WGRX', includeLegacy: true, limit: 100 });
    expect(rows.bars[0]).toMatchObject({ open: '9', is_legacy: false });
    expect(rows.bars.filter((b) => b.is_legacy)).toHaveLength(3);
  });

  it('Option C: delete writes a restorable backup first; restore loads it back', async () => {
    const r = await timedDb('legacy', 'delete', '--yes', '--force');
    const file = /backup: (\S+\.csv)/.exec(r.stdout)?.[1];
    expect(file && existsSync(file)).toBe(true);
    expect(readFileSync(file!, 'utf8').trim().split('\n')).toHaveLength(5);
    expect(await counts()).toEqual({ all: 4, legacy: 0, deleted: 0 });
    expect((await timedDb('restore', file!, '--yes')).stdout).toContain(
      'restored 4 bar(s); 0 skipped',
    );
    expect(await counts()).toEqual({ all: 8, legacy: 4, deleted: 0 });
  });

  it('rollback trades deletes trades bars after a backup and says how to run mbp-1 again', async () => {
    const r = await timedDb('rollback', 'trades', '--yes');
    expect(r.stdout).toContain('deleted 4 trades bar(s)');
    expect(r.stdout).toContain('SCREENER_SCHEMA=mbp-1');
    expect(await counts()).toEqual({ all: 4, legacy: 4, deleted: 0 });
  });

  it('rejects bad arguments with one clear line', async () => {
    const r = await timedDb('legacy', 'purge', '--older-than', 'a week', '--yes');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--older-than must look like 7d/);
    expect((await timedDb('legacy', 'explode')).stderr).toMatch(/unknown legacy command "explode"/);
    const days = await timedDb('legacy', 'archive', '--min-days', 'soon', '--yes');
    expect(days.code).toBe(2);
    expect(days.stderr).toMatch(/--min-days must be a number of days >= 0, got "soon"/);
  });

  it('an archive killed mid-transaction leaves both tables as they were', async () => {
    // Hold a lock on one legacy row so the archive blocks after copying, then kill it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(
      `SELECT * FROM price_bars WHERE is_legacy AND timestamp = to_timestamp(0) FOR UPDATE`,
    );
    const child: ChildProcess = spawn(
      process.execPath,
      [cli, 'legacy', 'archive', '--yes', '--force'],
      {
        env: { ...process.env, DATABASE_URL: url },
        stdio: 'ignore',
      },
    );
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    let blocked = false;
    for (let i = 0; i < 400 && !blocked; i++) {
      const w = await watcher.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'timed-db' AND wait_event_type = 'Lock' AND query LIKE 'DELETE%'`,
      );
      blocked = w.rows[0].n > 0;
      if (blocked) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The archive had copied the rows and was deleting them when it was killed.
    expect(blocked).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await holder.query('ROLLBACK');
    await holder.end();
    // The server notices the dead client and rolls its transaction back.
    for (let i = 0; i < 100; i++) {
      const w = await watcher.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'timed-db'`,
      );
      if (w.rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const legacyTable = await watcher.query(
      `SELECT to_regclass('price_bars_legacy') IS NOT NULL AS ok`,
    );
    await watcher.end();
    expect(legacyTable.rows[0].ok).toBe(false);
    expect(await counts()).toEqual({ all: 8, legacy: 4, deleted: 0 });
  });
});

async function legacyTable() {
  const r = await sql<{ n: number; is_unique: boolean | null }>`
    SELECT (SELECT count(*)::int FROM price_bars_legacy) AS n,
      (SELECT indisunique FROM pg_index
        WHERE indexrelid = to_regclass('idx_price_bars_legacy_symbol_timestamp')) AS is_unique`.execute(
    db,
  );
  return r.rows[0];
}

describe("Option B on a database where the seed's own Option B SQL already ran", () => {
  it("replaces the seed's plain index with a unique one, says so, then archives", async () => {
    // The operator ran the seed's CREATE TABLE ... AS and CREATE INDEX by hand, exactly.
    for (const s of seed.OPTION_B.slice(0, 2)) await sql.raw(s).execute(db);
    expect(await legacyTable()).toEqual({ n: 4, is_unique: false });
    const r = await timedDb('legacy', 'archive', '--yes', '--force');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /replaced index idx_price_bars_legacy_symbol_timestamp \(CREATE INDEX .*\(symbol, "?timestamp"?\); the seed's Option B creates it non-unique\) with a unique index/,
    );
    expect(r.stdout).toContain('archived 4 legacy bar(s)');
    expect(await counts()).toEqual({ all: 4, legacy: 0, deleted: 0 });
    expect(await legacyTable()).toEqual({ n: 4, is_unique: true });
    // Now the index is as the archive wants it: nothing more to say; unarchive brings all back.
    const again = await timedDb('legacy', 'archive', '--yes', '--force');
    expect(again.stdout).not.toContain('replaced index');
    expect(again.stdout).toContain('archived 0 legacy bar(s)');
    expect((await timedDb('legacy', 'unarchive', '--yes')).stdout).toContain('unarchived 4 bar(s)');
    expect(await counts()).toEqual({ all: 8, legacy: 4, deleted: 0 });
  });

  it("adopts the table after the seed's whole Option B and archives legacy bars that came later", async () => {
    for (const s of seed.OPTION_B) await sql.raw(s).execute(db);
    expect(await counts()).toEqual({ all: 4, legacy: 0, deleted: 0 });
    await upsertBars(db, [
      bar('WGRX', 100, 1.2, { volume: 0, is_legacy: true, data_source: 'mbp-1' }),
    ]);
    const r = await timedDb('legacy', 'archive', '--yes', '--force');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('replaced index idx_price_bars_legacy_symbol_timestamp');
    expect(r.stdout).toContain('archived 1 legacy bar(s)');
    expect(await legacyTable()).toEqual({ n: 5, is_unique: true });
  });

  it('refuses, naming the problem, when the seed-made table holds a minute twice; nothing changes', async () => {
    for (const s of seed.OPTION_B.slice(0, 2)) await sql.raw(s).execute(db);
    // Run twice by hand, say: the plain index let one minute in twice.
    await sql`INSERT INTO price_bars_legacy SELECT * FROM price_bars_legacy ORDER BY timestamp LIMIT 1`.execute(
      db,
    );
    const r = await timedDb('legacy', 'archive', '--yes', '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /price_bars_legacy holds 1 \(symbol, timestamp\) minute\(s\) more than once \(1 extra row\(s\)\).*nothing changed/,
    );
    expect(r.stderr).not.toMatch(/no unique or exclusion constraint/);
    expect(await counts()).toEqual({ all: 8, legacy: 4, deleted: 0 });
    expect(await legacyTable()).toEqual({ n: 5, is_unique: false });
  });
});

describe('columns added by later migrations', () => {
  it('survive the backup and restore of rollback trades, and the archive and unarchive', async () => {
    // A column as a later migration (0005's vwap, say) adds it, with values in both kinds of bar.
    await sql`ALTER TABLE price_bars ADD COLUMN later_note text`.execute(db);
    await sql`UPDATE price_bars SET later_note = 'n-' || data_source || '-' || extract(epoch FROM timestamp)::int`.execute(
      db,
    );
    const notes = async () =>
      (
        await sql<{
          n: string;
        }>`SELECT later_note AS n FROM price_bars ORDER BY timestamp, data_source`.execute(db)
      ).rows.map((r) => r.n);
    const before = await notes();
    expect(before).toHaveLength(8);

    const r = await timedDb('rollback', 'trades', '--yes');
    const file = /backup: (\S+\.csv)/.exec(r.stdout)?.[1];
    expect(readFileSync(file!, 'utf8').split('\n')[0]).toContain('later_note');
    expect((await timedDb('restore', file!, '--yes')).stdout).toContain('restored 4 bar(s)');
    expect(await notes()).toEqual(before);

    expect((await timedDb('legacy', 'archive', '--yes', '--force')).stdout).toContain('archived 4');
    expect((await timedDb('legacy', 'unarchive', '--yes')).stdout).toContain('unarchived 4 bar(s)');
    expect(await notes()).toEqual(before);
  });

  it('a backup written before a column existed still restores; a foreign CSV is refused', async () => {
    const r = await timedDb('legacy', 'delete', '--yes', '--force');
    const file = /backup: (\S+\.csv)/.exec(r.stdout)?.[1];
    await sql`ALTER TABLE price_bars ADD COLUMN later_note text`.execute(db);
    expect((await timedDb('restore', file!, '--yes')).stdout).toContain('restored 4 bar(s)');
    expect(await counts()).toEqual({ all: 8, legacy: 4, deleted: 0 });

    const foreign = join(backupDir, `foreign-${Date.now()}.csv`);
    writeFileSync(foreign, 'symbol,timestamp,colour\nWGRX,2025-10-24T13:30:00Z,red\n');
    const bad = await timedDb('restore', foreign, '--yes');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /is not a price_bars backup: its header names columns price_bars does not have \(colour\); nothing changed/,
    );
    expect(await counts()).toEqual({ all: 8, legacy: 4, deleted: 0 });
  });
});
