import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// kysely's `test:exports`, in one file: every subpath of the exports map resolves to the built
// `dist` (build first: `pnpm --filter @timed/db build`) through Node's own package resolution,
// the way another workspace package imports it, with its types beside it.

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${packageDir}package.json`, 'utf8')) as {
  name: string;
  exports: Record<string, { types: string; import: string }>;
};

/** Names a subpath exports, as a separate Node process resolving `specifier` sees them. */
function exportedNames(specifier: string): string[] {
  // A package may import itself by name: this goes through package.json's exports map.
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(specifier)});
       console.log(JSON.stringify({ url: import.meta.resolve(${JSON.stringify(specifier)}), names: Object.keys(m) }));`,
    ],
    { cwd: packageDir, encoding: 'utf8' },
  );
  const { url, names } = JSON.parse(out) as { url: string; names: string[] };
  expect(url).toContain('/dist/');
  return names;
}

describe('package exports (built dist)', () => {
  it('maps exactly ".", "./testing" and "./runbook", each with its types', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './runbook', './testing']);
    for (const entry of Object.values(pkg.exports)) {
      expect(existsSync(`${packageDir}${entry.import}`)).toBe(true);
      expect(existsSync(`${packageDir}${entry.types}`)).toBe(true);
    }
  });

  it('@timed/db is the library: pool, migrator, bars, live state, local database; no test servers or runbook', () => {
    const names = exportedNames(pkg.name);
    for (const n of [
      'createDb',
      'migrate',
      'upsertBars',
      'readBarRows',
      'LivePublisher',
      'openLocalDatabase',
      'PRICE_BAR_COLUMNS',
      'migrationFacts',
    ]) {
      expect(names).toContain(n);
    }
    for (const n of [
      'createTestDatabase',
      'startTestServer',
      'provideTestServer',
      'startEmbeddedPostgres',
      'freePort',
      'archiveLegacy',
      'checkCleanupGates',
    ]) {
      expect(names).not.toContain(n);
    }
  });

  it('@timed/db/testing has the test servers and the embedded-Postgres starter', () => {
    expect(exportedNames(`${pkg.name}/testing`).sort()).toEqual([
      'createTestDatabase',
      'ensureDatabase',
      'freePort',
      'provideTestServer',
      'startEmbeddedPostgres',
      'startTestServer',
    ]);
  });

  it("@timed/db/runbook has the seed's runbook commands and the cleanup gates", () => {
    expect(exportedNames(`${pkg.name}/runbook`).sort()).toEqual([
      'GATED_ACTIONS',
      'archiveLegacy',
      'backupRows',
      'checkCleanupGates',
      'deleteLegacy',
      'describeCriterion',
      'inTransaction',
      'monitorSnapshot',
      'planFor',
      'purgeSoftDeleted',
      'resolveMinDays',
      'restoreBackup',
      'restoreSoftDeleted',
      'rollbackTrades',
      'softDeleteLegacy',
      'unarchiveLegacy',
    ]);
  });
});
