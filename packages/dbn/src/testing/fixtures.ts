import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTestingEnv } from './env.js';

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

/** Shared data folder (TIMED_SHARED_DATA, blank = unset, or <repo>/../shared/data). */
export const sharedData = readTestingEnv().sharedData ?? join(repoRoot, '..', 'shared', 'data');
/** Databento's DBN fixtures (with their expected.json) inside the shared data folder. */
export const dbnDir = join(sharedData, 'dbn');
const haveFixtures = existsSync(join(dbnDir, 'expected.json'));

/** Whether the tests run under CI (`CI` set to anything but empty, `0` or `false`). */
function underCi(): boolean {
  return readTestingEnv().ci;
}

/**
 * The gate of every test that needs Databento's fixtures: true when they are present. When they
 * are missing, under CI it throws (the test file fails rather than passing with nothing run);
 * elsewhere it prints a notice naming `suite` and the folder, and returns false so the caller
 * skips: `describe.skipIf(!needFixtures('decoder fixtures'))(…)`.
 */
export function needFixtures(suite: string): boolean {
  if (haveFixtures) return true;
  const where = `${dbnDir} (set TIMED_SHARED_DATA to the shared data folder)`;
  if (underCi()) {
    throw new Error(`[${suite}] Databento's DBN fixtures are missing from ${where}; CI needs them`);
  }
  console.warn(`[${suite}] SKIPPED: Databento's DBN fixtures not found in ${where}`);
  return false;
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

/** Entries of expected.json (empty when the fixtures are absent: gate with needFixtures). */
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
