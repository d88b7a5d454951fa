import { describe, expect, it } from 'vitest';
import { distIndex as dist, distTesting, runScript } from '../test/helpers/index.js';

describe('createDb', () => {
  it('survives the server going away under a checked-out connection (the next query fails)', async () => {
    // pg-pool takes its error listener off a client while it is checked out (between the
    // statements of a transaction, say): Postgres' "terminating connection due to administrator
    // command" then had no listener and crashed the process.
    const { out, err, code } = await runScript(`
      import { createDb, sql } from ${JSON.stringify(dist)};
      import { startEmbeddedPostgres } from ${JSON.stringify(distTesting)};
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const pg = await startEmbeddedPostgres({ dataDir: join(tmpdir(), 'timed-gone-' + process.pid), persistent: false });
      const db = createDb(pg.url());
      await db.connection().execute(async (conn) => {
        await sql\`SELECT 1\`.execute(conn);
        await pg.stop();
        await new Promise((r) => setTimeout(r, 500));
        try {
          await sql\`SELECT 1\`.execute(conn);
          console.log('query answered');
        } catch (e) {
          console.log('query failed: ' + e.message);
        }
      });
      await db.destroy();
      console.log('survived');
    `);
    expect(err).not.toMatch(/terminating connection/);
    expect(out).toMatch(/query failed: /);
    expect(out).toContain('survived');
    expect(code).toBe(0);
  });
});
