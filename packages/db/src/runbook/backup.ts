import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { DbError } from '../errors.js';
import { columnNames, count, inTransaction, list } from './sql.js';

/** Writes the rows matching `where` to a CSV backup (COPY format with header); returns the row count. */
export async function backupRows(c: pg.Client, where: string, file: string): Promise<number> {
  mkdirSync(dirname(file), { recursive: true });
  const names = list(await columnNames(c, 'price_bars'));
  const stream = c.query(
    copyTo(
      `COPY (SELECT ${names} FROM price_bars WHERE ${where} ORDER BY symbol, timestamp) TO STDOUT WITH (FORMAT csv, HEADER true)`,
    ),
  );
  await pipeline(stream, createWriteStream(file, { flags: 'wx' }));
  return stream.rowCount ?? 0;
}

/**
 * Deletes the rows matching `where` after writing them to `backupFile`, in one transaction (the
 * backup is read inside it, so it holds exactly what is deleted). Returns rows deleted.
 */
async function backupThenDelete(url: string, where: string, backupFile: string): Promise<number> {
  return inTransaction(url, async (c) => {
    await c.query('LOCK TABLE price_bars IN SHARE ROW EXCLUSIVE MODE');
    const backedUp = await backupRows(c, where, backupFile);
    const deleted = await c.query(`DELETE FROM price_bars WHERE ${where}`);
    if ((deleted.rowCount ?? 0) !== backedUp) {
      throw new DbError(
        'RUNBOOK_FAILED',
        `backup holds ${backedUp} rows but ${deleted.rowCount} would be deleted; nothing changed`,
      );
    }
    return backedUp;
  });
}

/** Option C: backs up legacy bars to `backupFile`, then deletes them. */
export function deleteLegacy(url: string, backupFile: string): Promise<number> {
  return backupThenDelete(url, 'is_legacy = true', backupFile);
}

/** The seed's rollback: backs up trades bars to `backupFile`, then deletes them. */
export function rollbackTrades(url: string, backupFile: string): Promise<number> {
  return backupThenDelete(url, "is_legacy = false AND data_source = 'trades'", backupFile);
}

/** The column names in a backup's CSV header line (backups name their columns; see backupRows). */
function backupHeader(file: string): string[] {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
    return line
      .trim()
      .split(',')
      .map((x) => x.replace(/^"(.*)"$/, '$1').replace(/""/g, '"'))
      .filter((x) => x !== '');
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a backup written by deleteLegacy/rollbackTrades; minutes held by a current bar are kept.
 * The columns are the backup's own (its header), so one written before a later migration loads.
 */
export async function restoreBackup(
  url: string,
  file: string,
): Promise<{ restored: number; skipped: number }> {
  if (!existsSync(file)) throw new DbError('RUNBOOK_FAILED', `backup file ${file} does not exist`);
  const header = backupHeader(file);
  return inTransaction(url, async (c) => {
    const known = new Set(await columnNames(c, 'price_bars'));
    const unknown = header.filter((h) => !known.has(h));
    if (!header.includes('symbol') || !header.includes('timestamp') || unknown.length > 0) {
      throw new DbError(
        'RUNBOOK_FAILED',
        `${file} is not a price_bars backup: its header ${unknown.length > 0 ? `names columns price_bars does not have (${unknown.join(', ')})` : 'lacks symbol or timestamp'}; nothing changed`,
      );
    }
    const names = list(header);
    await c.query('CREATE TEMP TABLE restore_rows (LIKE price_bars) ON COMMIT DROP');
    const stream = c.query(
      copyFrom(`COPY restore_rows (${names}) FROM STDIN WITH (FORMAT csv, HEADER true)`),
    );
    await pipeline(createReadStream(file), stream);
    const total = await count(c, 'true', 'restore_rows');
    const r = await c.query(
      `INSERT INTO price_bars (${names}) SELECT ${names} FROM restore_rows ON CONFLICT (symbol, timestamp) DO NOTHING`,
    );
    return { restored: r.rowCount ?? 0, skipped: total - (r.rowCount ?? 0) };
  });
}
