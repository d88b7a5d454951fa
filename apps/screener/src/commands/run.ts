import { describeEnv, liveGateway } from '../env.js';
import { runDaemon } from '../live/daemon.js';
import { openDatabase } from '../store/database.js';
import type { CommandContext } from './context.js';

/** `timed-screener run`: the live daemon until SIGTERM/SIGINT. */
export async function runCommand(ctx: CommandContext): Promise<number> {
  const { env, logger } = ctx;
  logger.info(describeEnv(env), 'timed-screener starting');
  const database = await openDatabase(env.DATABASE_URL, logger);
  try {
    const gw = liveGateway(env);
    const result = await runDaemon(
      {
        dataset: env.DATABENTO_DATASET,
        schema: env.SCREENER_SCHEMA,
        symbols: env.SCREENER_SYMBOLS,
        apiKey: env.DATABENTO_API_KEY!,
        gateway: `${gw.host}:${gw.port}`,
      },
      { db: database.db, dbUrl: database.url, logger, signal: ctx.signal },
    );
    logger.info({ ...result }, 'timed-screener stopped');
    return result.exitCode;
  } finally {
    await database.close();
  }
}
