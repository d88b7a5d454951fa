import { isoToDateNumber, tsToDateNumber } from './fields.js';
import type { Metadata } from './metadata.js';
import type { SymbolMappingMsg } from './records.js';

interface Interval {
  start: number;
  end: number;
  symbol: string;
}

/**
 * instrument_id -> raw symbol. Filled from metadata mappings (valid per UTC date interval) and
 * from live SymbolMappingMsg records (valid from when they arrive; the latest wins).
 */
export class SymbolMap {
  private readonly live = new Map<number, string>();
  private readonly dated = new Map<number, Interval[]>();

  /** Number of instrument ids known. */
  get size(): number {
    const ids = new Set([...this.live.keys(), ...this.dated.keys()]);
    return ids.size;
  }

  /** Add the metadata's mappings (either direction: raw_symbol -> id or id -> raw_symbol). */
  addMetadata(md: Metadata): void {
    const outIsId = md.stype_out_id === 0;
    for (const m of md.mappings) {
      for (const iv of m.intervals) {
        const idText = outIsId ? iv.symbol : m.raw_symbol;
        const symbol = outIsId ? m.raw_symbol : iv.symbol;
        if (!/^\d+$/.test(idText)) continue;
        const id = Number(idText);
        let list = this.dated.get(id);
        if (!list) {
          list = [];
          this.dated.set(id, list);
        }
        list.push({
          start: isoToDateNumber(iv.start_date),
          end: isoToDateNumber(iv.end_date),
          symbol,
        });
      }
    }
  }

  /** Record a live mapping (uses `stype_out_symbol`, the raw symbol). */
  addMapping(rec: Pick<SymbolMappingMsg, 'instrument_id' | 'stype_out_symbol'>): void {
    this.live.set(rec.instrument_id, rec.stype_out_symbol);
  }

  /** Set a mapping directly. */
  set(instrumentId: number, symbol: string): void {
    this.live.set(instrumentId, symbol);
  }

  /**
   * Symbol for an instrument id. With `tsEvent` (UNIX ns) a metadata mapping is chosen by its
   * date interval; without, the live mapping or the last metadata interval is used.
   */
  get(instrumentId: number, tsEvent?: bigint): string | undefined {
    const live = this.live.get(instrumentId);
    if (live !== undefined) return live;
    const list = this.dated.get(instrumentId);
    if (!list || list.length === 0) return undefined;
    if (tsEvent === undefined) return list[list.length - 1]!.symbol;
    const d = tsToDateNumber(tsEvent);
    for (const iv of list) if (d >= iv.start && d < iv.end) return iv.symbol;
    return undefined;
  }

  /** Every known id with its latest symbol (live mappings win over metadata). */
  entries(): Array<[number, string]> {
    const out = new Map<number, string>();
    for (const [id, list] of this.dated)
      if (list.length > 0) out.set(id, list[list.length - 1]!.symbol);
    for (const [id, s] of this.live) out.set(id, s);
    return [...out];
  }

  /** Forget live mappings (e.g. on a new live session, where ids may be reassigned). */
  clearLive(): void {
    this.live.clear();
  }
}
