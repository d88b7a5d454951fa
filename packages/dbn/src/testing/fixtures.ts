import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The nearest folder at or above this module holding `file` (works from src/ and from dist/), else
 * the working directory.
 */
function findUp(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, file))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

const repoRoot = findUp('pnpm-workspace.yaml');

/** Shared data folder (TIMED_SHARED_DATA or <repo>/../shared/data). */
export const sharedData = process.env.TIMED_SHARED_DATA ?? join(repoRoot, '..', 'shared', 'data');
export const dbnDir = join(sharedData, 'dbn');
export const haveFixtures = existsSync(join(dbnDir, 'expected.json'));

if (!haveFixtures) {
  console.warn(`[dbn tests] shared DBN fixtures not found in ${dbnDir}: fixture tests skipped`);
}

export interface ExpectedFile {
  file: string;
  version: number;
  compression: 'none' | 'zstd';
  records_start_offset: number;
  metadata_length_field: number;
  metadata: Record<string, unknown>;
  record_count: number;
  records: Record<string, unknown>[];
}

/** Entries of expected.json (empty when the fixtures are absent). */
export function expectedFiles(): ExpectedFile[] {
  if (!haveFixtures) return [];
  const doc = JSON.parse(readFileSync(join(dbnDir, 'expected.json'), 'utf8')) as {
    files: ExpectedFile[];
  };
  return doc.files;
}

/** Bytes of a fixture file. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dbnDir, name)));
}

/** This package's folder (for spawning the built CLI). */
export const packageDir = findUp('package.json');
