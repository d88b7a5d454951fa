import { DbnDecoder, type RecordCursor } from '@timed/dbn';
import { BarAggregator, type BarSource } from './bar-aggregator.js';
import type { BarWriter } from './bar-writer.js';
import { ScreenerError } from './errors.js';

/** Progress of a finite source (file or historical request). */
export interface SourceProgress {
  /** Compressed or raw bytes read so far. */
  bytesRead: number;
  /** Total bytes when known (file size, Content-Length). */
  bytesTotal: number | undefined;
  records: number;
  barsWritten: number;
  barsBuffered: number;
}

/** Result of feeding a finite source. */
export interface SourceSummary {
  records: number;
  aggregated: number;
  barsEmitted: number;
  barsWritten: number;
  skipped: {
    undefinedPrice: number;
    undefinedSide: number;
    wideSpread: number;
    unmapped: number;
    late: number;
  };
  firstMinute: number | undefined;
  lastMinute: number | undefined;
  /** What the bars were built from. */
  source: BarSource;
  dataset: string | undefined;
  schema: string | null | undefined;
}

/** Options of feedFiniteSource. */
export interface FiniteSourceOptions {
  /** Bars from trades or mbp-1 records; a stream whose metadata names one of them wins. */
  source: BarSource;
  writer: BarWriter;
  /** Where the bytes come from, for error messages (file path, "historical API"). */
  label: string;
  onProgress?: (p: SourceProgress) => void;
  /** Total byte count when known. */
  bytesTotal?: number;
  /** Stop early (SIGTERM): closed bars are still flushed, the open minute is not written. */
  signal?: AbortSignal;
}

/**
 * Decodes a finite DBN byte stream (`.dbn` or `.dbn.zst`) through the aggregator into the
 * writer, with backpressure, and flushes. At the end of the stream the last minute is complete
 * and is written. On corrupt or truncated input the bars of complete minutes are flushed, the
 * open minute is not, and a BAD_FILE error says where the input broke.
 */
export async function feedFiniteSource(
  chunks: AsyncIterable<Uint8Array>,
  options: FiniteSourceOptions,
): Promise<SourceSummary> {
  const { writer } = options;
  let firstMinute: number | undefined;
  let lastMinute: number | undefined;
  let source = options.source;
  const makeAggregator = () =>
    new BarAggregator({
      source,
      symbolOf: (id, minute) => decoder.symbols.get(id, BigInt(minute) * 60_000_000_000n),
      onBars: (bars, minute) => {
        if (firstMinute === undefined) firstMinute = minute;
        lastMinute = minute;
        writer.enqueue(bars, minute);
      },
    });
  const decoder: DbnDecoder = new DbnDecoder({
    onMetadata: (md) => {
      if (md.schema === 'trades' || md.schema === 'mbp-1') source = md.schema;
      aggregator = makeAggregator();
    },
  });
  let aggregator = makeAggregator();
  const visit = (c: RecordCursor) => aggregator.handle(c);
  let bytesRead = 0;
  let lastReport = 0;
  const report = () =>
    options.onProgress?.({
      bytesRead,
      bytesTotal: options.bytesTotal,
      records: aggregator.stats.records,
      barsWritten: writer.stats.barsWritten,
      barsBuffered: writer.buffered,
    });
  let aborted = false;
  try {
    for await (const chunk of chunks) {
      decoder.write(chunk, visit);
      bytesRead += chunk.length;
      if (writer.buffered > 0) await writer.waitForRoom();
      const now = Date.now();
      if (now - lastReport >= 250) {
        lastReport = now;
        report();
      }
      if (options.signal?.aborted) {
        aborted = true;
        break;
      }
    }
    if (!aborted) {
      decoder.finish(visit);
      aggregator.closeAll();
    }
  } catch (err) {
    await writer.drain();
    report();
    const why = err instanceof Error ? err.message : String(err);
    throw new ScreenerError(
      'BAD_FILE',
      `${options.label}: ${why}; wrote the ${writer.stats.barsWritten} bars of the complete minutes before it, not the unfinished minute`,
      { label: options.label },
      { cause: err },
    );
  }
  await writer.drain();
  report();
  const s = aggregator.stats;
  return {
    records: s.records,
    aggregated: s.aggregated,
    barsEmitted: s.barsEmitted,
    barsWritten: writer.stats.barsWritten,
    skipped: {
      undefinedPrice: s.undefinedPrice,
      undefinedSide: s.undefinedSide,
      wideSpread: s.wideSpread,
      unmapped: s.unmapped,
      late: s.late,
    },
    firstMinute,
    lastMinute,
    source,
    dataset: decoder.metadata?.dataset,
    schema: decoder.metadata?.schema,
  };
}
