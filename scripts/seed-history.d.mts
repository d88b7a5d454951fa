// Types of seed-history.mjs for the TypeScript tests that import it.
import type { Db } from '@timed/db';

export interface SeedInstrument {
  symbol: string;
  openPrice: number;
}
export const SEED_INSTANCES: { legacy: string; trades: string };
export const SEED_HOST: string;
export const SESSION_MINUTES: number;
export function nyTime(day: string, hh: number, mm: number): number;
export function weekdaysBefore(day: string, n: number): string[];
export function generateHistory(options: {
  instruments: readonly SeedInstrument[];
  days: readonly string[];
  legacyDays: number;
  seed?: number;
  tradesPerSecond?: number;
}): Record<
  | 'symbol'
  | 'ts'
  | 'open'
  | 'high'
  | 'low'
  | 'close'
  | 'volume'
  | 'count'
  | 'legacy'
  | 'source'
  | 'vwap',
  string[]
>;
export type SeedResult =
  | { seeded: false; reason: string; days: string[]; bars: 0 }
  | {
      seeded: true;
      days: string[];
      legacyDays: string[];
      tradesDays: string[];
      switchAt: Date;
      bars: number;
    };
export function seedHistory(
  db: Db,
  options: {
    instruments: readonly SeedInstrument[];
    now?: number;
    seed?: number;
    tradesPerSecond?: number;
    legacyDays?: number;
    tradesDays?: number;
    dataset?: string;
    /** Told once, before writing, what is being seeded. */
    log?: (line: string) => void;
  },
): Promise<SeedResult>;
