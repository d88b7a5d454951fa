import type { StoredBar } from '@timed/db';

/** Columns of the CSV variant: the JSON bar's fields, in the same order. */
export const CSV_COLUMNS = [
  'timestamp',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'trade_count',
  'is_legacy',
  'data_source',
] as const;

/** Bars as CSV (header + one line per bar, `\n` line ends); prices keep their exact decimals. */
export function barsToCsv(bars: readonly StoredBar[]): string {
  const lines = new Array<string>(bars.length + 1);
  lines[0] = CSV_COLUMNS.join(',');
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    // Every field is a number, boolean, ISO time or enum: nothing needs quoting.
    lines[i + 1] =
      `${b.timestamp.toISOString()},${b.open},${b.high},${b.low},${b.close},${b.volume},` +
      `${b.trade_count},${b.is_legacy},${b.data_source}`;
  }
  return `${lines.join('\n')}\n`;
}
