import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { findMigrationsDir } from './index.js';
import { createTestDatabase } from './testing/index.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const adminUrl = inject('adminUrl');

async function timedDb(args: string[], env: Record<string, string>) {
  try {
    const r = await run(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('timed-db CLI', () => {
  it('migrate applies once, then says the database is up to date; status lists each file', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const first = await timedDb(['migrate'], { DATABASE_URL: url });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applied 0001_create_price_bars.sql');
    const second = await timedDb(['migrate'], { DATABASE_URL: url });
    expect(second.stdout).toContain('nothing to apply');
    const status = await timedDb(['status'], { DATABASE_URL: url });
    expect(status.stdout).toMatch(/applied\s+0002_add_legacy_flag\.sql/);
  });

  it('fails naming the edited file', async () => {
    const url = await createTestDatabase(adminUrl, { migrate: false });
    const dir = mkdtempSync(join(tmpdir(), 'timed-cli-mig-'));
    cpSync(findMigrationsDir(), dir, { recursive: true });
    expect(
      (await timedDb(['migrate'], { DATABASE_URL: url, TIMED_MIGRATIONS_DIR: dir })).code,
    ).toBe(0);
    const f = join(dir, '0001_create_price_bars.sql');
    writeFileSync(f, readFileSync(f, 'utf8').replace('NOT NULL,', 'NOT NULL, -- edited'));
    const r = await timedDb(['migrate'], { DATABASE_URL: url, TIMED_MIGRATIONS_DIR: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^timed-db: migration 0001_create_price_bars\.sql was edited/);
  });

  it('exits 2 with one clear line without DATABASE_URL or with an unknown command', async () => {
    const noUrl = await timedDb(['migrate'], { DATABASE_URL: '' });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/DATABASE_URL: is required \(e\.g\. postgres:\/\//);
    const badUrl = await timedDb(['status'], { DATABASE_URL: 'mysql://x@127.0.0.1/x' });
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    const unknown = await timedDb(['frobnicate'], { DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
