import { MIN_RECORD_SIZE } from './constants.js';
import { DbnError } from './errors.js';
import { PreludeLayout, RecordHeaderLayout, RecordLength, RType } from './layout.js';
import {
  MAX_VERSION,
  type Metadata,
  parseMetadata,
  parsePrelude,
  startsWithMagic,
} from './metadata.js';

/**
 * A run of complete, validated records inside one buffer: each record's length is >= 16 and at
 * least its rtype's struct size. Iterate with `for (let o = b.start; o < b.end; o += b.bytes[o]! * 4)`
 * (the header's length byte, in 4-byte words: RecordHeaderLayout.length, RecordLength.unit).
 * Valid only during the callback (the buffer may be an internal one that is reused).
 */
export interface RecordBatch {
  bytes: Uint8Array;
  view: DataView;
  /** Offset of the first record in `bytes`. */
  start: number;
  /** Offset just past the last record. */
  end: number;
  /** Absolute stream offset (decompressed) of `start`. */
  position: number;
  /** Number of records in the batch. */
  count: number;
  /** Whether the batch holds at least one SymbolMappingMsg. */
  hasMappings: boolean;
}

/** Receives validated record batches: the allocation-free, call-per-chunk hot path. */
export type BatchVisitor = (batch: RecordBatch) => void;

const EMPTY = new Uint8Array(0);

/**
 * Push-based decoder of an uncompressed DBN stream (prelude -> metadata -> records). Chunks
 * may be split anywhere; complete records are handed over in batches straight from the chunk.
 */
export class RawDbnDecoder {
  metadata: Metadata | null = null;
  onMetadata: ((m: Metadata) => void) | undefined;
  private inRecords = false;
  private failure: unknown = null;
  private total = 0;
  private meta = new Uint8Array(256);
  private metaLen = 0;
  private readonly pending = new Uint8Array(RecordLength.max);
  private readonly pendingView = new DataView(this.pending.buffer);
  private pendingLen = 0;
  private pendingStart = 0;
  private sizeBase = 0;
  private tsExtra = 0;
  private readonly batch: RecordBatch = {
    bytes: EMPTY,
    view: new DataView(EMPTY.buffer),
    start: 0,
    end: 0,
    position: 0,
    count: 0,
    hasMappings: false,
  };

  /** Bytes consumed so far (decompressed stream offset). */
  get position(): number {
    return this.total;
  }

  /** Feed a chunk; throws DbnError on corrupt input (and on every later call). */
  write(chunk: Uint8Array, visit: BatchVisitor): void {
    if (this.failure) throw this.failure;
    const abs = this.total;
    this.total += chunk.length;
    try {
      if (this.inRecords) this.records(chunk, abs, visit);
      else this.header(chunk, visit);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  /** Signal end of input; throws DbnError if the stream stopped inside metadata or a record. */
  end(): void {
    if (this.failure) throw this.failure;
    if (!this.inRecords) {
      this.failure = new DbnError(
        'TRUNCATED_METADATA',
        this.total === 0 ? 'empty input' : 'input ended inside the metadata',
        this.total,
      );
      throw this.failure;
    }
    if (this.pendingLen > 0) {
      this.failure = new DbnError(
        'TRUNCATED_RECORD',
        `input ended inside a record (${this.pendingLen} of ${this.pending[RecordHeaderLayout.length]! * RecordLength.unit} bytes)`,
        this.pendingStart,
      );
      throw this.failure;
    }
  }

  private header(chunk: Uint8Array, visit: BatchVisitor): void {
    const need = this.metaLen + chunk.length;
    if (need > this.meta.length) {
      const grown = new Uint8Array(Math.max(need, this.meta.length * 2));
      grown.set(this.meta.subarray(0, this.metaLen));
      this.meta = grown;
    }
    this.meta.set(chunk, this.metaLen);
    this.metaLen = need;
    const bytes = this.meta;
    // Fail fast on garbage instead of waiting for a metadata length that may never come.
    if (!startsWithMagic(bytes, need)) {
      parsePrelude(bytes, new DataView(bytes.buffer, 0, Math.max(need, 4)));
    }
    const P = PreludeLayout;
    if (need < P.structSize) {
      const version = bytes[P.version]!;
      if (need > P.version && (version < 1 || version > MAX_VERSION)) {
        throw new DbnError('UNSUPPORTED_VERSION', `unsupported DBN version ${version}`, P.version);
      }
      return;
    }
    const view = new DataView(bytes.buffer, 0, need);
    const { length } = parsePrelude(bytes, view);
    const end = P.structSize + length;
    if (need < end) return;
    const md = parseMetadata(bytes.subarray(0, end));
    this.metadata = md;
    this.inRecords = true;
    this.sizeBase = md.version * 256;
    this.tsExtra = md.ts_out ? RecordLength.tsOut : 0;
    const rest = bytes.slice(end, need);
    this.meta = EMPTY;
    this.metaLen = 0;
    this.onMetadata?.(md);
    if (rest.length > 0) this.records(rest, end, visit);
  }

  private tooShort(rtype: number, size: number, position: number): void {
    const min = MIN_RECORD_SIZE[this.sizeBase + rtype]!;
    if (min !== 0 && size < min + this.tsExtra) {
      throw new DbnError(
        'RECORD_TOO_SHORT',
        `record of rtype 0x${rtype.toString(16)} is ${size} bytes, needs ${min + this.tsExtra}`,
        position,
      );
    }
  }

  private emit(
    visit: BatchVisitor,
    bytes: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    position: number,
    count: number,
    hasMappings: boolean,
  ): void {
    const b = this.batch;
    b.bytes = bytes;
    b.view = view;
    b.start = start;
    b.end = end;
    b.position = position;
    b.count = count;
    b.hasMappings = hasMappings;
    visit(b);
  }

  private records(chunk: Uint8Array, abs: number, visit: BatchVisitor): void {
    const n = chunk.length;
    let p = 0;
    if (this.pendingLen > 0) {
      const size = this.pending[RecordHeaderLayout.length]! * RecordLength.unit;
      const want = size - this.pendingLen;
      if (n < want) {
        this.pending.set(chunk, this.pendingLen);
        this.pendingLen += n;
        return;
      }
      this.pending.set(chunk.subarray(0, want), this.pendingLen);
      this.pendingLen = 0;
      const rtype = this.pending[RecordHeaderLayout.rtype]!;
      this.tooShort(rtype, size, this.pendingStart);
      this.emit(
        visit,
        this.pending,
        this.pendingView,
        0,
        size,
        this.pendingStart,
        1,
        rtype === RType.SYMBOL_MAPPING,
      );
      p = want;
    }
    if (p >= n) return;
    const table = MIN_RECORD_SIZE;
    const base = this.sizeBase;
    const extra = this.tsExtra;
    const first = p;
    let count = 0;
    let maps = false;
    let lastType = -1;
    let lastMin = 0;
    // Validation pass: kept as tight as the plain length-byte loop it is benchmarked against.
    while (p < n) {
      const size = chunk[p + RecordHeaderLayout.length]! * RecordLength.unit;
      if (size < 16) {
        throw new DbnError('BAD_RECORD_LENGTH', `record length ${size} < 16`, abs + p);
      }
      if (p + size > n) break;
      const rtype = chunk[p + RecordHeaderLayout.rtype]!;
      if (rtype !== lastType) {
        lastType = rtype;
        // Unknown rtypes have a minimum of 0, which any valid length passes.
        lastMin = table[base + rtype]! + extra;
        if (rtype === RType.SYMBOL_MAPPING) maps = true;
      }
      if (size < lastMin) this.tooShort(rtype, size, abs + p);
      p += size;
      count++;
    }
    if (count > 0) {
      const view = new DataView(chunk.buffer, chunk.byteOffset, n);
      this.emit(visit, chunk, view, first, p, abs + first, count, maps);
    }
    if (p < n) {
      this.pending.set(chunk.subarray(p), 0);
      this.pendingLen = n - p;
      this.pendingStart = abs + p;
    }
  }
}
