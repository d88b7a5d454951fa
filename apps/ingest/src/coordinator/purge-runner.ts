import type { AppEnv } from '../env.js';
import type { KvStore } from '../kv/kv-store.js';
import { logEvent } from '../log.js';
import { archiveOf } from './archive.js';
import type { PersistedState } from './coordinator-state.js';
import type { CoordinatorStore } from './coordinator-store.js';
import { sendJobNotices } from './job-notices.js';
import { type MigrationRecord, type PurgeJob, progressOf, runPurgeSlice } from './purge-job.js';
import type { AdmitResult } from './types.js';
import { clearIndex, setVersion } from './version-state.js';

/** Extra wait, beyond the isolates' version-cache lifetime, before a migration's purge starts. */
const PURGE_GRACE_MARGIN_MS = 500;

/** What a purge is started with; the runner fills in the rest of the job. */
export type PurgeInit = Pick<
  PurgeJob,
  'reason' | 'keepVersion' | 'dropAbove' | 'runAfter' | 'tickerCount' | 'migrations'
>;

/** What the runner needs from the coordinator (its state and primitives). */
export interface PurgeRunnerHost {
  /** The coordinator's state, read anew on every use (loading replaces the object). */
  readonly s: PersistedState;
  readonly config: AppEnv;
  readonly store: CoordinatorStore;
  kv(scope: string): KvStore;
  save(): void;
  scheduleAlarm(): Promise<void>;
}

/**
 * Starts, restarts, runs and finishes the coordinator's purge jobs: a migration's (archive, then
 * delete what is older than S), a manual purge and a rollback's. One slice at a time, each within
 * an invocation's KV budget (`runPurgeSlice`); when a job ends it is summed up in the state and
 * its Discord notices are sent.
 */
export class PurgeRunner {
  /** Deletes in flight per ticker, so an admission can wait for them before its writes. */
  private readonly deleting = new Map<string, Promise<void>>();
  private sliceLock: Promise<unknown> = Promise.resolve();

  constructor(private readonly h: PurgeRunnerHost) {}

  /** When a purge may start: after the isolates' cached versions have expired. */
  purgeAfter(now: number): number {
    return now + this.h.config.versionCacheMs + PURGE_GRACE_MARGIN_MS;
  }

  /** Waits for the running purge's deletes of `ticker`'s keys, if any (their outcome is its own). */
  async deletesOf(ticker: string): Promise<void> {
    const inFlight = this.deleting.get(ticker);
    if (inFlight) await inFlight.catch(() => undefined);
  }

  /**
   * Moves S from `from` to `to` and schedules the purge of older data, which first writes the
   * archive of `from` (recorded now). `ticker`: the payload that started it, for the log.
   */
  startMigration(from: string, to: string, now: number, ticker?: string): AdmitResult['migration'] {
    const { s, store } = this.h;
    const { archiveKey, archive } = archiveOf(store, from, now);
    const tickerCount = archive.tickerCount;
    const record: MigrationRecord = {
      from,
      to,
      archiveKey,
      archive,
      archived: false,
      startedAt: now,
    };
    clearIndex(s, store, now);
    setVersion(s, to);
    this.replaceJob({
      reason: 'migration',
      keepVersion: to,
      runAfter: this.purgeAfter(now),
      tickerCount,
      migrations: [...(s.job?.migrations ?? []), record],
    });
    logEvent('info', 'migration_started', {
      from,
      to,
      ticker: ticker ?? null,
      archiveKey,
      tickerCount,
      purgeAfterMs: this.h.s.job!.runAfter - now,
    });
    return { from, to, archiveKey };
  }

  /** Starts a purge, restarting any running one (its archives and notices are carried over). */
  replaceJob(init: PurgeInit): void {
    const s = this.h.s;
    const previous = s.job;
    // A manual purge deletes everything; a migration during one keeps deleting everything else.
    const manual = previous?.reason === 'manual' || init.reason === 'manual';
    // What an earlier skip kept is purged now (a rollback keeps it, see VersionChanges.rollBack).
    if (init.reason !== 'rollback') s.keepFrom = null;
    s.job = {
      epoch: ++s.epochSeq,
      reason: manual ? 'manual' : init.reason,
      keepVersion: manual ? null : init.keepVersion,
      ...(manual || init.dropAbove === undefined ? {} : { dropAbove: init.dropAbove }),
      startedAt: Date.now(),
      runAfter: Math.max(init.runAfter, previous?.runAfter ?? 0),
      phase: 0,
      deletedKeys: 0,
      deletedTickers: 0,
      slices: 0,
      tickerCount: init.tickerCount,
      migrations: init.migrations,
    };
    this.h.store.clearProtected();
    this.h.save();
  }

  /** Runs one purge slice (never two at once) and finishes the job when it is done. */
  runSlice(kv?: KvStore): Promise<void> {
    const h = this.h;
    const run = async () => {
      const store = kv ?? h.kv('purge');
      const result = await runPurgeSlice(
        {
          current: () => h.s.job,
          save: () => h.save(),
          isProtected: (t) => h.store.isProtected(t),
          archiveTtlSeconds: h.config.archiveTtlSeconds,
          deleting: this.deleting,
        },
        store,
        Date.now(),
      );
      const job = h.s.job;
      if ((result === 'more' || result === 'done') && job) {
        logEvent('info', result === 'done' ? 'purge_finished' : 'purge_progress', {
          version: h.s.version,
          ...progressOf(job),
        });
      }
      if (result === 'done') await this.finishJob();
      await h.scheduleAlarm();
    };
    const next = this.sliceLock.then(run, run);
    this.sliceLock = next.catch(() => undefined);
    return next;
  }

  /** Ends the job: the last-purge and migration summaries, then the Discord notices. */
  private async finishJob(): Promise<void> {
    const s = this.h.s;
    const job = s.job;
    if (!job) return;
    const completedAt = Date.now();
    s.job = null;
    this.h.store.clearProtected();
    s.lastPurge = {
      epoch: job.epoch,
      reason: job.reason,
      completedAt,
      deletedKeys: job.deletedKeys,
      deletedTickers: job.deletedTickers,
    };
    for (const m of job.migrations) {
      s.migrations++;
      s.lastMigration = {
        from: m.from,
        to: m.to,
        archiveKey: m.archiveKey,
        startedAt: m.startedAt,
        completedAt,
        tickerCount: m.archive.tickerCount,
        deletedKeys: job.deletedKeys,
      };
      logEvent('info', 'migration_finished', { ...s.lastMigration });
    }
    this.h.save();
    await sendJobNotices(this.h.config.discordWebhookUrl, job, s.version, completedAt);
  }
}
