import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Test files share one Postgres and two cores; one at a time keeps them from starving.
    fileParallelism: false,
  },
});
