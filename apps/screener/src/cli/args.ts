import { parseArgs } from 'node:util';
import { parseSymbols } from '../env.js';

/** The CLI's usage text (printed with every usage error). */
export const USAGE = `usage: timed-screener <command>

  run                                       live daemon: Databento Live -> 1-minute bars -> Postgres
  replay FILE                               a .dbn or .dbn.zst file through the same aggregator
  backfill --start ISO --end ISO [--symbols A,B]
                                            the same from Databento's Historical API

environment: DATABASE_URL, DATABENTO_API_KEY, DATABENTO_DATASET (EQUS.MINI),
  SCREENER_SCHEMA (trades | mbp-1), SCREENER_SYMBOLS (A,B,C | ALL_SYMBOLS),
  DATABENTO_LIVE_GATEWAY (host:port), DATABENTO_HISTORICAL_URL, LOG_LEVEL (info)`;

/** A parsed command line. */
export type Parsed =
  | { command: 'run' }
  | { command: 'replay'; file: string }
  | { command: 'backfill'; start: Date; end: Date; symbols: string | undefined };

/** Parses a command's arguments; throws an Error naming what is wrong (the CLI exits 2). */
export function parseCommand(command: string, rest: string[]): Parsed {
  if (command === 'run') {
    if (rest.length > 0) throw new Error(`run takes no arguments (got ${rest.join(' ')})`);
    return { command };
  }
  if (command === 'replay') {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new Error('replay needs exactly one FILE');
    return { command, file: positionals[0]! };
  }
  if (command === 'backfill') {
    const { values } = parseArgs({
      args: rest,
      options: {
        start: { type: 'string' },
        end: { type: 'string' },
        symbols: { type: 'string' },
      },
    });
    const start = isoDate(values.start, '--start');
    const end = isoDate(values.end, '--end');
    if (end <= start) throw new Error('--end must be after --start');
    if (values.symbols !== undefined) {
      const symbols = parseSymbols(values.symbols);
      if (typeof symbols === 'string') throw new Error(`--symbols ${symbols}`);
    }
    return { command, start, end, symbols: values.symbols };
  }
  throw new Error(`unknown command "${command}"`);
}

function isoDate(text: string | undefined, flag: string): Date {
  if (!text) throw new Error(`backfill needs ${flag} ISO-8601 time`);
  const zoned = /^\d{4}-\d{2}-\d{2}$/.test(text) || /[zZ]|[+-]\d{2}:?\d{2}$/.test(text);
  const d = new Date(zoned ? text : `${text}Z`);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime())) {
    throw new Error(`${flag} "${text}" is not an ISO-8601 time`);
  }
  return d;
}
