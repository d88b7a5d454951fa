import { upsertBars } from '@timed/db';
import { HistoricalClient } from '@timed/dbn';
import { parseSymbols } from '../env.js';
import { ScreenerError } from '../errors.js';
import { feedRecordStream } from '../sources/finite-source.js';
import { BarWriter } from '../store/bar-writer.js';
import { openDatabase } from '../store/database.js';
import type { CommandContext } from './context.js';
import { ProgressReporter } from './progress.js';
import { summaryLine } from './summary.js';

/** Arguments of `timed-screener backfill`. */
export interface BackfillArgs {
  start: Date;
  end: Date;
  /** Comma list overriding SCREENER_SYMBOLS. */
  symbols: string | undefined;
}

/** `timed-screener backfill --start --end [--symbols]`: Historical API -> bars -> Postgres. */
export async function backfillCommand(args: BackfillArgs, ctx: CommandContext): Promise<number> {
  const { env, logger } = ctx;
  let symbols = env.SCREENER_SYMBOLS;
  if (args.symbols !== undefined) {
    const parsed = parseSymbols(args.symbols);
    if (typeof parsed === 'string') throw new ScreenerError('USAGE', `--symbols ${parsed}`);
    symbols = parsed;
  }
  const started = Date.now();
  const database = await openDatabase(env.DATABASE_URL, logger);
  // Each bar is emitted once from a finite source: batches may be written concurrently.
  const writer = new BarWriter({
    write: (bars) => upsertBars(database.db, bars),
    logger,
    concurrency: 2,
  });
  const progress = new ProgressReporter(ctx.stderr, logger);
  const label = `historical ${env.DATABENTO_DATASET} ${env.SCREENER_SCHEMA} ${args.start.toISOString()} .. ${args.end.toISOString()}`;
  try {
    logger.info(
      {
        dataset: env.DATABENTO_DATASET,
        schema: env.SCREENER_SCHEMA,
        start: args.start.toISOString(),
        end: args.end.toISOString(),
        symbols: symbols.all ? 'ALL_SYMBOLS' : symbols.symbols.length,
        historicalUrl: env.DATABENTO_HISTORICAL_URL ?? 'https://hist.databento.com',
      },
      'backfill started',
    );
    const client = new HistoricalClient({
      apiKey: env.DATABENTO_API_KEY!,
      baseUrl: env.DATABENTO_HISTORICAL_URL,
      userAgent: 'timed-screener/0.1.0',
    });
    const stream = client.timeseriesGetRange({
      dataset: env.DATABENTO_DATASET,
      schema: env.SCREENER_SCHEMA,
      symbols: symbols.all ? 'ALL_SYMBOLS' : symbols.symbols,
      start: args.start,
      end: args.end,
    });
    const summary = await feedRecordStream(stream, {
      source: env.SCREENER_SCHEMA,
      writer,
      label,
      signal: ctx.signal,
      onProgress: (p) => progress.update(p),
    });
    progress.done();
    const interrupted = ctx.signal.aborted;
    const line = summaryLine(
      interrupted ? `backfill interrupted (${label})` : `backfilled ${label}`,
      summary,
      (Date.now() - started) / 1000,
    );
    logger.info({ ...summary, interrupted }, 'backfill finished');
    ctx.stdout.write(`${line}\n`);
    return interrupted ? 1 : 0;
  } finally {
    progress.done();
    writer.close();
    await database.close();
  }
}
