import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Offline wrangler/miniflare: no metrics, no request.cf download.
process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const API_KEY = 'test-api-key-0123456789';

/** One workerd project; `vars` override wrangler.toml for the scenario. */
function project(
  name: string,
  include: string[],
  vars: Record<string, string>,
  exclude: string[] = [],
) {
  return {
    extends: true as const,
    plugins: [
      cloudflareTest(({ inject }) => ({
        main: './src/index.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            TIMED_API_KEY: API_KEY,
            DISCORD_WEBHOOK_URL: `${inject('discordReceiverUrl')}/api/webhooks/1/test-token`,
            // Short isolate cache so migrations start their purge quickly in tests.
            VERSION_CACHE_MS: '100',
            ...vars,
          },
        },
      })),
    ],
    test: { name, include, exclude: ['**/node_modules/**', ...exclude] },
  };
}

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    // Files share the Discord receiver; one at a time keeps its log attributable (2-core machine).
    fileParallelism: false,
    testTimeout: 120_000,
    // The Worker logs one JSON line per decision; keep test output to its warnings and errors.
    onConsoleLog: (log) => !log.startsWith('{"level":"info"'),
    hookTimeout: 60_000,
    projects: [
      project(
        'ingest',
        ['src/**/*.test.ts', 'test/**/*.test.ts'],
        { CURRENT_DATA_VERSION: '2.2.0' },
        ['test/patch-version.integration.test.ts'],
      ),
      project('ingest-patch', ['test/patch-version.integration.test.ts'], {
        CURRENT_DATA_VERSION: '2.1.1',
      }),
      project('ingest-patch-purge', ['test/patch-version.integration.test.ts'], {
        CURRENT_DATA_VERSION: '2.1.1',
        PURGE_ON_PATCH: 'true',
      }),
    ],
  },
});
