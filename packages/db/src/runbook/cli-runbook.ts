import { join } from 'node:path';
import { createDb } from '../database.js';
import { DbError } from '../errors.js';
import { evaluateCriteria } from '../migration-criteria.js';
import { barCountsBySource, migrationFacts } from '../operations-queries.js';
import { checkCleanupGates, describeCriterion, GATED_ACTIONS } from './cleanup-gates.js';
import {
  archiveLegacy,
  deleteLegacy,
  monitorSnapshot,
  planFor,
  purgeSoftDeleted,
  type RunbookAction,
  restoreBackup,
  restoreSoftDeleted,
  rollbackTrades,
  softDeleteLegacy,
  unarchiveLegacy,
} from './runbook.js';

/** Parsed flags of a runbook command. */
export interface RunbookFlags {
  yes: boolean;
  /** Run a gated cleanup although success criteria fail (said loudly). */
  force: boolean;
  minDays?: string;
  olderThan?: string;
  backupDir?: string;
  interval?: string;
  once: boolean;
  positional: string[];
}

/** Parses `--yes`, `--force`, `--min-days N`, `--older-than 7d`, `--backup-dir D`, `--interval S`, `--once`. */
export function parseFlags(args: string[]): RunbookFlags {
  const flags: RunbookFlags = { yes: false, force: false, once: false, positional: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new DbError('INVALID_ARGUMENT', `${a} needs a value`);
      return v;
    };
    if (a === '--yes' || a === '-y') flags.yes = true;
    else if (a === '--once') flags.once = true;
    else if (a === '--force') flags.force = true;
    else if (a === '--min-days') flags.minDays = value();
    else if (a === '--older-than') flags.olderThan = value();
    else if (a === '--backup-dir') flags.backupDir = value();
    else if (a === '--interval') flags.interval = value();
    else if (a.startsWith('--')) throw new DbError('INVALID_ARGUMENT', `unknown option ${a}`);
    else flags.positional.push(a);
  }
  return flags;
}

/** `7d`, `12h`, `30m` or a bare number of days → days. */
export function parseDays(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([dhm]?)$/.exec(text.trim());
  if (!m)
    throw new DbError(
      'INVALID_ARGUMENT',
      `--older-than must look like 7d, 12h or 30m, got "${text}"`,
    );
  const n = Number(m[1]);
  return m[2] === 'h' ? n / 24 : m[2] === 'm' ? n / 1440 : n;
}

function stamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`timed-db: ${line}\n`);

/** What the gated commands need besides their flags. */
export interface RunbookOptions {
  /** Days of trades bars the cleanup gates want (undefined = the default, 3). */
  minDays?: number | undefined;
}

/** `legacy status`: the seed's counts per data_source / is_legacy and its success criteria. */
export async function printStatus(url: string, options: RunbookOptions = {}): Promise<void> {
  const db = createDb(url, { max: 2 });
  try {
    const rows = await barCountsBySource(db);
    out(
      'data_source  is_legacy        bars        total_volume  first_bar                 last_bar',
    );
    for (const r of rows) {
      out(
        `${String(r.data_source).padEnd(12)} ${String(r.is_legacy).padEnd(9)} ${r.bar_count.padStart(11)} ${(r.total_volume ?? '0').padStart(19)}  ${(r.first_bar?.toISOString() ?? '-').padEnd(25)} ${r.last_bar?.toISOString() ?? '-'}`,
      );
    }
    if (rows.length === 0) out('(no bars)');
    const criteria = evaluateCriteria(await migrationFacts(db), { minDays: options.minDays });
    out('');
    out('success criterion                                                      value      result');
    for (const c of criteria) {
      out(
        `${c.description.padEnd(70)} ${String(c.value ?? '-').padStart(10)}  ${c.pass ? 'pass' : 'FAIL'}  (target ${c.target})`,
      );
    }
    out(
      criteria.every((c) => c.pass)
        ? 'ready for cleanup: every criterion passes'
        : 'not ready for cleanup',
    );
  } finally {
    await db.destroy();
  }
}

/**
 * The cleanup gates of a legacy command: prints every criterion; when one fails, refuses (exit 4,
 * nothing changed) unless --force, which runs anyway and says which gates it overrode.
 * Resolves false when the command must stop here.
 */
async function passGates(
  url: string,
  action: RunbookAction,
  flags: RunbookFlags,
  options: RunbookOptions,
): Promise<boolean> {
  const verdict = await checkCleanupGates(url, { minDays: options.minDays });
  out("cleanup gates (the seed's success criteria, computed now):");
  for (const c of verdict.criteria) {
    out(`  ${c.pass ? 'pass' : 'FAIL'}  ${describeCriterion(c)}`);
  }
  if (verdict.passed) {
    out('cleanup gates: every criterion passes');
    return true;
  }
  const failing = verdict.failing.map((c) => c.id).join(', ');
  if (!flags.force) {
    for (const c of verdict.failing) warn(`criterion fails: ${describeCriterion(c)}`);
    warn(
      `refusing legacy ${action}: ${verdict.failing.length} success criteria fail (${failing}); ` +
        'nothing changed. Wait until they pass (timed-db legacy status), or override with --force',
    );
    process.exitCode = 4;
    return false;
  }
  for (const c of verdict.failing) warn(`--force overrides: ${describeCriterion(c)}`);
  const verb = flags.yes ? 'running' : 'with --yes, would run';
  warn(`--force: cleanup gates overridden; ${verb} legacy ${action} although ${failing} fail`);
  return true;
}

/** Runs a destructive runbook action: prints the plan and counts, gates cleanups, refuses without --yes. */
export async function runAction(
  url: string,
  action: RunbookAction,
  flags: RunbookFlags,
  options: RunbookOptions = {},
): Promise<void> {
  const days = action === 'purge' ? parseDays(flags.olderThan ?? '7d') : 7;
  const plan = await planFor(url, action, days);
  out(`plan: ${plan.description}: ${plan.rows} row(s)`);
  if (GATED_ACTIONS.includes(action) && !(await passGates(url, action, flags, options))) return;
  if (!flags.yes) {
    process.stderr.write('timed-db: nothing changed; add --yes to do it\n');
    process.exitCode = 3;
    return;
  }
  // cli.ts has put TIMED_BACKUP_DIR into flags.backupDir when --backup-dir was not given.
  const backupDir = flags.backupDir ?? join(process.cwd(), 'backups');
  switch (action) {
    case 'soft-delete':
      out(
        `soft-deleted ${await softDeleteLegacy(url)} legacy bar(s); undo with: timed-db legacy restore --yes`,
      );
      break;
    case 'restore':
      out(`restored ${await restoreSoftDeleted(url)} soft-deleted legacy bar(s)`);
      break;
    case 'purge':
      out(
        `purged ${await purgeSoftDeleted(url, days)} bar(s) soft-deleted more than ${flags.olderThan ?? '7d'} ago`,
      );
      break;
    case 'archive': {
      const notices: string[] = [];
      const archived = await archiveLegacy(url, (n) => notices.push(n));
      for (const n of notices) out(n);
      out(
        `archived ${archived} legacy bar(s) into price_bars_legacy; undo with: timed-db legacy unarchive --yes`,
      );
      break;
    }
    case 'unarchive': {
      const r = await unarchiveLegacy(url);
      out(
        `unarchived ${r.restored} bar(s); ${r.kept} kept in price_bars_legacy (a current bar holds their minute)`,
      );
      break;
    }
    case 'delete': {
      const file = join(backupDir, `price_bars_legacy_${stamp()}.csv`);
      out(
        `deleted ${await deleteLegacy(url, file)} legacy bar(s); backup: ${file} (restore with: timed-db restore ${file} --yes)`,
      );
      break;
    }
    case 'rollback': {
      const file = join(backupDir, `price_bars_trades_${stamp()}.csv`);
      out(`deleted ${await rollbackTrades(url, file)} trades bar(s); backup: ${file}`);
      out(
        'to collect mbp-1 bars again: set SCREENER_SCHEMA=mbp-1 and restart the screener (timed-screener run)',
      );
      break;
    }
  }
}

/** `restore FILE --yes`: loads a backup written by `legacy delete` or `rollback trades`. */
export async function runRestore(url: string, flags: RunbookFlags): Promise<void> {
  const file = flags.positional[0];
  if (!file) throw new DbError('INVALID_ARGUMENT', 'restore needs the backup FILE');
  out(`plan: insert the rows of ${file} (minutes already holding a bar are kept as they are)`);
  if (!flags.yes) {
    process.stderr.write('timed-db: nothing changed; add --yes to do it\n');
    process.exitCode = 3;
    return;
  }
  const r = await restoreBackup(url, file);
  out(`restored ${r.restored} bar(s); ${r.skipped} skipped (their minute holds a bar)`);
}

/** The seed's Phase 6 monitor, every --interval seconds (default 300) until Ctrl-C. */
export async function runMonitor(url: string, flags: RunbookFlags): Promise<void> {
  const seconds = Number(flags.interval ?? 300);
  if (!Number.isFinite(seconds) || seconds < 1)
    throw new DbError(
      'INVALID_ARGUMENT',
      `--interval must be seconds >= 1, got "${flags.interval}"`,
    );
  for (;;) {
    const s = await monitorSnapshot(url);
    out(`\n[${new Date().toISOString().slice(11, 19)}] Migration Status:`);
    out(`  New bars (last hour): ${s.new_bars}`);
    out(`  Total volume:         ${BigInt(s.total_volume).toLocaleString('en-US')} shares`);
    out(`  Latest bar:           ${s.latest_bar?.toISOString() ?? '-'}`);
    if (flags.once) return;
    await new Promise((r) => setTimeout(r, seconds * 1000));
  }
}
