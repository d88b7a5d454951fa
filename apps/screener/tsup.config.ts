import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/main.ts', 'src/bench.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
