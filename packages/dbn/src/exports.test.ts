import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageDir } from './testing/fixtures.js';

// kysely's `test:exports`, in one file: every subpath of the exports map resolves to the built
// `dist` (the global setup builds it when stale) through Node's own package resolution, the
// way another workspace package imports it, with its types beside it.

const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
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
  it('maps exactly ".", "./gateway", "./prng" and "./testing", each with its types', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './gateway', './prng', './testing']);
    for (const entry of Object.values(pkg.exports)) {
      expect(existsSync(join(packageDir, entry.import))).toBe(true);
      expect(existsSync(join(packageDir, entry.types))).toBe(true);
    }
  });

  it('@timed/dbn is the library only: decoder, layout, clients, no gateway or test helpers', () => {
    const names = exportedNames(pkg.name);
    for (const n of ['DbnDecoder', 'LiveClient', 'HistoricalClient', 'TradeLayout', 'RType']) {
      expect(names).toContain(n);
    }
    for (const n of ['startLocalGateway', 'generateTradesSession', 'sumTradeFields', 'Rng']) {
      expect(names).not.toContain(n);
    }
  });

  it('@timed/dbn/gateway has the local gateway, its sources and the trades generator', () => {
    expect(exportedNames(`${pkg.name}/gateway`).sort()).toEqual([
      'fileSource',
      'generateTradesSession',
      'startLocalGateway',
      'tradesSource',
    ]);
  });

  it('@timed/dbn/testing has the fixtures and the benchmarks consumer', () => {
    expect(exportedNames(`${pkg.name}/testing`).sort()).toEqual([
      'dbnDir',
      'expectedFiles',
      'fixture',
      'needFixtures',
      'sharedData',
      'sumTradeFields',
    ]);
  });

  it('@timed/dbn/prng has the test PRNG and loads no Node module (the Worker tests import it)', () => {
    expect(exportedNames(`${pkg.name}/prng`).sort()).toEqual(['Rng', 'mulberry32']);
    // Every file the built entry loads, followed through its relative imports (tsup's chunks).
    const seen = new Set<string>();
    const specifiers: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(join(dirname(file), spec));
        else specifiers.push(spec);
      }
    };
    visit(join(packageDir, pkg.exports['./prng']!.import));
    expect(specifiers).toEqual([]);
  });
});
