import { defineConfig } from 'tsup';
import { buildDashboard } from './scripts/build-dashboard.js';

export default defineConfig({
  entry: ['src/main.ts', 'src/bench.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Dev-only packages the bench loads at run time (CommonJS; never bundled).
  external: ['autocannon'],
  // The dashboard (and lightweight-charts) is bundled locally into dist/public: no CDN.
  onSuccess: async () => {
    await buildDashboard('dist/public');
  },
});
