import type { SourceSummary } from '../sources/finite-source.js';

const iso = (minute: number | undefined) =>
  minute === undefined ? '-' : new Date(minute * 60_000).toISOString().slice(0, 16).concat('Z');

/** The one-line summary replay and backfill print. */
export function summaryLine(what: string, s: SourceSummary, seconds: number): string {
  const skipped = Object.entries(s.skipped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const rate = seconds > 0 ? Math.round(s.records / seconds) : s.records;
  return (
    `${what}: ${s.records} ${s.source === 'mbp-1' ? 'quotes' : 'trades'}, ${s.barsWritten} bars written` +
    ` (${iso(s.firstMinute)} .. ${iso(s.lastMinute)}, data_source=${s.source})` +
    `, skipped: ${skipped || 'none'}; ${seconds.toFixed(1)} s, ${rate} records/s`
  );
}
