import { defineConfig } from 'vitest/config';
import { watVitePlugin } from './build/wat.js';

export default defineConfig({
  // The trades scan's WebAssembly text, compiled by the same wabt step as the bundle's.
  plugins: [watVitePlugin()],
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
