import { type LiveSymbolState, sessionDayStart } from '@timed/db';
import { type DbnRecord, trade } from '@timed/dbn';
import { describe, expect, it } from 'vitest';
import { quote, rng } from '../../test/helpers/session.js';
import { BarAggregator } from '../aggregate/bar-aggregator.js';
import { DayStats } from './day-stats.js';

const NAMES = new Map([
  [10, 'AAA'],
  [11, 'BBB'],
  [12, 'CCC'],
]);

/** An aggregator (live path: decoded records one at a time) feeding a DayStats. */
function setup(source: 'trades' | 'mbp-1') {
  const day = new DayStats(source);
  const closed: number[] = [];
  const agg = new BarAggregator({
    source,
    symbolOf: (id) => NAMES.get(id),
    onBars: () => {},
    live: day,
    onMinuteClosed: (m) => closed.push(m),
  });
  return { day, agg, closed };
}

/** Every index's figures (the open bar left out). */
function figures(day: DayStats): Map<string, Omit<LiveSymbolState, 'barTimestamp'>> {
  const out = new Map<string, Omit<LiveSymbolState, 'barTimestamp'>>();
  for (let i = 0; i < day.size; i++) {
    const s = { symbol: day.symbols[i]! } as LiveSymbolState;
    day.fill(i, s);
    out.set(s.symbol, s);
  }
  return out;
}

const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

/** Random trades from `from` on, ts_recv increasing (some equal), sizes 1..500. */
function trades(seed: number, fromNs: bigint, n: number, gapMs = 300): DbnRecord[] {
  const r = rng(seed);
  const out: DbnRecord[] = [];
  let ts = fromNs;
  for (let k = 0; k < n; k++) {
    ts += r() < 0.1 ? 0n : BigInt(Math.floor(r() * gapMs * 1e6));
    const id = 10 + Math.floor(r() * 3);
    out.push(
      trade({
        instrument_id: id,
        ts_event: ts - 1000n,
        ts_recv: ts,
        price: BigInt(Math.round((20 + r() * 10) * 100)) * 10_000_000n,
        size: 1 + Math.floor(r() * 500),
        publisher_id: 95,
      }) as DbnRecord,
    );
  }
  return out;
}

/** The day figures computed directly from trades (a second, independent rule). */
function expectedFigures(records: DbnRecord[], fromMs: number) {
  const out = new Map<string, Record<string, number>>();
  for (const rec of records) {
    if (rec.kind !== 'TradeMsg') continue;
    const ms = Number(rec.ts_recv / 1_000_000n);
    if (ms < fromMs) continue;
    const symbol = NAMES.get(rec.instrument_id)!;
    const px = Number(rec.price) / 1e9;
    const f = out.get(symbol);
    if (!f) {
      out.set(symbol, {
        open: px,
        high: px,
        low: px,
        price: px,
        volume: rec.size,
        count: 1,
        pv: px * rec.size,
      });
      continue;
    }
    f.high = Math.max(f.high!, px);
    f.low = Math.min(f.low!, px);
    f.price = px;
    f.volume! += rec.size;
    f.count! += 1;
    f.pv! += px * rec.size;
  }
  return out;
}

function expectMatches(day: DayStats, records: DbnRecord[], fromMs: number) {
  const want = expectedFigures(records, fromMs);
  const got = figures(day);
  expect(want.size).toBeGreaterThan(0);
  for (const [symbol, w] of want) {
    const g = got.get(symbol)!;
    expect(g.dayOpen).toBeCloseTo(w.open!, 9);
    expect(g.dayHigh).toBeCloseTo(w.high!, 9);
    expect(g.dayLow).toBeCloseTo(w.low!, 9);
    expect(g.price).toBeCloseTo(w.price!, 9);
    expect(g.bid).toBe(g.price);
    expect(g.ask).toBe(g.price);
    expect(g.volume).toBe(w.volume);
    expect(g.tradeCount).toBe(w.count);
    expect(g.vwap!).toBeCloseTo(w.pv! / w.volume!, 9);
  }
}

describe('DayStats (live state per symbol, fed by the aggregator)', () => {
  it('day figures of every symbol equal a direct computation from the trades', () => {
    const { day, agg } = setup('trades');
    const records = trades(1, ns('2026-03-10T14:30:00Z'), 2_000);
    for (const r of records) agg.handleRecord(r);
    expect(day.sessionDay).toBe('2026-03-10');
    expectMatches(day, records, 0);
    const s = figures(day).get('AAA')!;
    expect(s.prevClose).toBeNull();
    expect(s.lastTs).toBe(
      Math.max(
        ...records
          .filter((r) => r.kind === 'TradeMsg' && r.instrument_id === 10)
          .map((r) => Number((r as { ts_recv: bigint }).ts_recv / 1_000_000n)),
      ),
    );
  });

  it('rolls the session day over at 04:00 New York (EDT and EST) by the records’ ts_recv', () => {
    for (const [before, fourAm, after] of [
      ['2026-03-09', '2026-03-10T08:00:00Z', '2026-03-10'], // EDT: 04:00 = 08:00 UTC
      ['2026-01-12', '2026-01-13T09:00:00Z', '2026-01-13'], // EST: 04:00 = 09:00 UTC
    ] as const) {
      expect(sessionDayStart(after)).toBe(Date.parse(fourAm));
      const { day, agg } = setup('trades');
      const rolled: string[] = [];
      day.onRollover = (d) => rolled.push(d);
      const records = trades(2, ns(fourAm) - 120_000_000_000n, 800, 700);
      const last = records[records.length - 1] as { ts_recv: bigint };
      expect(Number(last.ts_recv / 1_000_000n)).toBeGreaterThan(Date.parse(fourAm));
      const cut = records.findIndex((r) => (r as { ts_recv: bigint }).ts_recv >= ns(fourAm));
      for (const r of records.slice(0, cut)) agg.handleRecord(r);
      expect(day.sessionDay).toBe(before);
      expectMatches(day, records.slice(0, cut), 0);
      day.setPrevCloses(new Map([['AAA', 25]]), ['AAA']);
      for (const r of records.slice(cut)) agg.handleRecord(r);
      expect(day.sessionDay).toBe(after);
      expect(rolled).toEqual([after]);
      // Only the trades from 04:00 count; the previous close awaits its reload.
      expectMatches(day, records, Date.parse(fourAm));
      expect(figures(day).get('AAA')!.prevClose).toBeNull();
    }
  });

  it('the stream clock (a heartbeat) rolls the day over without a trade: figures reset', () => {
    const { day, agg } = setup('trades');
    for (const r of trades(3, ns('2026-03-09T23:00:00Z'), 50)) agg.handleRecord(r);
    expect(figures(day).get('AAA')!.volume).toBeGreaterThan(0);
    const price = figures(day).get('AAA')!.price;
    day.advanceTo(Date.parse('2026-03-10T08:00:00Z'));
    const s = figures(day).get('AAA')!;
    expect(day.sessionDay).toBe('2026-03-10');
    expect(s).toMatchObject({ volume: 0, tradeCount: 0, dayOpen: 0, vwap: null, price });
  });

  it('mbp-1: bid/ask are the top of book, price the mid; no volume, no VWAP; wide spreads skipped', () => {
    const { day, agg } = setup('mbp-1');
    const t0 = ns('2026-03-10T15:00:00Z');
    agg.handleRecord(quote(10, t0, 100_000_000_000n, 100_020_000_000n) as DbnRecord);
    agg.handleRecord(quote(10, t0 + 1000n, 100_010_000_000n, 100_050_000_000n) as DbnRecord);
    // 10% spread: skipped, as for bars.
    agg.handleRecord(quote(10, t0 + 2000n, 90_000_000_000n, 100_000_000_000n) as DbnRecord);
    const s = figures(day).get('AAA')!;
    expect(s).toMatchObject({ bid: 100.01, ask: 100.05, volume: 0, tradeCount: 2, vwap: null });
    expect(s.price).toBeCloseTo(100.03, 9);
    expect(s.dayOpen).toBeCloseTo(100.01, 9);
    expect(s.dayHigh).toBeCloseTo(100.03, 9);
  });

  it('restored figures (a restart) are kept and added to by later trades', () => {
    const { day, agg } = setup('trades');
    day.startDay('2026-03-10');
    day.restore([
      {
        symbol: 'AAA',
        open: 20,
        high: 40,
        low: 10,
        close: 30,
        volume: 1000,
        tradeCount: 10,
        priceVolume: 25_000,
        lastBarMs: Date.parse('2026-03-10T14:00:00Z'),
      },
    ]);
    const records = trades(4, ns('2026-03-10T14:30:00Z'), 200).filter(
      (r) => r.kind === 'TradeMsg' && r.instrument_id === 10,
    );
    for (const r of records) agg.handleRecord(r);
    const want = expectedFigures(records, 0).get('AAA')!;
    const s = figures(day).get('AAA')!;
    expect(s.dayOpen).toBe(20);
    expect(s.dayHigh).toBe(Math.max(40, want.high!));
    expect(s.dayLow).toBe(Math.min(10, want.low!));
    expect(s.volume).toBe(1000 + want.volume!);
    expect(s.tradeCount).toBe(10 + want.count!);
    expect(s.vwap!).toBeCloseTo((25_000 + want.pv!) / (1000 + want.volume!), 9);
    expect(s.price).toBeCloseTo(want.price!, 9);
  });

  it('marks only changed symbols dirty, once each, and the open bar is the aggregator’s', () => {
    const { day, agg, closed } = setup('trades');
    const t0 = ns('2026-03-10T15:00:00Z');
    const px = 25_000_000_000n;
    for (const id of [10, 10, 11]) {
      agg.handleRecord(
        trade({ instrument_id: id, ts_event: t0, ts_recv: t0, price: px, size: 5 }) as DbnRecord,
      );
    }
    const seen: string[] = [];
    expect(day.takeDirty((i) => seen.push(day.symbols[i]!))).toBe(2);
    expect(seen).toEqual(['AAA', 'BBB']);
    expect(day.takeDirty(() => {})).toBe(0);
    const bar = {} as LiveSymbolState;
    agg.openBarInto(day.slotOfIndex(0), bar);
    expect(bar).toMatchObject({
      barTimestamp: Date.parse('2026-03-10T15:00:00Z'),
      barOpen: 25,
      barClose: 25,
      barVolume: 10,
      barTradeCount: 2,
      barVwap: 25,
    });
    // The next minute closes this one: its bar is no longer the open one.
    const t1 = t0 + 60_000_000_000n;
    agg.handleRecord(
      trade({ instrument_id: 11, ts_event: t1, ts_recv: t1, price: px, size: 1 }) as DbnRecord,
    );
    expect(closed).toEqual([Math.floor(Date.parse('2026-03-10T15:00:00Z') / 60_000)]);
    agg.openBarInto(day.slotOfIndex(0), bar);
    expect(bar.barTimestamp).toBeNull();
  });
});
