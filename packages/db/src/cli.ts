import { EnvError } from '@timed/schema/errors';
import { type CliEnv, readCliEnv } from './env.js';
import { DbError } from './errors.js';
import { migrate, migrationStatus } from './migrator.js';
import { resolveMinDays } from './runbook/cleanup-gates.js';
import {
  parseFlags,
  printStatus,
  type RunbookFlags,
  runAction,
  runMonitor,
  runRestore,
} from './runbook/cli-runbook.js';
import type { RunbookAction } from './runbook/runbook.js';

const USAGE = `usage: timed-db <command> [options]

schema:
  migrate                          apply pending migrations (each once, in order, in a transaction)
  status                           list migrations: applied, pending, changed or missing

the seed's runbook (destructive commands print the plan and row counts, and need --yes):
  legacy status [--min-days N]     bars, volume, first/last bar per data_source / is_legacy, and the
                                   seed's success criteria
  monitor [--interval S] [--once]  new bars and volume in the last hour, every S seconds (300)
  legacy soft-delete --yes         Option A: mark legacy bars deleted (hidden from the API)
  legacy restore --yes             undo Option A
  legacy purge --older-than 7d --yes   delete bars soft-deleted longer ago than that
  legacy archive --yes             Option B: move legacy bars into price_bars_legacy
  legacy unarchive --yes           undo Option B
  legacy delete --yes              Option C: back up legacy bars to a CSV, then delete them
  rollback trades --yes            back up, then delete trades bars (run the screener in mbp-1 mode after)
  restore FILE --yes               load a backup written by legacy delete / rollback trades

cleanup gates: legacy soft-delete, archive, delete and purge first check the seed's success
criteria (timed-db legacy status shows them) and refuse (exit 4, nothing changed) while one
fails, naming each failing criterion with its value and threshold; among them, at least N days
(--min-days N, TIMED_CLEANUP_MIN_DAYS, default 3) from the switch (the first trades screener's
start) to the newest trades bar, and no screener errors since the switch.
  --force                          run although criteria fail (it prints which gates it overrode)

options: --backup-dir DIR (default ./backups or TIMED_BACKUP_DIR)

environment:
  DATABASE_URL           Postgres to use (required)
  TIMED_MIGRATIONS_DIR   folder of NNNN_name.sql files (default: the project's migrations/)
  TIMED_BACKUP_DIR       where legacy delete / rollback trades write backups (default ./backups)
  TIMED_CLEANUP_MIN_DAYS days of trades bars the cleanup gates want (default 3; --min-days wins)`;

const LEGACY_ACTIONS: Record<string, RunbookAction> = {
  'soft-delete': 'soft-delete',
  restore: 'restore',
  purge: 'purge',
  archive: 'archive',
  unarchive: 'unarchive',
  delete: 'delete',
};

function fail(message: string, code = 1): never {
  process.stderr.write(`timed-db: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    if (!command) process.exitCode = 2;
    return;
  }
  const known = ['migrate', 'status', 'legacy', 'monitor', 'rollback', 'restore'];
  if (!known.includes(command)) fail(`unknown command "${command}"\n${USAGE}`, 2);
  const env = readCliEnv();
  const url = env.DATABASE_URL;
  const dir = env.TIMED_MIGRATIONS_DIR;
  switch (command) {
    case 'migrate': {
      const { applied } = await migrate({ url, dir, log: (l) => process.stdout.write(`${l}\n`) });
      process.stdout.write(
        applied.length
          ? `${applied.length} migration(s) applied\n`
          : 'nothing to apply: database is up to date\n',
      );
      return;
    }
    case 'status': {
      const states = await migrationStatus({ url, dir });
      for (const s of states) {
        process.stdout.write(
          `${s.state.padEnd(8)} ${s.name}${s.appliedAt ? `  ${s.appliedAt.toISOString()}` : ''}\n`,
        );
      }
      if (states.some((s) => s.state === 'changed' || s.state === 'missing')) process.exitCode = 1;
      return;
    }
    case 'monitor':
      return runMonitor(url, parseFlags(sub === undefined ? rest : [sub, ...rest]));
    case 'restore':
      return runRestore(url, parseFlags(sub === undefined ? rest : [sub, ...rest]));
    case 'rollback':
      if (sub !== 'trades') fail('usage: timed-db rollback trades --yes', 2);
      return runAction(url, 'rollback', withBackupDir(parseFlags(rest), env));
    case 'legacy': {
      const flags = parseFlags(rest);
      const minDays = resolveMinDays(flags.minDays, env.TIMED_CLEANUP_MIN_DAYS);
      if (sub === 'status') return printStatus(url, { minDays });
      const action = sub ? LEGACY_ACTIONS[sub] : undefined;
      if (!action) fail(`unknown legacy command "${sub ?? ''}"\n${USAGE}`, 2);
      return runAction(url, action, withBackupDir(flags, env), { minDays });
    }
  }
}

/** --backup-dir wins over TIMED_BACKUP_DIR. */
function withBackupDir(flags: RunbookFlags, env: CliEnv): RunbookFlags {
  return { ...flags, backupDir: flags.backupDir ?? env.TIMED_BACKUP_DIR };
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof EnvError) fail(err.message, 2);
  if (err instanceof DbError) fail(err.message, err.code === 'INVALID_ARGUMENT' ? 2 : 1);
  fail(err instanceof Error ? err.message : String(err));
});
