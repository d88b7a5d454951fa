import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { DbnDecoder, isZstd } from './decoder.js';
import type { Metadata } from './metadata.js';
import type { DbnRecord } from './records.js';
import type { SymbolMap } from './symbol-map.js';

/** A fully decoded DBN stream. */
export interface DecodedDbn {
  metadata: Metadata;
  records: DbnRecord[];
  symbols: SymbolMap;
}

/** Decode a whole in-memory DBN stream (`.dbn` or `.dbn.zst` bytes). */
export function decodeBuffer(bytes: Uint8Array): DecodedDbn {
  const dec = new DbnDecoder();
  const records = dec.push(bytes);
  for (const r of dec.end()) records.push(r);
  return { metadata: dec.metadata!, records, symbols: dec.symbols };
}

/** Read and decode a whole DBN file. */
export async function decodeFile(path: string): Promise<DecodedDbn> {
  return decodeBuffer(await readFile(path));
}

type ZstdFactory = () => NodeJS.ReadWriteStream;
/** node:zlib's zstd stream where the runtime has it (Node >= 22.15), else undefined. */
const nativeZstd = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;

async function* inflateNative(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  async function* all(): AsyncGenerator<Uint8Array> {
    yield first;
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  }
  const inflated = Readable.from(all()).pipe(nativeZstd!());
  for await (const c of inflated) yield c as Uint8Array;
}

/**
 * An async stream of records decoded from chunks (file, HTTP body, socket...). `metadata`
 * resolves once the header is decoded; iteration throws DbnError on corrupt input.
 */
export class DbnRecordStream implements AsyncIterable<DbnRecord> {
  private dec = new DbnDecoder();
  private readonly source: AsyncIterable<Uint8Array>;
  private resolveMd!: (m: Metadata) => void;
  private rejectMd!: (e: unknown) => void;
  /** Resolves with the metadata (rejects if the stream fails before it). */
  readonly metadata: Promise<Metadata>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.source = source;
    this.metadata = new Promise((res, rej) => {
      this.resolveMd = res;
      this.rejectMd = rej;
    });
    this.metadata.catch(() => {});
  }

  /** Symbol map of the stream (metadata mappings + SymbolMappingMsg). */
  get symbols(): SymbolMap {
    return this.dec.symbols;
  }

  /** The underlying decoder (its `metadata` is set synchronously once decoded). */
  get decoder(): DbnDecoder {
    return this.dec;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<DbnRecord> {
    try {
      yield* this.run();
      this.rejectMd(new Error('stream ended without metadata'));
    } catch (err) {
      this.rejectMd(err);
      throw err;
    }
  }

  private async *run(): AsyncGenerator<DbnRecord> {
    const it = this.source[Symbol.asyncIterator]();
    let head = new Uint8Array(0);
    while (head.length < 4) {
      const r = await it.next();
      if (r.done) break;
      const h = new Uint8Array(head.length + r.value.length);
      h.set(head);
      h.set(r.value, head.length);
      head = h;
    }
    const dec = new DbnDecoder({
      compression: nativeZstd ? 'none' : 'auto',
      onMetadata: (m) => this.resolveMd(m),
    });
    this.dec = dec;
    const chunks: AsyncIterable<Uint8Array> =
      nativeZstd && isZstd(head)
        ? inflateNative(head, it)
        : (async function* () {
            if (head.length > 0) yield head;
            for (;;) {
              const r = await it.next();
              if (r.done) return;
              yield r.value;
            }
          })();
    for await (const chunk of chunks) {
      const recs = dec.push(chunk);
      for (const r of recs) yield r;
    }
    for (const r of dec.end()) yield r;
  }
}

/** Decode records from an async source of byte chunks. */
export function decodeStream(source: AsyncIterable<Uint8Array>): DbnRecordStream {
  return new DbnRecordStream(source);
}

/** Stream records from a DBN file without reading it whole. */
export function streamFile(path: string): DbnRecordStream {
  return new DbnRecordStream(createReadStream(path, { highWaterMark: 1 << 20 }));
}
