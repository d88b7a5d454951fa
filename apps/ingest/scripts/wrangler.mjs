#!/usr/bin/env node
// Runs the pinned wrangler with settings that work offline (no metrics, no request.cf fetch).
// `node scripts/wrangler.mjs dev [...]` also picks the port from INGEST_PORT or PORT (or --port),
// listens on 127.0.0.1, persists local KV/DO state under .wrangler/state, and supplies a local
// TIMED_API_KEY when .dev.vars is missing so a fresh clone boots.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const wranglerBin = join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');

/** Offline-friendly environment for every wrangler invocation. */
const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};

const LOCAL_DEV_KEY = 'local-dev-key-change-me';

function devArgs(args) {
  const out = [...args];
  const has = (flag) => out.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (!has('--port')) {
    const port = process.env.INGEST_PORT ?? process.env.PORT;
    if (port) out.push('--port', port);
  }
  if (!has('--ip')) out.push('--ip', process.env.INGEST_HOST ?? '127.0.0.1');
  if (!has('--persist-to')) out.push('--persist-to', join(appDir, '.wrangler', 'state'));
  if (!has('--show-interactive-dev-session')) out.push('--show-interactive-dev-session=false');
  if (!existsSync(join(appDir, '.dev.vars')) && !process.env.TIMED_API_KEY) {
    console.warn(
      `[ingest] no .dev.vars: using TIMED_API_KEY=${LOCAL_DEV_KEY} (copy .dev.vars.example to .dev.vars to choose one)`,
    );
    out.push('--var', `TIMED_API_KEY:${LOCAL_DEV_KEY}`);
  } else if (process.env.TIMED_API_KEY) {
    out.push('--var', `TIMED_API_KEY:${process.env.TIMED_API_KEY}`);
  }
  return out;
}

const [command, ...rest] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/wrangler.mjs <wrangler command> [args...]');
  process.exit(2);
}
const args = command === 'dev' ? ['dev', ...devArgs(rest)] : [command, ...rest];
const child = spawn(process.execPath, [wranglerBin, ...args], {
  cwd: appDir,
  stdio: 'inherit',
  env: { ...process.env, ...OFFLINE_ENV },
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  process.exit(code ?? 1);
});
