import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

/** One Postgres per run (embedded unless DATABASE_URL); each test file makes its own database. */
export { provideTestServer as default } from '@timed/db/testing';
