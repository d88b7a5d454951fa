import type { Db } from '@timed/db';

/**
 * The newest minute already stored for this source within the last `withinMs` (optionally for a
 * symbol list), as an epoch minute: a restarted daemon replays from its start, so that minute is
 * rebuilt wholly (it may have been written only in part) and nothing after it is missing.
 */
export async function lastWrittenMinute(
  db: Db,
  options: { source: 'trades' | 'mbp-1'; symbols?: string[]; since: Date },
): Promise<number | undefined> {
  let q = db
    .selectFrom('price_bars')
    .select((eb) => eb.fn.max('timestamp').as('last'))
    .where('data_source', '=', options.source)
    .where('is_legacy', '=', false)
    .where('timestamp', '>=', options.since);
  if (options.symbols) q = q.where('symbol', 'in', options.symbols);
  const row = await q.executeTakeFirst();
  const last = row?.last as Date | string | null | undefined;
  if (last === null || last === undefined) return undefined;
  return Math.floor(new Date(last).getTime() / 60_000);
}
