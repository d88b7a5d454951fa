import { compareSemver, isPatchOnlyChange, parseSemver } from '@timed/schema';

/**
 * True when a value tagged `valueVersion` belongs to the current scoring model S (or, after a
 * skip, the oldest version kept, GateState.keepFrom): same or newer version, or a patch of it. Values of an older model are waiting for a purge and are not served.
 * Untagged values (written by the pre-versioning Worker) are served as they are.
 */
export function isCurrentModel(valueVersion: string | undefined, stored: string | null): boolean {
  if (valueVersion === undefined || stored === null || !parseSemver(valueVersion)) return true;
  return compareSemver(valueVersion, stored) >= 0 || isPatchOnlyChange(valueVersion, stored);
}
