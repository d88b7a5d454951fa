import { DbError } from '../errors.js';
import { count, inTransaction, withClient } from './sql.js';

export { archiveLegacy, unarchiveLegacy } from './archive.js';
export {
  backupRows,
  deleteLegacy,
  restoreBackup,
  rollbackTrades,
} from './backup.js';
export { inTransaction } from './sql.js';

/** What a destructive command will touch, counted before it runs. */
export interface RunbookPlan {
  action: string;
  rows: number;
  description: string;
}

/** Plans of each destructive command (row counts now). */
export async function planFor(
  url: string,
  action: RunbookAction,
  olderThanDays = 7,
): Promise<RunbookPlan> {
  return withClient(url, async (c) => {
    const legacyTable = await c.query(`SELECT to_regclass('price_bars_legacy') IS NOT NULL AS ok`);
    switch (action) {
      case 'soft-delete':
        return {
          action,
          rows: await count(c, 'is_legacy = true AND deleted_at IS NULL'),
          description: 'mark legacy bars deleted (hidden, restorable)',
        };
      case 'restore':
        return {
          action,
          rows: await count(c, 'is_legacy = true AND deleted_at IS NOT NULL'),
          description: 'clear the soft-delete mark of legacy bars',
        };
      case 'purge':
        return {
          action,
          rows: await count(
            c,
            `deleted_at < NOW() - make_interval(secs => ${Number(olderThanDays) * 86_400})`,
          ),
          description: `delete bars soft-deleted more than ${olderThanDays} day(s) ago`,
        };
      case 'archive':
        return {
          action,
          rows: await count(c, 'is_legacy = true'),
          description: 'move legacy bars into price_bars_legacy',
        };
      case 'unarchive':
        return {
          action,
          rows: legacyTable.rows[0]?.ok ? await count(c, 'true', 'price_bars_legacy') : 0,
          description: 'move bars from price_bars_legacy back into price_bars',
        };
      case 'delete':
        return {
          action,
          rows: await count(c, 'is_legacy = true'),
          description: 'back up, then delete legacy bars',
        };
      case 'rollback':
        return {
          action,
          rows: await count(c, "is_legacy = false AND data_source = 'trades'"),
          description: 'back up, then delete trades bars (the seed rollback)',
        };
    }
  });
}

export type RunbookAction =
  | 'soft-delete'
  | 'restore'
  | 'purge'
  | 'archive'
  | 'unarchive'
  | 'delete'
  | 'rollback';

/** Option A: marks legacy bars deleted. Returns rows marked. */
export async function softDeleteLegacy(url: string): Promise<number> {
  return inTransaction(url, async (c) => {
    const r = await c.query(
      'UPDATE price_bars SET deleted_at = NOW() WHERE is_legacy = true AND deleted_at IS NULL',
    );
    return r.rowCount ?? 0;
  });
}

/** Undoes Option A. Returns rows restored. */
export async function restoreSoftDeleted(url: string): Promise<number> {
  return inTransaction(url, async (c) => {
    const r = await c.query(
      'UPDATE price_bars SET deleted_at = NULL WHERE is_legacy = true AND deleted_at IS NOT NULL',
    );
    return r.rowCount ?? 0;
  });
}

/** Removes bars soft-deleted more than `days` ago. Returns rows deleted. */
export async function purgeSoftDeleted(url: string, days: number): Promise<number> {
  if (!Number.isFinite(days) || days < 0)
    throw new DbError(
      'INVALID_ARGUMENT',
      `--older-than must be a number of days >= 0, got ${days}`,
    );
  return inTransaction(url, async (c) => {
    const r = await c.query(
      'DELETE FROM price_bars WHERE deleted_at < NOW() - make_interval(secs => $1)',
      [days * 86_400],
    );
    return r.rowCount ?? 0;
  });
}

/** The seed's Phase 6 monitor: new bars and volume in the last hour, latest bar. */
export async function monitorSnapshot(
  url: string,
): Promise<{ new_bars: number; total_volume: string; latest_bar: Date | null }> {
  return withClient(url, async (c) => {
    const r = await c.query(`
      SELECT COUNT(*)::int AS new_bars, COALESCE(SUM(volume), 0)::text AS total_volume, MAX(timestamp) AS latest_bar
      FROM price_bars WHERE is_legacy = false AND deleted_at IS NULL AND timestamp > NOW() - INTERVAL '1 hour'`);
    return r.rows[0];
  });
}
