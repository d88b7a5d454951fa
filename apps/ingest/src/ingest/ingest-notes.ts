import type { IngestNote } from '../coordinator/types.js';
import { errorText, logEvent } from '../log.js';
import type { CoordinatorClient } from './coordinator-client.js';
import type { VersionGate } from './version-gate.js';

/** Most notes sent to the coordinator in one call. */
const MAX_BATCH = 500;
/** A drain that has not finished after this long is presumed cut off (its isolate work was cancelled). */
const STUCK_AFTER_MS = 15_000;

// Per isolate: notes waiting to be sent, and whether a request is already sending them.
const queue: IngestNote[] = [];
let drainingSince: number | undefined;

/** Forgets queued notes (tests start each case from nothing). */
export function resetIngestNotes(): void {
  queue.length = 0;
  drainingSince = undefined;
}

/**
 * Queues a note for the coordinator (index membership, last-ingest time, counters). The first
 * request that finds no send in progress drains the queue from its own `waitUntil`, in batches,
 * until it is empty; notes of requests arriving meanwhile ride along. So a burst costs a few
 * coordinator calls per isolate instead of one per request, and no request waits on another's I/O.
 */
export function noteIngest(
  note: IngestNote,
  coordinator: CoordinatorClient,
  gate: VersionGate,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  queue.push(note);
  const now = Date.now();
  if (drainingSince !== undefined && now - drainingSince < STUCK_AFTER_MS) return;
  drainingSince = now;
  waitUntil(drain(coordinator, gate));
}

async function drain(coordinator: CoordinatorClient, gate: VersionGate): Promise<void> {
  try {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      const askedAt = Date.now();
      drainingSince = askedAt;
      try {
        gate.remember(await coordinator.recordIngests(batch), askedAt);
      } catch (error) {
        logEvent('error', 'recording_ingests_failed', {
          notes: batch.length,
          error: errorText(error),
        });
      }
    }
  } finally {
    drainingSince = undefined;
  }
}
