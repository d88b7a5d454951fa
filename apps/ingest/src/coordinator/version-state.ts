import { compareSemver, isPatchOnlyChange } from '@timed/schema';
import type { PersistedState } from './coordinator-state.js';
import type { CoordinatorStore } from './coordinator-store.js';
import type { GateState, IngestNote } from './types.js';

// The data version S and what the ingest notes add to the coordinator's state (index membership,
// last-ingest time, stale and mismatch counters). Synchronous changes of `PersistedState`; the
// caller saves.

/** What isolates cache: S, E, whether a purge runs, and what an earlier skip kept. */
export function gateStateOf(s: PersistedState, expected: string): GateState {
  return {
    stored: s.version,
    expected,
    purging: s.job !== null,
    keepFrom: s.keepFrom,
  };
}

/**
 * Sets S. Refuses to move it back (the last guard behind `decideVersion`; only an operator's
 * rollback, in VersionChanges, may); a change marks the KV mirror due and clears the mismatch.
 */
export function setVersion(s: PersistedState, version: string): void {
  if (s.version !== null && compareSemver(version, s.version) < 0) {
    throw new Error(`refusing to move the data version back from ${s.version} to ${version}`);
  }
  if (s.version !== version) {
    s.version = version;
    s.flush.versionGen++;
    s.mismatch = null;
  }
}

/** Adds one handled payload to the index, the last-ingest time and the stale/mismatch counters. */
export function recordIngestNote(
  s: PersistedState,
  store: CoordinatorStore,
  note: IngestNote,
): void {
  if (note.kind === 'stale') {
    s.staleRejected++;
    return;
  }
  const stored = s.version;
  const current =
    stored === null ||
    compareSemver(note.version, stored) >= 0 ||
    isPatchOnlyChange(note.version, stored);
  // Not indexed: a late write of an older version (an isolate's cache had not expired yet), and
  // a note that arrives after a purge emptied the index but is about a write from before it.
  const indexable =
    current && (note.atMs >= (s.indexClearedAt ?? 0) || store.isProtected(note.ticker));
  if (indexable && store.addTicker(note.ticker, note.atMs)) s.flush.indexGen++;
  s.lastIngestMs = Math.max(s.lastIngestMs ?? 0, note.atMs);
  if (stored !== null && note.version !== stored) {
    const m = s.mismatch;
    s.mismatch = {
      version: note.version,
      ticker: note.ticker,
      count: (m?.count ?? 0) + 1,
      lastSeenMs: note.atMs,
    };
  }
}

/** Empties the ticker index (a purge begins); notes of writes from before `now` stay out of it. */
export function clearIndex(s: PersistedState, store: CoordinatorStore, now: number): void {
  store.clearTickers();
  s.indexClearedAt = now;
  s.flush.indexGen++;
}
