import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { bar } from '../../test/helpers/index.js';
import { createDb, type Db, upsertBars } from '../index.js';
import { createTestDatabase } from '../testing/index.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const adminUrl = inject('adminUrl');
const backupDir = mkdtempSync(join(tmpdir(), 'timed-gates-backups-'));
let url: string;
let db: Db;

async function timedDb(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, [cli, ...args], {
      env: { ...process.env, DATABASE_URL: url, TIMED_BACKUP_DIR: backupDir, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
const minuteOf = (ms: number) => Math.floor(ms / MINUTE);

/** Every stored row of both tables, as text: what a refused run must leave exactly as it was. */
async function snapshot() {
  const bars = await sql<{ row: string }>`
    SELECT p::text AS row FROM price_bars p ORDER BY symbol, timestamp`.execute(db);
  const archive = await sql<{ ok: boolean }>`
    SELECT to_regclass('price_bars_legacy') IS NOT NULL AS ok`.execute(db);
  return {
    bars: bars.rows.map((r) => r.row),
    archive: archive.rows[0]?.ok,
    backups: readdirSync(backupDir),
  };
}

/** The heartbeat of the one trades screener, started `startedDaysAgo` before now. */
async function screener(row: {
  startedDaysAgo: number;
  errors?: number;
  lastError?: string | null;
  lastErrorAgoMs?: number;
  stopped?: boolean;
}) {
  const now = Date.now();
  await sql`DELETE FROM screener_instances`.execute(db);
  await db
    .insertInto('screener_instances')
    .values({
      instance_id: 'trades-1',
      host: 'desk',
      pid: 4242,
      dataset: 'XNAS.ITCH',
      schema: 'trades',
      started_at: new Date(now - row.startedDaysAgo * DAY),
      last_seen: new Date(now),
      errors: row.errors ?? 0,
      last_error: row.lastError ?? null,
      last_error_at: row.lastErrorAgoMs === undefined ? null : new Date(now - row.lastErrorAgoMs),
      stopped_at: row.stopped ? new Date(now) : null,
    })
    .execute();
}

// A running screener refreshes last_seen every few seconds; so does this while a test needs one.
let beating: NodeJS.Timeout | undefined;
function keepBeating() {
  beating = setInterval(() => {
    sql`UPDATE screener_instances SET last_seen = now() WHERE stopped_at IS NULL`
      .execute(db)
      .catch(() => {});
  }, 2_000);
}
afterEach(() => clearInterval(beating));

beforeAll(async () => {
  url = await createTestDatabase(adminUrl);
  db = createDb(url);
  // Legacy MBP-1 bars from before the switch, five days ago: 2 hours, 30 per hour.
  const legacyFrom = minuteOf(thisHour - 5 * DAY);
  await upsertBars(
    db,
    Array.from({ length: 60 }, (_, i) =>
      bar('WGRX', legacyFrom + 2 * i, 1.2, { volume: 0, is_legacy: true, data_source: 'mbp-1' }),
    ),
  );
});
afterAll(() => db?.destroy());

const GATED = ['soft-delete', 'archive', 'delete', 'purge'] as const;
const ALL_IDS = [
  'new_bars_have_volume',
  'min_new_bars',
  'coverage_per_hour',
  'one_screener_alive',
  'no_screener_errors_last_hour',
  'days_of_new_data',
  'no_screener_errors_since_switch',
];

describe('cleanup gates through timed-db', () => {
  it('refuse every cleanup while criteria fail, naming each with value and threshold; nothing changes', async () => {
    // One day after the switch: 100 sparse trades bars (one without volume), the screener stopped
    // after 3 errors, the last ten minutes ago.
    await screener({
      startedDaysAgo: 1,
      errors: 3,
      lastError: 'gateway closed the session',
      lastErrorAgoMs: 10 * MINUTE,
      stopped: true,
    });
    const from = minuteOf(thisHour - DAY + HOUR);
    await upsertBars(
      db,
      Array.from({ length: 100 }, (_, i) =>
        bar('WGRX', from + 5 * i, 1.3, { volume: i === 0 ? 0 : 500 }),
      ),
    );
    const before = await snapshot();
    for (const action of GATED) {
      const args = [
        'legacy',
        action,
        '--yes',
        ...(action === 'purge' ? ['--older-than', '0d'] : []),
      ];
      const r = await timedDb(args);
      expect(r.code, `${action}: ${r.stderr}`).toBe(4);
      expect(r.stderr).toContain(`refusing legacy ${action}: 7 success criteria fail`);
      expect(r.stderr).toContain('nothing changed');
      expect(r.stderr).toContain('--force');
      for (const id of ALL_IDS) expect(r.stderr).toContain(`criterion fails: ${id} (`);
      // Each named with what was measured and what it needs.
      expect(r.stderr).toMatch(
        /min_new_bars \(At least 1,000 new bars collected\): measured 100, needs >= 1000/,
      );
      expect(r.stderr).toMatch(
        /days_of_new_data \(At least 3 day\(s\) of trades bars since the switch\): measured 0\.\d+, needs >= 3 days/,
      );
      expect(r.stderr).toMatch(
        /no_screener_errors_since_switch \(No screener errors since the switch\): measured 3, needs = 0/,
      );
      expect(r.stderr).toMatch(
        /one_screener_alive \(Exactly one screener process running\): measured 0, needs = 1/,
      );
      expect(r.stdout).toMatch(/FAIL {2}days_of_new_data/);
      expect(await snapshot()).toEqual(before);
    }
  });

  it('pass once the data satisfies every criterion, then each cleanup runs', async () => {
    // Four days since the trades screener started, alive and without errors; 17 full hours of
    // trades bars (60 per hour, each with volume) ending now.
    await screener({ startedDaysAgo: 4 });
    keepBeating();
    await sql`DELETE FROM price_bars WHERE data_source = 'trades'`.execute(db);
    const from = minuteOf(thisHour - 17 * HOUR);
    await upsertBars(
      db,
      Array.from({ length: 17 * 60 }, (_, i) => bar('WGRX', from + i, 1.3, { volume: 800 })),
    );
    const status = await timedDb(['legacy', 'status']);
    expect(status.stdout).toMatch(
      /At least 3 day\(s\) of trades bars since the switch\s+3\.\d+\s+pass/,
    );
    expect(status.stdout).toMatch(/No screener errors since the switch\s+0\s+pass/);
    expect(status.stdout).toContain('ready for cleanup: every criterion passes');

    const archive = await timedDb(['legacy', 'archive', '--yes']);
    expect(archive.code, archive.stderr).toBe(0);
    expect(archive.stdout).toContain('cleanup gates: every criterion passes');
    expect(archive.stdout).toContain('archived 60 legacy bar(s)');
    expect(archive.stderr).toBe('');
    expect((await timedDb(['legacy', 'unarchive', '--yes'])).code).toBe(0);

    const del = await timedDb(['legacy', 'delete', '--yes']);
    expect(del.code, del.stderr).toBe(0);
    const file = /backup: (\S+\.csv)/.exec(del.stdout)?.[1];
    expect(del.stdout).toContain('deleted 60 legacy bar(s)');
    expect((await timedDb(['restore', file!, '--yes'])).stdout).toContain('restored 60 bar(s)');

    const soft = await timedDb(['legacy', 'soft-delete', '--yes']);
    expect(soft.code, soft.stderr).toBe(0);
    expect(soft.stdout).toContain('soft-deleted 60 legacy bar(s)');
    const purge = await timedDb(['legacy', 'purge', '--older-than', '0d', '--yes']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toContain('purged 60 bar(s)');
  });

  it('want more days when told (--min-days, TIMED_CLEANUP_MIN_DAYS), and --force overrides saying so', async () => {
    await upsertBars(
      db,
      Array.from({ length: 10 }, (_, i) =>
        bar('WGRX', minuteOf(thisHour - 5 * DAY) + i, 1.2, {
          volume: 0,
          is_legacy: true,
          data_source: 'mbp-1',
        }),
      ),
    );
    // Two days ago the screener counted an error: outside the last hour, inside the switch's span.
    await screener({
      startedDaysAgo: 4,
      errors: 1,
      lastError: 'decode failed',
      lastErrorAgoMs: 2 * DAY,
    });
    keepBeating();
    const before = await snapshot();
    const refused = await timedDb(['legacy', 'soft-delete', '--yes', '--min-days', '5']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(
      '2 success criteria fail (days_of_new_data, no_screener_errors_since_switch)',
    );
    expect(refused.stderr).toMatch(/measured 3\.\d+, needs >= 5 days/);
    const fromEnv = await timedDb(['legacy', 'soft-delete', '--yes'], {
      TIMED_CLEANUP_MIN_DAYS: '5',
    });
    expect(fromEnv.stderr).toMatch(/days_of_new_data .*needs >= 5 days/);
    expect(await snapshot()).toEqual(before);

    // --force without --yes: says what it would override, still changes nothing.
    const dry = await timedDb(['legacy', 'soft-delete', '--force', '--min-days', '5']);
    expect(dry.code).toBe(3);
    expect(dry.stderr).toContain(
      '--force: cleanup gates overridden; with --yes, would run legacy soft-delete although',
    );
    expect(await snapshot()).toEqual(before);

    const forced = await timedDb(['legacy', 'soft-delete', '--yes', '--force', '--min-days', '5']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(
      '--force: cleanup gates overridden; running legacy soft-delete although days_of_new_data, no_screener_errors_since_switch fail',
    );
    expect(forced.stderr).toMatch(
      /--force overrides: days_of_new_data .*measured 3\.\d+, needs >= 5 days/,
    );
    expect(forced.stderr).toMatch(
      /--force overrides: no_screener_errors_since_switch .*measured 1, needs = 0/,
    );
    expect(forced.stdout).toContain('soft-deleted 10 legacy bar(s)');
  });
});
