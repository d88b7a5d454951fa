import { defineConfig } from 'tsup';

// One build (no parallel configs racing on `clean`): the library and its three subpaths with types
// (`.`, `./gateway`, `./testing`, `./prng`, as package.json's exports map), plus the CLI and the benchmark
// as plain entry points.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    gateway: 'src/gateway/index.ts',
    testing: 'src/testing/index.ts',
    prng: 'src/prng.ts',
    cli: 'src/cli.ts',
    bench: 'src/bench.ts',
  },
  format: ['esm'],
  dts: {
    entry: {
      index: 'src/index.ts',
      gateway: 'src/gateway/index.ts',
      testing: 'src/testing/index.ts',
      prng: 'src/prng.ts',
    },
  },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
