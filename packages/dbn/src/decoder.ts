import { Decompress } from 'fzstd';
import { RType } from './constants.js';
import { DbnError } from './errors.js';
import { readCString } from './fields.js';
import type { Metadata } from './metadata.js';
import { RawDbnDecoder, type RecordCursor, type RecordVisitor } from './raw-decoder.js';
import { type DbnRecord, decodeRecord } from './records.js';
import { SymbolMap } from './symbol-map.js';

/** Options of DbnDecoder. */
export interface DecoderOptions {
  /** `auto` (default) detects zstd by its magic bytes. */
  compression?: 'auto' | 'zstd' | 'none';
  /** Called once the metadata is complete. */
  onMetadata?: (metadata: Metadata) => void;
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

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
  private visit: RecordVisitor = () => {};
  private readonly tracking: RecordVisitor;
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
    this.tracking = (c) => {
      if (c.rtype === RType.SYMBOL_MAPPING) this.trackMapping(c);
      this.visit(c);
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

  /** Feed a chunk; `visit` sees every complete record (zero-copy, zero-allocation path). */
  write(chunk: Uint8Array, visit: RecordVisitor): void {
    if (this.failure) throw this.failure;
    this.visit = visit;
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

  /** End of input: flushes and throws DbnError if the stream is truncated. */
  finish(visit: RecordVisitor): void {
    if (this.failure) throw this.failure;
    this.visit = visit;
    if (this.mode === 'auto' && this.sniff.length > 0) {
      this.mode = 'none';
      this.raw.write(this.sniff, this.tracking);
    }
    if (this.zstd) this.pushZstd(new Uint8Array(0), true);
    this.raw.end();
  }

  /** Feed a chunk; returns the records it completed as objects. */
  push(chunk: Uint8Array): DbnRecord[] {
    const out: DbnRecord[] = [];
    this.write(chunk, (c) => out.push(this.toObject(c)));
    return out;
  }

  /** End of input for the object API; returns records completed by the final flush. */
  end(): DbnRecord[] {
    const out: DbnRecord[] = [];
    this.finish((c) => out.push(this.toObject(c)));
    return out;
  }

  /** Decode the record under a cursor into an object. */
  toObject(c: RecordCursor): DbnRecord {
    return decodeRecord(c.bytes, c.view, c.offset, this.version, this.tsOut);
  }

  private trackMapping(c: RecordCursor): void {
    const v1 = this.version === 1;
    this.symbols.addMapping({
      instrument_id: c.view.getUint32(c.offset + 4, true),
      stype_out_symbol: readCString(c.bytes, c.offset + (v1 ? 38 : 89), v1 ? 22 : 71),
    });
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
