import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./src/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // Each file spawns several processes; one at a time keeps a 2-core machine responsive.
    fileParallelism: false,
  },
});
