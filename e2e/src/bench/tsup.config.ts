import { defineConfig } from 'tsup';

// The live peak benchmark, bundled to e2e/dist (as deep as src/, so processes.ts finds the repo
// root the same way). daemon-child bundles the screener's daemon from source: the built CLI
// cannot turn live publishing off. The live daemon never uses the trades scan's WebAssembly
// (file replay only), so its `.wat` import is left empty here, as in the screener's own
// live-state-bench.
export default defineConfig({
  entry: {
    'live-peak': 'src/bench/live-peak.ts',
    'daemon-child': 'src/bench/daemon-child.ts',
    'sse-clients': 'src/bench/sse-clients.ts',
    'tap-child': 'src/bench/tap-child.ts',
  },
  outDir: 'dist',
  format: ['esm'],
  target: 'node20',
  dts: false,
  clean: true,
  sourcemap: true,
  silent: true,
  loader: { '.wat': 'empty' },
  // Packages load from node_modules at run time (the e2e package depends on each).
  skipNodeModulesBundle: true,
});
