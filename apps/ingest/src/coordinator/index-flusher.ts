import { KEYS } from '../kv/keys.js';
import type { KvStore } from '../kv/kv-store.js';

/**
 * Generation counters for the two coordinator-owned KV keys. A change bumps a generation; a flush
 * writes the key and records which generation it wrote, so changes made during the write are not
 * lost. KV allows one write per second per key, and these keys are shared by every request, so
 * they are written only here, at most once per MIN_WRITE_GAP_MS each.
 */
export interface FlushState {
  versionGen: number;
  versionWritten: number;
  versionWrittenAt: number;
  indexGen: number;
  indexWritten: number;
  indexWrittenAt: number;
  lastIngestWrittenMs: number | null;
}

/** Smallest gap between two writes of `timed:tickers` or `timed:data_version`. */
export const MIN_WRITE_GAP_MS = 1_050;
/** When only the last-ingest time changed, refresh the index's copy this often. */
export const LAST_INGEST_REFRESH_MS = 60_000;

/** A flush state with nothing written yet. */
export function initialFlushState(): FlushState {
  return {
    versionGen: 0,
    versionWritten: 0,
    versionWrittenAt: 0,
    indexGen: 0,
    indexWritten: 0,
    indexWrittenAt: 0,
    lastIngestWrittenMs: null,
  };
}

/** What the flusher reads from the coordinator. */
export interface FlushSource {
  flush: FlushState;
  version: string | null;
  lastIngestMs: number | null;
  tickers(): string[];
  save(): void;
}

/** When the next flush is due, or null when nothing is pending. */
export function nextFlushAt(src: FlushSource): number | null {
  const f = src.flush;
  let next = Number.POSITIVE_INFINITY;
  if (f.versionGen !== f.versionWritten && src.version !== null) {
    next = Math.min(next, f.versionWrittenAt + MIN_WRITE_GAP_MS);
  }
  if (f.indexGen !== f.indexWritten) {
    next = Math.min(next, f.indexWrittenAt + MIN_WRITE_GAP_MS);
  } else if (src.lastIngestMs !== null && src.lastIngestMs !== f.lastIngestWrittenMs) {
    next = Math.min(next, f.indexWrittenAt + LAST_INGEST_REFRESH_MS);
  }
  return Number.isFinite(next) ? next : null;
}

/** Writes whichever of `timed:data_version` and `timed:tickers` is due. */
export async function flushIndex(src: FlushSource, kv: KvStore): Promise<void> {
  const f = src.flush;
  const version = src.version;
  let now = Date.now();
  if (
    version !== null &&
    f.versionGen !== f.versionWritten &&
    now >= f.versionWrittenAt + MIN_WRITE_GAP_MS
  ) {
    const gen = f.versionGen;
    f.versionWrittenAt = now;
    src.save();
    await kv.put(KEYS.dataVersion, version, { meta: { v: version } });
    f.versionWritten = gen;
    src.save();
  }
  now = Date.now();
  const indexDue =
    f.indexGen !== f.indexWritten
      ? now >= f.indexWrittenAt + MIN_WRITE_GAP_MS
      : src.lastIngestMs !== f.lastIngestWrittenMs &&
        now >= f.indexWrittenAt + LAST_INGEST_REFRESH_MS;
  if (indexDue) {
    const gen = f.indexGen;
    const tickers = src.tickers();
    const lastIngestMs = src.lastIngestMs;
    f.indexWrittenAt = now;
    src.save();
    await kv.put(KEYS.tickers, JSON.stringify(tickers), {
      meta: {
        v: version ?? '0.0.0',
        count: tickers.length,
        ...(lastIngestMs === null ? {} : { lastIngestMs }),
      },
    });
    f.indexWritten = gen;
    f.lastIngestWrittenMs = lastIngestMs;
    src.save();
  }
}
