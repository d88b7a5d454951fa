import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, sql, upsertBars } from '@timed/db';
import { createTestDatabase } from '@timed/db/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { session } from '../test/seed.js';

const mainJs = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const built = existsSync(mainJs);
if (!built) {
  console.warn(`[main test] SKIPPED: ${mainJs} is missing; run \`pnpm --filter @timed/api build\``);
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts `node dist/main.js` with `env` (DATABASE_URL only when given). */
function start(env: Record<string, string>) {
  const { DATABASE_URL: _inherited, ...base } = process.env;
  const child = spawn(process.execPath, [mainJs], {
    env: { ...base, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  // 'close', not 'exit': it comes after stdout and stderr have ended, so every line is read.
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => resolve(code)),
  );
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`exited with ${code} before listening: ${stderr}${stdout}`));
    });
  });
  // A start that is meant to fail never listens; that rejection is expected, not unhandled.
  listening.catch(() => {});
  return { child, exited, listening, output: () => ({ stdout, stderr }) };
}

describe.skipIf(!built)('node dist/main.js', () => {
  it('serves with DATABASE_URL, logs requests with pino, and exits 0 on SIGTERM', async () => {
    const url = await createTestDatabase(inject('adminUrl'));
    const api = start({ DATABASE_URL: url });
    const base = await api.listening;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { database: { reachable: boolean } }).database.reachable).toBe(
      true,
    );
    expect((await fetch(`${base}/bars/AAPL`)).status).toBe(200);
    api.child.kill('SIGTERM');
    expect(await api.exited, api.output().stdout + api.output().stderr).toBe(0);
    const lines = api
      .output()
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; req?: { url: string } });
    expect(lines.some((l) => l.msg === 'incoming request' && l.req?.url === '/bars/AAPL')).toBe(
      true,
    );
    // The last line, with the whole log in the message when it is not.
    expect(lines.at(-1)!.msg, api.output().stdout + api.output().stderr).toBe('stopped');
  });

  it('refuses to start on a bad environment, naming the variable', async () => {
    const api = start({ DATABASE_URL: 'mysql://nope', PORT: 'eighty' });
    expect(await api.exited).toBe(1);
    // One line naming every bad variable (EnvError of @timed/schema/errors).
    expect(api.output().stderr).toMatch(
      /invalid environment: DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL; PORT: must be a whole number from 0 to 65535/,
    );
  });

  it('starts an embedded Postgres when DATABASE_URL is unset, and stops it on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'timed-api-main-'));
    try {
      const api = start({ EMBEDDED_PG_DIR: dir });
      const base = await api.listening;
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(existsSync(join(dir, 'postmaster.pid'))).toBe(true);
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
      expect(existsSync(join(dir, 'postmaster.pid'))).toBe(false);
      expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finishes requests in flight on SIGTERM before it exits 0', async () => {
    const url = await createTestDatabase(inject('adminUrl'));
    const db = createDb(url);
    const locker = createDb(url, { max: 1 });
    try {
      await upsertBars(db, session('AAPL', '2025-10-22'));
      const api = start({ DATABASE_URL: url });
      const base = await api.listening;
      // Hold the table so the request below waits inside Postgres, in flight, until released.
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const held = locker.transaction().execute(async (trx) => {
        await sql`LOCK TABLE price_bars IN ACCESS EXCLUSIVE MODE`.execute(trx);
        locked();
        await released;
      });
      await isLocked;
      const inFlight = fetch(`${base}/bars/AAPL?start=2025-10-22&end=2025-10-22`);
      // Wait until the API's query is blocked on the lock (a condition, not a sleep).
      for (;;) {
        const { rows } = await sql<{ n: string }>`
          SELECT count(*) AS n FROM pg_stat_activity
          WHERE application_name = 'timed-api' AND wait_event_type = 'Lock'`.execute(db);
        if (Number(rows[0]!.n) > 0) break;
        await new Promise((r) => setImmediate(r));
      }
      api.child.kill('SIGTERM');
      // The shutdown has begun while the request still waits.
      for (;;) {
        if (api.output().stdout.includes('"msg":"shutting down"')) break;
        if (api.child.exitCode !== null) throw new Error('exited before the request finished');
        await new Promise((r) => setImmediate(r));
      }
      expect(api.child.exitCode).toBeNull();
      release();
      await held;
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { bars: unknown[] }).bars).toHaveLength(390);
      expect(await api.exited, api.output().stdout + api.output().stderr).toBe(0);
    } finally {
      await locker.destroy();
      await db.destroy();
    }
  });

  it('exits 1 with a clear line when its port is taken', async () => {
    const url = await createTestDatabase(inject('adminUrl'));
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const api = start({ DATABASE_URL: url, PORT: String(port) });
      expect(await api.exited).toBe(1);
      expect(api.output().stderr).toMatch(
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`),
      );
    } finally {
      blocker.close();
    }
  });
});
