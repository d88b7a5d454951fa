import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENER = join(ROOT, 'apps/screener/dist/main.js');
export const API = join(ROOT, 'apps/api/dist/main.js');
export const TIMED_DB = join(ROOT, 'packages/db/dist/cli.js');

const execFileP = promisify(execFile);

/** A spawned app with its collected output. */
export interface App {
  child: ChildProcess;
  output: string[];
  /** Resolves when a line matches (or rejects after `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Spawns `node script ...args` with extra env, collecting stdout and stderr lines. */
export function spawnApp(script: string, args: string[], env: Record<string, string>): App {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (l: string) => void }> = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      output.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    child,
    output,
    exited,
    waitFor(pattern, ms = 60_000) {
      const hit = output.find((l) => pattern.test(l));
      if (hit) return Promise.resolve(hit);
      const tail = () => output.slice(-30).join('\n');
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no line matching ${pattern} within ${ms} ms; output:\n${tail()}`)),
          ms,
        );
        const waiter = {
          pattern,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(waiter);
        // A process that exits first will never print the line.
        void exited.then((code) => {
          if (!waiters.includes(waiter)) return;
          clearTimeout(timer);
          reject(new Error(`exited (${code}) before printing ${pattern}; output:\n${tail()}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `timed-db ...args` to completion. */
export async function timedDb(
  databaseUrl: string,
  args: string[],
  env: Record<string, string> = {},
) {
  try {
    const r = await execFileP(process.execPath, [TIMED_DB, ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  ms = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
