// @timed/db/runbook: the seed's cleanup runbook behind `timed-db` (operators' tools, not the apps').
export {
  checkCleanupGates,
  describeCriterion,
  GATED_ACTIONS,
  type GateVerdict,
  resolveMinDays,
} from './cleanup-gates.js';
export {
  archiveLegacy,
  backupRows,
  deleteLegacy,
  inTransaction,
  monitorSnapshot,
  planFor,
  purgeSoftDeleted,
  type RunbookAction,
  type RunbookPlan,
  restoreBackup,
  restoreSoftDeleted,
  rollbackTrades,
  softDeleteLegacy,
  unarchiveLegacy,
} from './runbook.js';
