import { type LiveBar, type LiveStateRow, pctFromYesterday } from '@timed/db';

/** One symbol as `GET /live` and `event: price` carry it (the seed's broadcast fields first). */
export interface LivePrice {
  symbol: string;
  price: number;
  bid: number;
  ask: number;
  pct_from_yesterday: number | null;
  timestamp: string;
  day_open: number;
  day_high: number;
  day_low: number;
  volume: number;
  trade_count: number;
  vwap: number | null;
  prev_close: number | null;
}

/** A bar as `/bars` returns it, plus its symbol and whether it is closed (`event: bar`). */
export interface LiveBarEvent {
  symbol: string;
  timestamp: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trade_count: number;
  is_legacy: boolean;
  data_source: string;
  vwap: number | null;
  final: boolean;
}

/** The price object of a live state row. */
export function livePrice(r: LiveStateRow): LivePrice {
  return {
    symbol: r.symbol,
    price: r.price,
    bid: r.bid,
    ask: r.ask,
    pct_from_yesterday: pctFromYesterday(r.price, r.prevClose),
    timestamp: new Date(r.lastTs).toISOString(),
    day_open: r.dayOpen,
    day_high: r.dayHigh,
    day_low: r.dayLow,
    volume: r.volume,
    trade_count: r.tradeCount,
    vwap: r.vwap,
    prev_close: r.prevClose,
  };
}

/** The open minute's provisional bar of a row (caller checks barTimestamp is set). */
export function provisionalBar(r: LiveStateRow): LiveBarEvent {
  // A state carries no data source: mbp-1 bars have no volume and no VWAP.
  const quotes = r.barVolume === 0 && r.barVwap === null;
  return {
    symbol: r.symbol,
    timestamp: new Date(r.barTimestamp ?? 0).toISOString(),
    open: r.barOpen,
    high: r.barHigh,
    low: r.barLow,
    close: r.barClose,
    volume: r.barVolume,
    trade_count: r.barTradeCount,
    is_legacy: false,
    data_source: quotes ? 'mbp-1' : 'trades',
    vwap: r.barVwap,
    final: false,
  };
}

/** A closed bar read from price_bars. */
export function closedBar(b: LiveBar): LiveBarEvent {
  return {
    symbol: b.symbol,
    timestamp: new Date(b.timestamp).toISOString(),
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    volume: b.volume,
    trade_count: b.tradeCount,
    is_legacy: b.isLegacy,
    data_source: b.dataSource,
    vwap: b.vwap,
    final: true,
  };
}

/** One Server-Sent Event's text: id `<closed mark>:<id>` (what a resume starts from). */
export function sseEvent(mark: number, id: string | number, type: string, data: string): string {
  return `id: ${mark}:${id}\nevent: ${type}\ndata: ${data}\n\n`;
}

/**
 * The `price` (and, while its minute is open, the provisional `bar`) events of one state, encoded
 * once per flush and shared by every stream of the symbol: only the id's closed mark differs
 * between streams, and nearly all streams share one, so the text is kept for the last mark asked.
 */
export class StateEvents {
  private readonly price: string;
  private readonly bar: string | undefined;
  private readonly barTimestamp: number;
  private mark = Number.NaN;
  private text = '';

  constructor(
    private readonly row: LiveStateRow,
    open: boolean,
  ) {
    this.price = JSON.stringify(livePrice(row));
    this.bar = open ? JSON.stringify(provisionalBar(row)) : undefined;
    this.barTimestamp = row.barTimestamp ?? 0;
  }

  /** The events for a stream whose closed mark is `mark` (no open bar of a minute it has closed). */
  for(mark: number): string {
    if (mark !== this.mark) {
      const v = this.row.version;
      let t = sseEvent(mark, v, 'price', this.price);
      if (this.bar !== undefined && this.barTimestamp > mark)
        t += sseEvent(mark, v, 'bar', this.bar);
      this.mark = mark;
      this.text = t;
    }
    return this.text;
  }
}
