import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processEnv } from '@timed/schema/env';
import {
  type EmbeddedPostgresHandle,
  ensureDatabase,
  startEmbeddedPostgres,
} from '../embedded-postgres.js';
import { migrate } from '../migrator.js';

/** A server for tests: `DATABASE_URL` when set, else a throwaway embedded Postgres. */
export interface TestServer {
  adminUrl: string;
  /** Stops the embedded server (no-op for DATABASE_URL). */
  stop(): Promise<void>;
  /** The embedded handle, when embedded (tests that stop/restart Postgres use it). */
  embedded: EmbeddedPostgresHandle | undefined;
}

/**
 * Starts the Postgres a test run uses: the server at `DATABASE_URL` when set, else a fresh embedded
 * one in a temporary folder (deleted on stop). Use from a vitest globalSetup.
 */
export async function startTestServer(env: NodeJS.ProcessEnv = processEnv()): Promise<TestServer> {
  if (env.DATABASE_URL) {
    return { adminUrl: env.DATABASE_URL, stop: async () => {}, embedded: undefined };
  }
  const dataDir = join(tmpdir(), `timed-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const embedded = await startEmbeddedPostgres({ dataDir, persistent: false });
  return { adminUrl: embedded.url(), stop: () => embedded.stop(), embedded };
}

/**
 * Creates a new, uniquely named database on the server at `adminUrl`, optionally migrated, and
 * returns its URL: each test file gets its own.
 */
export async function createTestDatabase(
  adminUrl: string,
  options: { migrate?: boolean; prefix?: string } = {},
): Promise<string> {
  const name = `${options.prefix ?? 'test'}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const url = await ensureDatabase(adminUrl, name);
  if (options.migrate ?? true) await migrate({ url });
  return url;
}

/** What a vitest globalSetup receives that provideTestServer needs (vitest's TestProject). */
export interface ProvidingProject {
  provide(key: 'adminUrl', value: string): void;
}

/**
 * A vitest globalSetup: starts the run's Postgres (startTestServer), provides its URL as
 * `adminUrl` to the tests (`inject('adminUrl')`), and returns the teardown that stops it.
 */
export async function provideTestServer(project: ProvidingProject): Promise<() => Promise<void>> {
  const server = await startTestServer();
  project.provide('adminUrl', server.adminUrl);
  return () => server.stop();
}
