import { createDb } from '../database.js';
import { DbError } from '../errors.js';
import { type CriteriaOptions, type Criterion, evaluateCriteria } from '../migration-criteria.js';
import { migrationFacts } from '../operations-queries.js';
import type { RunbookAction } from './runbook.js';

/**
 * The runbook actions that hide or remove legacy bars: the seed runs them only "after verifying
 * new data is good for 3+ days", so they wait for its success criteria. Restores and the rollback
 * are never gated (they are what an operator reaches for when the new data is bad).
 */
export const GATED_ACTIONS: readonly RunbookAction[] = [
  'soft-delete',
  'archive',
  'delete',
  'purge',
];

/** The success criteria read for a cleanup: all of them, and the ones that fail. */
export interface GateVerdict {
  passed: boolean;
  criteria: Criterion[];
  failing: Criterion[];
}

/** Evaluates the seed's success criteria (with `minDays`) on the database at `url`. */
export async function checkCleanupGates(
  url: string,
  options: CriteriaOptions = {},
): Promise<GateVerdict> {
  const db = createDb(url, { max: 2, applicationName: 'timed-db' });
  try {
    const criteria = evaluateCriteria(await migrationFacts(db), options);
    const failing = criteria.filter((c) => !c.pass);
    return { passed: failing.length === 0, criteria, failing };
  } finally {
    await db.destroy();
  }
}

/** One line naming a criterion, its measured value and its threshold. */
export function describeCriterion(c: Criterion): string {
  return `${c.id} (${c.description}): measured ${c.value ?? 'nothing'}, needs ${c.target}`;
}

/**
 * Reads the minimum days of trades data: the `--min-days` flag, else `TIMED_CLEANUP_MIN_DAYS`,
 * else undefined (the default, 3). Throws INVALID_ARGUMENT naming where a bad value came from.
 */
export function resolveMinDays(
  flag: string | undefined,
  env: string | undefined,
): number | undefined {
  const [text, origin] =
    flag !== undefined
      ? [flag, '--min-days']
      : [env?.trim() || undefined, 'TIMED_CLEANUP_MIN_DAYS'];
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new DbError('INVALID_ARGUMENT', `${origin} must be a number of days >= 0, got "${text}"`);
  }
  return n;
}
