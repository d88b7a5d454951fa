import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dashboardDir = resolve(dirname(fileURLToPath(import.meta.url)), '../dashboard');

/** Bundles the dashboard (page, styles, script with lightweight-charts) into `outDir`. */
export async function buildDashboard(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(dashboardDir, 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    minify: true,
    sourcemap: true,
    target: 'es2020',
    platform: 'browser',
    logLevel: 'warning',
  });
  await copyFile(join(dashboardDir, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(dashboardDir, 'styles.css'), join(outDir, 'styles.css'));
}
