// @timed/db/testing: Postgres for tests and benchmarks (not for the apps' runtime).
export {
  type EmbeddedPostgresHandle,
  type EmbeddedPostgresOptions,
  ensureDatabase,
  freePort,
  startEmbeddedPostgres,
} from '../embedded-postgres.js';
export {
  createTestDatabase,
  type ProvidingProject,
  provideTestServer,
  startTestServer,
  type TestServer,
} from './test-server.js';
