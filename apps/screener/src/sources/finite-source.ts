import {
  DbnDecoder,
  type DbnRecordStream,
  type Metadata,
  type RecordBatch,
  type SymbolMap,
} from '@timed/dbn';
import { BarAggregator, type BarSource } from '../aggregate/bar-aggregator.js';
import { ScreenerError } from '../errors.js';
import type { BarWriter } from '../store/bar-writer.js';

/** Progress of a finite source (file or historical request). */
export interface SourceProgress {
  /** Bytes read so far (0 when the source reports records only). */
  bytesRead: number;
  /** Total bytes when known (file size). */
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

/** Options of feedFiniteSource / feedRecordStream. */
export interface FiniteSourceOptions {
  /** Bars from trades or mbp-1 records; a stream whose metadata names one of them wins. */
  source: BarSource;
  writer: BarWriter;
  /** Where the data comes from, for error messages (file path, "historical ..."). */
  label: string;
  onProgress?: (p: SourceProgress) => void;
  /** Total byte count when known. */
  bytesTotal?: number;
  /** Stop early (SIGTERM): closed bars are still flushed, the open minute is not written. */
  signal?: AbortSignal;
}

const MINUTE_NS = 60_000_000_000n;

/** The aggregator of one finite stream: picks the source from the metadata, tracks minutes. */
class FiniteRun {
  aggregator: BarAggregator;
  source: BarSource;
  firstMinute: number | undefined;
  lastMinute: number | undefined;
  private lastReport = 0;

  constructor(
    private readonly options: FiniteSourceOptions,
    private readonly symbols: () => SymbolMap,
    /** Batches through the WebAssembly scan (files); record streams take the general path. */
    private readonly scan: boolean,
  ) {
    this.source = options.source;
    this.aggregator = this.make();
  }

  onMetadata(md: Metadata): void {
    if (md.schema === 'trades' || md.schema === 'mbp-1') this.source = md.schema;
    this.aggregator = this.make();
  }

  private make(): BarAggregator {
    try {
      return this.aggregatorOf();
    } catch (err) {
      if (!this.scan) throw err;
      throw new ScreenerError(
        'NO_WEBASSEMBLY',
        `${this.options.label}: replay aggregates files through a WebAssembly scan: ${(err as Error).message} (run and backfill do not need it)`,
        { label: this.options.label },
        { cause: err },
      );
    }
  }

  private aggregatorOf(): BarAggregator {
    return new BarAggregator({
      source: this.source,
      scan: this.scan,
      symbolOf: (id, minute) => this.symbols().get(id, BigInt(minute) * MINUTE_NS),
      onBars: (closed) => {
        if (this.firstMinute === undefined) this.firstMinute = closed.minute;
        this.lastMinute = closed.minute;
        this.options.writer.enqueue(closed.toBarInputs(), closed.minute);
      },
    });
  }

  report(bytesRead: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastReport < 250) return;
    this.lastReport = now;
    this.options.onProgress?.({
      bytesRead,
      bytesTotal: this.options.bytesTotal,
      records: this.aggregator.stats.records,
      barsWritten: this.options.writer.stats.barsWritten,
      barsBuffered: this.options.writer.buffered,
    });
  }

  async failed(err: unknown, bytesRead: number): Promise<never> {
    const { writer, label } = this.options;
    await writer.drain();
    this.report(bytesRead, true);
    const why = err instanceof Error ? err.message : String(err);
    throw new ScreenerError(
      'BAD_FILE',
      `${label}: ${why}; wrote the ${writer.stats.barsWritten} bars of the complete minutes before it, not the unfinished minute`,
      { label },
      { cause: err },
    );
  }

  async finish(bytesRead: number, metadata: Metadata | null | undefined): Promise<SourceSummary> {
    await this.options.writer.drain();
    this.report(bytesRead, true);
    const s = this.aggregator.stats;
    return {
      records: s.records,
      aggregated: s.aggregated,
      barsEmitted: s.barsEmitted,
      barsWritten: this.options.writer.stats.barsWritten,
      skipped: {
        undefinedPrice: s.undefinedPrice,
        undefinedSide: s.undefinedSide,
        wideSpread: s.wideSpread,
        unmapped: s.unmapped,
        late: s.late,
      },
      firstMinute: this.firstMinute,
      lastMinute: this.lastMinute,
      source: this.source,
      dataset: metadata?.dataset,
      schema: metadata?.schema,
    };
  }
}

/**
 * Decodes a finite DBN byte stream (`.dbn` or `.dbn.zst`) through the aggregator (dbn's batch
 * path) into the writer, with backpressure, and flushes. At the end of the stream the last minute
 * is complete and is written. On corrupt or truncated input the bars of complete minutes are
 * flushed, the open minute is not, and a BAD_FILE error says where the input broke.
 */
export async function feedFiniteSource(
  chunks: AsyncIterable<Uint8Array>,
  options: FiniteSourceOptions,
): Promise<SourceSummary> {
  const decoder: DbnDecoder = new DbnDecoder({ onMetadata: (md) => run.onMetadata(md) });
  const run = new FiniteRun(options, () => decoder.symbols, true);
  const onBatch = (b: RecordBatch) => run.aggregator.handleBatch(b);
  const { writer } = options;
  let bytesRead = 0;
  let aborted = false;
  try {
    for await (const chunk of chunks) {
      decoder.writeBatches(chunk, onBatch);
      bytesRead += chunk.length;
      if (writer.buffered > 0) await writer.waitForRoom();
      run.report(bytesRead);
      if (options.signal?.aborted) {
        aborted = true;
        break;
      }
    }
    if (!aborted) {
      decoder.finishBatches(onBatch);
      run.aggregator.closeAll();
    }
  } catch (err) {
    return run.failed(err, bytesRead);
  }
  return run.finish(bytesRead, decoder.metadata);
}

/**
 * The same for a stream of decoded records (dbn's Historical client): metadata first, then
 * records; the symbol map comes from the stream.
 */
export async function feedRecordStream(
  stream: DbnRecordStream,
  options: FiniteSourceOptions,
): Promise<SourceSummary> {
  const run = new FiniteRun(options, () => stream.symbols, false);
  let metadata: Metadata | undefined;
  const { writer } = options;
  let n = 0;
  let aborted = false;
  try {
    for await (const rec of stream) {
      // The metadata is decoded before the first record: apply it before aggregating.
      if (metadata === undefined) {
        metadata = await stream.metadata;
        run.onMetadata(metadata);
      }
      run.aggregator.handleRecord(rec);
      if (++n % 8192 === 0) {
        if (writer.buffered > 0) await writer.waitForRoom();
        run.report(0);
        if (options.signal?.aborted) {
          aborted = true;
          break;
        }
      }
    }
    if (!aborted) run.aggregator.closeAll();
  } catch (err) {
    return run.failed(err, 0);
  }
  return run.finish(0, metadata);
}
