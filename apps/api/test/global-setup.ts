import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from '@timed/db/testing';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { buildDashboard } from '../scripts/build-dashboard.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    /** The dashboard built from the current sources. */
    publicDir: string;
  }
}

/** One Postgres per run (embedded unless DATABASE_URL); each test file makes its own database. */
export default async function setup(project: TestProject) {
  const publicDir = await mkdtemp(join(tmpdir(), 'timed-api-public-'));
  await buildDashboard(publicDir);
  const server = await startTestServer();
  project.provide('adminUrl', server.adminUrl);
  project.provide('publicDir', publicDir);
  return async () => {
    await server.stop();
    await rm(publicDir, { recursive: true, force: true });
  };
}
