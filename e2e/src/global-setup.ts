import { startTestServer } from '@timed/db';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

/** One Postgres per run (embedded unless DATABASE_URL); each test file makes its own database. */
export default async function setup(project: TestProject) {
  const server = await startTestServer();
  project.provide('adminUrl', server.adminUrl);
  return () => server.stop();
}
