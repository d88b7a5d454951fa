import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BarInput } from '@timed/schema';

/** The built package, for scripts run in a child process. */
export const distIndex = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
/** The built testing entry (@timed/db/testing). */
export const distTesting = fileURLToPath(new URL('../../dist/testing.js', import.meta.url));

/** Runs an ES module script with node; resolves its stdout, stderr and exit code (or signal). */
export function runScript(
  script: string,
): Promise<{ out: string; err: string; code: number | string | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return new Promise((resolve) =>
    child.once('close', (c, s) => resolve({ out, err, code: c ?? s })),
  );
}

/** A valid trades bar at `minute` (epoch minutes) with prices around `base`. */
export function bar(
  symbol: string,
  minute: number,
  base = 100,
  extra: Partial<BarInput> = {},
): BarInput {
  return {
    symbol,
    timestamp: new Date(minute * 60_000),
    open: base,
    high: base + 1,
    low: base - 1,
    close: base + 0.5,
    volume: 1000 + minute,
    trade_count: 10,
    is_legacy: false,
    data_source: 'trades',
    ...extra,
  };
}
