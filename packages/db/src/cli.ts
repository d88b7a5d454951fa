import { DbError } from './errors.js';
import { migrate, migrationStatus } from './migrator.js';

const USAGE = `usage: timed-db <command>

commands:
  migrate   apply pending migrations (each once, in order, in a transaction)
  status    list migrations and whether each is applied, pending or changed

environment:
  DATABASE_URL           Postgres to use (required)
  TIMED_MIGRATIONS_DIR   folder of NNNN_name.sql files (default: the project's migrations/)`;

function fail(message: string, code = 1): never {
  process.stderr.write(`timed-db: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const [command] = argv;
  if (!command || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    if (!command) process.exitCode = 2;
    return;
  }
  const url = process.env.DATABASE_URL;
  if (!url) fail('DATABASE_URL is not set (e.g. postgres://user:pass@127.0.0.1:5432/timed)', 2);
  const dir = process.env.TIMED_MIGRATIONS_DIR || undefined;
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
    default:
      fail(`unknown command "${command}"\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof DbError) fail(err.message);
  fail(err instanceof Error ? err.message : String(err));
});
