import type { IngestNote } from '../coordinator/types.js';
import type { CoordinatorClient } from './coordinator-client.js';
import type { VersionGate } from './version-gate.js';

/** Most notes sent to the coordinator in one call. */
const MAX_BATCH = 500;
/**
 * How long a drain lets notes gather before each call. Every coordinator call costs a Durable
 * Object request (a storage commit and an alarm check): without a window a steady stream of alerts
 * sent one or two notes per call; with it an isolate makes about four calls a second however
 * many alerts it takes. Health's last-ingest time is behind by at most this much plus the call.
 */
export const NOTE_BATCH_WINDOW_MS = 250;
/** A drain that has not finished after this long is presumed cut off (its isolate work was cancelled). */
const STUCK_AFTER_MS = 15_000;

// Per isolate: notes waiting to be sent, and whether a request is already sending them.
const queue: IngestNote[] = [];
let drainingSince: number | undefined;
const sent = { calls: 0, notes: 0 };
let windowMs = NOTE_BATCH_WINDOW_MS;

/** Forgets queued notes and the counters (tests start each case from nothing). */
export function resetIngestNotes(): void {
  queue.length = 0;
  drainingSince = undefined;
  sent.calls = 0;
  sent.notes = 0;
  windowMs = NOTE_BATCH_WINDOW_MS;
}

/** Changes the gathering window until the next reset (tests widen it to observe batching). */
export function setNoteBatchWindow(ms: number): void {
  windowMs = ms;
}

/** Coordinator calls made by this isolate's drains and the notes they carried. */
export function ingestNoteStats(): { calls: number; notes: number } {
  return { ...sent };
}

/**
 * Queues a note for the coordinator (index membership, last-ingest time, counters). The first
 * request that finds no send in progress drains the queue from its own `waitUntil`: it waits
 * NOTE_BATCH_WINDOW_MS, sends what has gathered (up to MAX_BATCH notes), and repeats until the
 * queue is empty; notes of requests arriving meanwhile ride along. So a burst costs a few
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
      if (queue.length < MAX_BATCH) await sleep(windowMs);
      const batch = queue.splice(0, MAX_BATCH);
      if (batch.length === 0) break;
      const askedAt = Date.now();
      drainingSince = askedAt;
      sent.calls++;
      sent.notes += batch.length;
      try {
        gate.remember(await coordinator.recordIngests(batch), askedAt);
      } catch (error) {
        console.error(
          JSON.stringify({
            level: 'error',
            msg: 'recording ingests failed',
            notes: batch.length,
            error: String(error),
          }),
        );
      }
    }
  } finally {
    drainingSince = undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
