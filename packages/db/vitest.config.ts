import { configDefaults, defineConfig } from 'vitest/config';

// Two projects: `unit` needs no Postgres (pnpm test:unit), `integration` gets one server per run
// from the global setup and a fresh database per file (pnpm test:integration). `vitest run` runs both.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{src,test}/**/*.test.ts'],
          exclude: [...configDefaults.exclude, '**/*.integration.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['{src,test}/**/*.integration.test.ts'],
          globalSetup: ['./test/global-setup.ts'],
        },
      },
    ],
  },
});
