import { compareSemver, parseSemver } from '@timed/schema';
import type { ValueMeta } from '../kv/keys.js';
import type { VersionRequest } from './types.js';

/** What to do with the value read from `timed:data_version`. */
export type HandSetJudgement =
  | { kind: 'ignore' }
  | { kind: 'adopt'; to: string }
  | { kind: 'refuse'; to: string; reason: string };

/**
 * Judges `timed:data_version` as read from KV. The coordinator tags its own mirror writes with
 * metadata `{ v }` equal to the value, so a value without that tag (or with a different one) was
 * set by hand: the seed's way to skip a migration. A newer value is adopted as S without purging;
 * an older one is refused (rolling back needs the archive, see `planVersionRequest`).
 */
export function judgeHandSetVersion(
  raw: string | null,
  meta: ValueMeta | null,
  state: { stored: string | null; kvSeen: string | null },
): HandSetJudgement {
  const value = raw?.trim();
  if (!value) return { kind: 'ignore' };
  // Our own mirror, possibly a stale read of an older one: never a decision.
  if (meta?.v === value) return { kind: 'ignore' };
  // Handled already; KV may go on returning it for up to a minute.
  if (value === state.kvSeen || value === state.stored) return { kind: 'ignore' };
  if (!parseSemver(value)) {
    return { kind: 'refuse', to: value, reason: 'not a MAJOR.MINOR.PATCH version' };
  }
  if (state.stored !== null && compareSemver(value, state.stored) < 0) {
    return {
      kind: 'refuse',
      to: value,
      reason: `older than the stored data version ${state.stored}: roll back with POST /timed/version and "rollback": true`,
    };
  }
  return { kind: 'adopt', to: value };
}

/** What `POST /timed/version` will do, or why it is refused. */
export type VersionPlan =
  | { kind: 'unchanged' | 'initialize' | 'skip' | 'migrate'; purge: boolean }
  | { kind: 'rollback'; purge: boolean }
  | { kind: 'refuse'; status: 409; code: string; message: string };

/**
 * Plans an operator's request against the stored version S. Forward: a skip (S moves, nothing is
 * purged) unless `purge: true`, which migrates like a first alert of that version would. Back:
 * only with `rollback: true`, never while a purge runs, and purging unless `purge: false`.
 */
export function planVersionRequest(
  req: VersionRequest,
  stored: string | null,
  purging: boolean,
): VersionPlan {
  if (stored === null) return { kind: 'initialize', purge: false };
  const order = compareSemver(req.version, stored);
  if (order > 0 || (order === 0 && !req.rollback)) {
    if (req.rollback) {
      return {
        kind: 'refuse',
        status: 409,
        code: 'NOT_A_ROLLBACK',
        message: `version ${req.version} is not older than the stored data version ${stored}: leave out "rollback" to move forward`,
      };
    }
    if (order === 0) return { kind: 'unchanged', purge: false };
    return req.purge ? { kind: 'migrate', purge: true } : { kind: 'skip', purge: false };
  }
  if (order === 0) {
    return {
      kind: 'refuse',
      status: 409,
      code: 'NOT_A_ROLLBACK',
      message: `version ${req.version} is already the stored data version`,
    };
  }
  if (!req.rollback) {
    return {
      kind: 'refuse',
      status: 409,
      code: 'ROLLBACK_REQUIRED',
      message: `version ${req.version} is older than the stored data version ${stored}: pass "rollback": true to roll back (the current data is archived first, then purged unless "purge": false)`,
    };
  }
  if (purging) {
    return {
      kind: 'refuse',
      status: 409,
      code: 'PURGE_RUNNING',
      message: 'a purge is running (see /timed/health): roll back after it has finished',
    };
  }
  return { kind: 'rollback', purge: req.purge !== false };
}
