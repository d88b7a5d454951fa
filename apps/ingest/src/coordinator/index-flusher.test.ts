import { describe, expect, it } from 'vitest';
import {
  type FlushSource,
  initialFlushState,
  LAST_INGEST_REFRESH_MS,
  MIN_WRITE_GAP_MS,
  nextFlushAt,
} from './index-flusher.js';

function source(patch: Partial<FlushSource> = {}): FlushSource {
  return {
    flush: initialFlushState(),
    version: '2.2.0',
    lastIngestMs: null,
    tickers: () => [],
    save: () => {},
    ...patch,
  };
}

describe('nextFlushAt', () => {
  it('is null when nothing changed', () => {
    expect(nextFlushAt(source())).toBeNull();
  });

  it('waits a full gap after the last index write before writing the index again', () => {
    const s = source();
    s.flush.indexGen = 1;
    s.flush.indexWrittenAt = 10_000;
    expect(nextFlushAt(s)).toBe(10_000 + MIN_WRITE_GAP_MS);
  });

  it('refreshes only the last-ingest time once a minute', () => {
    const s = source({ lastIngestMs: 5 });
    s.flush.indexWrittenAt = 10_000;
    expect(nextFlushAt(s)).toBe(10_000 + LAST_INGEST_REFRESH_MS);
  });
});
