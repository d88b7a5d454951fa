import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { upsertBars } from '@timed/db';
import { ScreenerError } from '../errors.js';
import { feedFiniteSource } from '../sources/finite-source.js';
import { BarWriter } from '../store/bar-writer.js';
import { openDatabase } from '../store/database.js';
import type { CommandContext } from './context.js';
import { ProgressReporter } from './progress.js';
import { summaryLine } from './summary.js';

/** `timed-screener replay FILE`: a .dbn or .dbn.zst file through the aggregator and writer. */
export async function replayCommand(file: string, ctx: CommandContext): Promise<number> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    throw new ScreenerError('BAD_FILE', `cannot read ${file}: ${(err as Error).message}`, {
      file,
    });
  }
  const started = Date.now();
  const database = await openDatabase(ctx.env.DATABASE_URL, ctx.logger);
  const writer = new BarWriter({
    write: (bars) => upsertBars(database.db, bars),
    logger: ctx.logger,
    // Each bar is emitted once from a finite source: batches may be written concurrently.
    concurrency: 2,
  });
  const progress = new ProgressReporter(ctx.stderr, ctx.logger);
  try {
    ctx.logger.info({ file, bytes: size }, 'replay started');
    const summary = await feedFiniteSource(createReadStream(file, { highWaterMark: 1 << 22 }), {
      source: ctx.env.SCREENER_SCHEMA,
      writer,
      label: file,
      bytesTotal: size,
      signal: ctx.signal,
      onProgress: (p) => progress.update(p),
    });
    progress.done();
    const interrupted = ctx.signal.aborted;
    const what = interrupted ? `replay of ${file} interrupted` : `replayed ${file}`;
    const line = summaryLine(what, summary, (Date.now() - started) / 1000);
    ctx.logger.info({ ...summary, file, interrupted }, 'replay finished');
    ctx.stdout.write(`${line}\n`);
    return interrupted ? 1 : 0;
  } finally {
    progress.done();
    writer.close();
    await database.close();
  }
}
