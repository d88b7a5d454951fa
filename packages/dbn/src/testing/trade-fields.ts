import { readPriceNano, readTimestampMs } from '../fields.js';
import { RecordLength, RType, TradeLayout as T } from '../layout.js';
import type { RecordBatch } from '../raw-decoder.js';

/**
 * The decode-only reference consumer: reads every TradeMsg of `batch` (instrument_id, price as
 * exact 1e-9 units, size, ts_recv as whole ms) straight from the buffer and returns the sum of
 * those values (NaN when a price is undefined). It is what "dbn's decode rate" means in this
 * repository's benchmarks (@timed/dbn's and the screener's), so both time the same work.
 */
export function sumTradeFields(batch: RecordBatch): number {
  const { bytes, view, end } = batch;
  let sum = 0;
  for (let o = batch.start; o < end; o += bytes[o + T.length]! * RecordLength.unit) {
    if (bytes[o + T.rtype] !== RType.MBP_0) continue;
    sum +=
      view.getUint32(o + T.instrumentId, true) +
      readPriceNano(view, o + T.price) +
      view.getUint32(o + T.size, true) +
      readTimestampMs(view, o + T.tsRecv);
  }
  return sum;
}
