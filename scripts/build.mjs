#!/usr/bin/env node
// The build before `pnpm start`: turbo with its telemetry notice, banner and summary kept off the
// first screen. Quiet when it works (a line to say so); the whole output when it does not.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tag = process.stdout.isTTY ? '\x1b[36m[stack]    \x1b[0m' : '[stack]    ';
process.stdout.write(
  `${tag} building the workspace (turbo; the first build takes a minute or two)\n`,
);
const turbo = join(root, 'node_modules/turbo/bin/turbo');
const child = spawn(process.execPath, [turbo, 'run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', FORCE_COLOR: '0' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const output = [];
child.stdout.on('data', (b) => output.push(b));
child.stderr.on('data', (b) => output.push(b));
child.on('error', (err) => {
  process.stderr.write(`${tag} build failed to start: ${err.message}\n`);
  process.exit(1);
});
child.on('close', (code, signal) => {
  if (code === 0) {
    process.stdout.write(`${tag} build done\n`);
    return;
  }
  process.stderr.write(Buffer.concat(output));
  process.stderr.write(`${tag} build failed (${signal ?? `exit ${code}`}); output above\n`);
  process.exit(code ?? 1);
});
