import { Writable } from 'node:stream';
import type { BarInput } from '@timed/schema';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import { BarWriter } from './bar-writer.js';

function bars(minute: number, n: number): BarInput[] {
  return Array.from({ length: n }, (_, i) => ({
    symbol: `S${i}`,
    timestamp: new Date(minute * 60_000),
    open: 1,
    high: 1,
    low: 1,
    close: 1,
    volume: i,
    trade_count: 1,
  }));
}

function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

describe('BarWriter', () => {
  it('keeps bars while writes fail, warns as the bound nears, and writes them all in order after', async () => {
    const { lines, logger } = capture();
    let down = true;
    const stored = new Map<string, BarInput>();
    const order: number[] = [];
    const writer = new BarWriter({
      logger,
      maxBuffered: 100,
      batchSize: 30,
      retryMinMs: 5,
      retryMaxMs: 20,
      write: async (batch) => {
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        for (const b of batch) {
          stored.set(`${b.symbol}@${b.timestamp.getTime()}`, b);
          order.push(b.timestamp.getTime() / 60_000);
        }
        return batch.length;
      },
    });
    for (let m = 1; m <= 9; m++) writer.enqueue(bars(m, 10), m);
    await waitFor('a failed write', () => writer.stats.failures >= 1);
    expect(writer.buffered).toBe(90);
    expect(writer.inOutage).toBe(true);
    expect(lines.some((l) => l.level === 40 && /write buffer at 80%/.test(l.msg))).toBe(true);
    expect(lines.filter((l) => /writing bars failed/.test(l.msg))).toHaveLength(1);
    down = false;
    expect(await writer.drain(2_000)).toBe(true);
    expect(stored.size).toBe(90);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(writer.stats.barsWritten).toBe(90);
    expect(lines.some((l) => /Postgres reachable again/.test(l.msg))).toBe(true);
    writer.close();
  });

  it('refuses bars beyond the bound and remembers the oldest refused minute for a replay', async () => {
    const { lines, logger } = capture();
    const writer = new BarWriter({
      logger,
      maxBuffered: 25,
      retryMinMs: 5,
      write: async () => {
        throw new Error('down');
      },
    });
    writer.enqueue(bars(1, 10), 1);
    writer.enqueue(bars(2, 10), 2);
    writer.enqueue(bars(3, 10), 3);
    writer.enqueue(bars(4, 10), 4);
    expect(writer.buffered).toBe(20);
    expect(writer.stats.dropped).toBe(20);
    expect(writer.droppedFromMinute).toBe(3);
    expect(lines.filter((l) => l.level === 50 && /write buffer full/.test(l.msg))).toHaveLength(1);
    writer.close();
  });
});
