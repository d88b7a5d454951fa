import { defineConfig } from 'tsup';
import { watEsbuildPlugin } from './build/wat.js';

export default defineConfig({
  entry: ['src/main.ts', 'src/bench.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The trades scan's WebAssembly text, compiled by wabt and inlined as bytes.
  esbuildPlugins: [watEsbuildPlugin()],
});
