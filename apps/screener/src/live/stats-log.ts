import type { Logger } from 'pino';
import type { BarAggregator } from '../aggregate/bar-aggregator.js';
import type { BarWriter } from '../store/bar-writer.js';
import type { InstanceCounters } from './instance-registry.js';
import type { WriterLock } from './writer-lock.js';

const MINUTE_MS = 60_000;

/** Gateway errors seen by the live loop (each is an error in the heartbeat row). */
export class GatewayErrors {
  count = 0;
  last: { text: string; at: Date } | undefined;

  note(text: string): void {
    this.count++;
    this.last = { text, at: new Date() };
  }
}

/**
 * The heartbeat row's counters: errors are write failures, gateway errors and lost lock
 * connections; the last error is the most recent of the three.
 */
export function instanceCounters(parts: {
  aggregator: BarAggregator | undefined;
  writer: BarWriter;
  lock: WriterLock;
  gateway: GatewayErrors;
}): InstanceCounters {
  const { aggregator, writer, lock, gateway } = parts;
  const candidates: Array<{ text: string; at: Date }> = [];
  if (writer.stats.lastError && writer.stats.lastErrorAt) {
    candidates.push({ text: writer.stats.lastError, at: writer.stats.lastErrorAt });
  }
  if (gateway.last) candidates.push(gateway.last);
  if (lock.lastLossAt) {
    candidates.push({ text: 'lost the single-writer lock connection', at: lock.lastLossAt });
  }
  candidates.sort((a, b) => b.at.getTime() - a.at.getTime());
  return {
    tradesSeen: aggregator?.stats.aggregated ?? 0,
    barsWritten: writer.stats.barsWritten,
    errors: writer.stats.failures + gateway.count + lock.losses,
    lastError: candidates[0]?.text,
    lastErrorAt: candidates[0]?.at,
  };
}

/** Logs the periodic `stats` line: lag, open minute, records, bars, buffer, skip counters. */
export function logStats(log: Logger, aggregator: BarAggregator, writer: BarWriter): void {
  const a = aggregator;
  log.info(
    {
      lagMs: a.streamClockMs > 0 ? Date.now() - a.streamClockMs : undefined,
      openMinute:
        a.openMinute === undefined ? undefined : new Date(a.openMinute * MINUTE_MS).toISOString(),
      records: a.stats.records,
      aggregated: a.stats.aggregated,
      barsWritten: writer.stats.barsWritten,
      buffered: writer.buffered,
      skipped: {
        undefinedPrice: a.stats.undefinedPrice,
        undefinedSide: a.stats.undefinedSide,
        wideSpread: a.stats.wideSpread,
        unmapped: a.stats.unmapped,
        late: a.stats.late,
      },
    },
    'stats',
  );
}
