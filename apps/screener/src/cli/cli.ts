import { EnvError } from '@timed/schema/errors';
import { backfillCommand } from '../commands/backfill.js';
import type { CommandContext } from '../commands/context.js';
import { replayCommand } from '../commands/replay.js';
import { runCommand } from '../commands/run.js';
import { loadEnv, type RequiredVar } from '../env.js';
import { LockHeldError, ScreenerError } from '../errors.js';
import { createLogger } from '../logger.js';
import { type Parsed, parseCommand, USAGE } from './args.js';
import { installSignalHandlers } from './signals.js';

export { USAGE };

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
  let args: Parsed;
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
    if (err instanceof EnvError) return fail(err.message, EXIT.config);
    throw err;
  }
  // One-shot commands on a terminal show the progress bar and summary, not info logs.
  const quiet = command !== 'run' && io.stderr.isTTY && !io.env.LOG_LEVEL;
  const logger = createLogger({
    level: quiet ? 'warn' : env.LOG_LEVEL,
    command,
    destination: command === 'run' ? 1 : 2,
  });
  const signals = installSignalHandlers(logger);
  const ctx: CommandContext = {
    env,
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
    signal: signals.signal,
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
    if (err instanceof ScreenerError && err.code === 'USAGE') return fail(err.message, EXIT.config);
    if (err instanceof ScreenerError) {
      if (command === 'run') logger.error({ code: err.code, ...err.context }, err.message);
      return fail(err.message, EXIT.failed);
    }
    logger.error({ err }, 'unexpected failure');
    return fail(`unexpected failure: ${(err as Error).message}`, EXIT.failed);
  } finally {
    signals.uninstall();
  }
}
