import { defineConfig } from 'tsup';

// One build (no parallel configs racing on `clean`): the library with types, plus the CLI and
// the benchmark as plain entry points.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts', 'src/bench.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
