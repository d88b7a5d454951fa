import { compareSemver, parseSemver } from './semver.js';

/**
 * What the ingest Worker must do with a payload, given the stored version S, the version this
 * deployment expects E and the payload's version P.
 *
 * - `initialize`: nothing stored yet; set S = P, no purge.
 * - `ingest`: P = S, store the payload.
 * - `migrate`: P = E and S differs from E in MAJOR or MINOR (or in PATCH when `purgeOnPatch`):
 *   archive, purge, set S = E, then store.
 * - `bump`: P = E and S differs from E only in PATCH (or pre-release): set S = E without purging, then store.
 * - `stale`: P is older than S; store nothing (S never moves backwards).
 * - `mismatch`: any other P; store without migrating (the seed's "skip migration" path).
 */
export type VersionDecision =
  | { action: 'initialize'; version: string }
  | { action: 'ingest'; version: string }
  | { action: 'migrate'; from: string; to: string }
  | { action: 'bump'; from: string; to: string }
  | { action: 'stale'; stored: string; incoming: string }
  | { action: 'mismatch'; stored: string; expected: string; incoming: string };

export interface VersionDecisionInput {
  /** `timed:data_version` as stored, or null/undefined when absent. */
  stored: string | null | undefined;
  /** `CURRENT_DATA_VERSION` of this deployment. */
  expected: string;
  /** The payload's `script_version`. */
  incoming: string;
  /** Purge on a patch-only change too (default false). */
  purgeOnPatch?: boolean;
}

/** Decides between ingest, migration, bump, stale rejection and mismatch for one payload. */
export function decideVersion(input: VersionDecisionInput): VersionDecision {
  const { expected, incoming } = input;
  const stored = input.stored ?? undefined;
  if (stored === undefined || parseSemver(stored) === undefined) {
    // No (or an unreadable) stored version: the first payload defines it, nothing to purge.
    return { action: 'initialize', version: incoming };
  }
  const byIncoming = compareSemver(incoming, stored);
  if (byIncoming === 0) return { action: 'ingest', version: stored };
  if (byIncoming < 0) return { action: 'stale', stored, incoming };
  if (compareSemver(incoming, expected) === 0) {
    return isPatchOnlyChange(stored, expected) && !input.purgeOnPatch
      ? { action: 'bump', from: stored, to: expected }
      : { action: 'migrate', from: stored, to: expected };
  }
  return { action: 'mismatch', stored, expected, incoming };
}

/** True when two versions share MAJOR and MINOR (a patch-only change never needs a purge by default). */
export function isPatchOnlyChange(a: string, b: string): boolean {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return false;
  return x.major === y.major && x.minor === y.minor;
}
