import type { BarInput } from '@timed/schema';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type PlainBar, referenceBars, sortBars } from '../../test/helpers/reference-bars.js';
import { tradesSession } from '../../test/helpers/session.js';
import { withoutWebAssembly } from '../../test/helpers/webassembly.js';
import { ScreenerError } from '../errors.js';
import { BarWriter } from '../store/bar-writer.js';
import { feedFiniteSource } from './finite-source.js';

const T0 = 1_761_321_600_000_000_000n;

function collectingWriter(): { writer: BarWriter; written: BarInput[] } {
  const written: BarInput[] = [];
  const writer = new BarWriter({
    logger: pino({ level: 'silent' }),
    write: async (bars) => {
      written.push(...bars);
      return bars.length;
    },
  });
  return { writer, written };
}

async function* chunks(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const plain = (b: BarInput): PlainBar => ({
  symbol: b.symbol,
  minute: b.timestamp.toISOString(),
  open: String(b.open),
  high: String(b.high),
  low: String(b.low),
  close: String(b.close),
  volume: String(b.volume),
  trade_count: b.trade_count,
  data_source: b.data_source ?? '',
});

describe('feedFiniteSource (replay of a file)', () => {
  const s = tradesSession({ seed: 5, symbols: 12, count: 4_000, startNs: T0 });

  it('writes the bars of every minute through the WebAssembly scan', async () => {
    const { writer, written } = collectingWriter();
    const summary = await feedFiniteSource(chunks(s.bytes, 4096), {
      source: 'trades',
      writer,
      label: 'session.dbn',
    });
    writer.close();
    const expected = referenceBars(s.records, (id) => s.symbols.get(id));
    expect(sortBars(written.map(plain)).map((b) => [b.symbol, b.minute, b.volume])).toEqual(
      expected.map((b) => [b.symbol, b.minute, b.volume]),
    );
    expect(summary.barsWritten).toBe(expected.length);
  });

  it('without WebAssembly refuses with an error naming the file and what is missing', async () => {
    const { writer, written } = collectingWriter();
    const err = await withoutWebAssembly(() =>
      feedFiniteSource(chunks(s.bytes, 4096), { source: 'trades', writer, label: 'session.dbn' }),
    ).catch((e: unknown) => e);
    writer.close();
    expect(err).toBeInstanceOf(ScreenerError);
    expect((err as ScreenerError).code).toBe('NO_WEBASSEMBLY');
    expect((err as Error).message).toMatch(
      /^session\.dbn: replay aggregates files through a WebAssembly scan: .*needs WebAssembly.*\(run and backfill do not need it\)$/,
    );
    expect(written).toEqual([]);
  });
});
