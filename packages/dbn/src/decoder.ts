import { Decompress } from 'fzstd';
import { DbnError } from './errors.js';
import { readCString } from './fields.js';
import {
  RecordHeaderLayout,
  RecordLength,
  RType,
  SymbolMappingV1Layout,
  SymbolMappingV2Layout,
} from './layout.js';
import type { Metadata } from './metadata.js';
import { type BatchVisitor, RawDbnDecoder, type RecordBatch } from './raw-decoder.js';
import { type DbnRecord, decodeRecord } from './records.js';
import { SymbolMap } from './symbol-map.js';

/** Options of DbnDecoder. */
export interface DecoderOptions {
  /** `auto` (default) detects zstd by its magic bytes. */
  compression?: 'auto' | 'zstd' | 'none';
  /** Called once the metadata is complete. */
  onMetadata?: (metadata: Metadata) => void;
}

/** zstd frame magic (a compressed DBN stream starts with it; an uncompressed one with DBN_MAGIC). */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * The record under the cursor. Valid only during the visitor call: `bytes`/`view` may be a
 * caller's chunk or an internal buffer that is reused afterwards.
 */
export class RecordCursor {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(new ArrayBuffer(0));
  /** Offset of the record inside `bytes`/`view`. */
  offset = 0;
  rtype = 0;
  /** Record size in bytes (header length x 4, includes ts_out). */
  size = 0;
  /** Absolute offset of `bytes[0]` in the decompressed stream. */
  base = 0;

  /** Absolute byte offset of the record in the decompressed stream. */
  get position(): number {
    return this.base + this.offset;
  }
}

/** Called once per record; must not keep the cursor or its buffers. */
export type RecordVisitor = (cursor: RecordCursor) => void;

/** Whether the bytes start with the zstd frame magic. */
export function isZstd(bytes: Uint8Array): boolean {
  return ZSTD_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Streaming DBN decoder (optionally zstd): push chunks split anywhere, get records either as
 * objects (`push`) or through an allocation-free visitor (`write`). Keeps a SymbolMap updated
 * from the metadata and SymbolMappingMsg records.
 */
export class DbnDecoder {
  readonly symbols = new SymbolMap();
  private readonly raw = new RawDbnDecoder();
  private mode: 'auto' | 'zstd' | 'none';
  private sniff: Uint8Array = new Uint8Array(0);
  private zstd: Decompress | null = null;
  private onBatch: BatchVisitor = () => {};
  private readonly tracking: BatchVisitor;
  private readonly cursor = new RecordCursor();
  private compressedIn = 0;
  private version = 0;
  private tsOut = false;
  private failure: unknown = null;

  constructor(options: DecoderOptions = {}) {
    this.mode = options.compression ?? 'auto';
    const onMetadata = options.onMetadata;
    this.raw.onMetadata = (md) => {
      this.version = md.version;
      this.tsOut = md.ts_out;
      this.symbols.addMetadata(md);
      onMetadata?.(md);
    };
    this.tracking = (b) => {
      if (b.hasMappings) this.trackMappings(b);
      this.onBatch(b);
    };
  }

  /** Metadata once decoded, else null. */
  get metadata(): Metadata | null {
    return this.raw.metadata;
  }

  /** Decompressed bytes consumed so far. */
  get position(): number {
    return this.raw.position;
  }

  /**
   * Feed a chunk; `onBatch` gets each run of complete, validated records (the fastest path:
   * one call per chunk, the consumer loops over the records itself).
   */
  writeBatches(chunk: Uint8Array, onBatch: BatchVisitor): void {
    if (this.failure) throw this.failure;
    this.onBatch = onBatch;
    if (this.mode === 'auto') {
      const s = new Uint8Array(this.sniff.length + chunk.length);
      s.set(this.sniff);
      s.set(chunk, this.sniff.length);
      if (s.length < 4 && ZSTD_MAGIC.slice(0, s.length).every((b, i) => s[i] === b)) {
        this.sniff = s;
        return;
      }
      this.mode = isZstd(s) ? 'zstd' : 'none';
      this.sniff = new Uint8Array(0);
      chunk = s;
    }
    if (this.mode === 'none') {
      this.raw.write(chunk, this.tracking);
      return;
    }
    if (!this.zstd) {
      this.zstd = new Decompress((out) => {
        if (out.length > 0) this.raw.write(out, this.tracking);
      });
    }
    this.pushZstd(chunk, false);
  }

  /** End of input for the batch API: flushes and throws DbnError if the stream is truncated. */
  finishBatches(onBatch: BatchVisitor): void {
    if (this.failure) throw this.failure;
    this.onBatch = onBatch;
    if (this.mode === 'auto' && this.sniff.length > 0) {
      this.mode = 'none';
      this.raw.write(this.sniff, this.tracking);
    }
    if (this.zstd) this.pushZstd(new Uint8Array(0), true);
    this.raw.end();
  }

  /** Feed a chunk; `visit` sees every complete record through a reused cursor (no allocation). */
  write(chunk: Uint8Array, visit: RecordVisitor): void {
    this.writeBatches(chunk, (b) => this.visitBatch(b, visit));
  }

  /** End of input for the visitor API; throws DbnError if the stream is truncated. */
  finish(visit: RecordVisitor): void {
    this.finishBatches((b) => this.visitBatch(b, visit));
  }

  /** Feed a chunk; returns the records it completed as objects. */
  push(chunk: Uint8Array): DbnRecord[] {
    const out: DbnRecord[] = [];
    this.writeBatches(chunk, (b) => this.collect(b, out));
    return out;
  }

  /** End of input for the object API; returns records completed by the final flush. */
  end(): DbnRecord[] {
    const out: DbnRecord[] = [];
    this.finishBatches((b) => this.collect(b, out));
    return out;
  }

  /** Decode the record at `offset` of a batch's buffer (or a cursor's) into an object. */
  toObject(c: { bytes: Uint8Array; view: DataView; offset: number }): DbnRecord {
    return decodeRecord(c.bytes, c.view, c.offset, this.version, this.tsOut);
  }

  private visitBatch(b: RecordBatch, visit: RecordVisitor): void {
    const c = this.cursor;
    const bytes = b.bytes;
    c.bytes = bytes;
    c.view = b.view;
    c.base = b.position - b.start;
    for (let o = b.start; o < b.end; ) {
      const size = bytes[o + RecordHeaderLayout.length]! * RecordLength.unit;
      c.offset = o;
      c.rtype = bytes[o + RecordHeaderLayout.rtype]!;
      c.size = size;
      visit(c);
      o += size;
    }
  }

  private collect(b: RecordBatch, out: DbnRecord[]): void {
    const { bytes, view } = b;
    const version = this.version;
    const tsOut = this.tsOut;
    for (
      let o = b.start;
      o < b.end;
      o += bytes[o + RecordHeaderLayout.length]! * RecordLength.unit
    ) {
      out.push(decodeRecord(bytes, view, o, version, tsOut));
    }
  }

  private trackMappings(b: RecordBatch): void {
    const S = this.version === 1 ? SymbolMappingV1Layout : SymbolMappingV2Layout;
    const bytes = b.bytes;
    for (let o = b.start; o < b.end; o += bytes[o + S.length]! * RecordLength.unit) {
      if (bytes[o + S.rtype] !== RType.SYMBOL_MAPPING) continue;
      this.symbols.addMapping({
        instrument_id: b.view.getUint32(o + S.instrumentId, true),
        stype_out_symbol: readCString(bytes, o + S.stypeOutSymbol, S.symbolLength),
      });
    }
  }

  private pushZstd(chunk: Uint8Array, final: boolean): void {
    const at = this.compressedIn;
    this.compressedIn += chunk.length;
    try {
      this.zstd!.push(chunk, final);
    } catch (err) {
      this.failure =
        err instanceof DbnError
          ? err
          : new DbnError(
              'ZSTD_ERROR',
              `zstd: ${(err as Error).message} (compressed input byte ~${at})`,
              this.raw.position,
              { cause: err },
            );
      throw this.failure;
    }
  }
}
