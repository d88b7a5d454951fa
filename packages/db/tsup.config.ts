import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // One entry per subpath of package.json's exports (shared modules go to shared chunks).
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      runbook: 'src/runbook/index.ts',
    },
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
  },
  {
    entry: ['src/cli.ts', 'src/bench.ts'],
    format: ['esm'],
    dts: false,
    sourcemap: true,
    target: 'node20',
  },
]);
