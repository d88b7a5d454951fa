import { DurableObject } from 'cloudflare:workers';
import { compareSemver, decideVersion, isPatchOnlyChange } from '@timed/schema';
import { type AppEnv, type RawEnv, readEnv } from '../env.js';
import { KEYS } from '../kv/keys.js';
import { KvStore } from '../kv/kv-store.js';
import { errorText, logEvent } from '../log.js';
import {
  loadCoordinatorState,
  type PersistedState,
  saveCoordinatorState,
} from './coordinator-state.js';
import { CoordinatorStore } from './coordinator-store.js';
import { flushIndex, nextFlushAt } from './index-flusher.js';
import { sendJobNotices } from './job-notices.js';
import { type MigrationRecord, type PurgeJob, progressOf, runPurgeSlice } from './purge-job.js';
import type {
  AdmitResult,
  CoordinatorStatus,
  GateState,
  IngestNote,
  PurgeResult,
  VersionChangeResult,
  VersionRequest,
} from './types.js';
import { VersionChanges, type VersionHost } from './version-changes.js';

/** Extra wait, beyond the isolates' version-cache lifetime, before a migration's purge starts. */
const PURGE_GRACE_MARGIN_MS = 500;
/** Retry delay after an alarm invocation failed. */
export const ALARM_RETRY_MS = 5_000;

/**
 * The single, strongly consistent authority for the data version S. Every decision that changes S
 * (initialize, bump, migrate, and an operator's skip or rollback, see VersionChanges) and every
 * purge goes through here; each decision is taken and applied synchronously (after, for a change
 * of S, one read of `timed:data_version` for a hand-set value), so concurrent calls never see a
 * half-made decision.
 * It also keeps the ticker index and the last-ingest time and writes their KV copies at most once
 * per second (alarm), and runs long purges in alarm slices of at most 900 KV operations.
 */
export class VersionCoordinator extends DurableObject<RawEnv> {
  private readonly store: CoordinatorStore;
  private readonly config: AppEnv;
  private s!: PersistedState;
  private readonly deleting = new Map<string, Promise<void>>();
  private sliceLock: Promise<unknown> = Promise.resolve();
  private invocations = 0;
  private readonly versions: VersionChanges;

  constructor(ctx: DurableObjectState, env: RawEnv) {
    super(ctx, env);
    this.config = readEnv(env);
    this.store = new CoordinatorStore(ctx.storage.sql);
    this.versions = new VersionChanges(this.versionHost());
    ctx.blockConcurrencyWhile(() => this.load());
  }

  /** Loads state; on first start adopts S and the index a pre-coordinator Worker left in KV. */
  private async load(): Promise<void> {
    this.s = await loadCoordinatorState(this.store, this.config.kv);
  }

  private save(): void {
    saveCoordinatorState(this.store, this.s);
  }

  private gateState(): GateState {
    return {
      stored: this.s.version,
      expected: this.config.expectedVersion,
      purging: this.s.job !== null,
      keepFrom: this.s.keepFrom,
    };
  }

  /** The current data version, expected version and whether a purge runs. */
  async state(): Promise<GateState> {
    this.versions.watch();
    return this.gateState();
  }

  /**
   * Decides what to do with a payload of version `incoming` for `ticker` and makes any version
   * change (initialize, bump, migrate) before answering. During a purge the ticker is marked as
   * written so the purge leaves it alone, and in-flight deletes of its keys finish first.
   */
  async admit(incoming: string, ticker: string): Promise<AdmitResult> {
    const decide = () =>
      decideVersion({
        stored: this.s.version,
        expected: this.config.expectedVersion,
        incoming,
        purgeOnPatch: this.config.purgeOnPatch,
      });
    let d = decide();
    if (d.action === 'initialize' || d.action === 'bump' || d.action === 'migrate') {
      // Before S changes (and old data is purged), honour a hand-set `timed:data_version` (a skip).
      await this.versions.check(0);
      d = decide();
    } else {
      this.versions.watch();
    }
    const now = Date.now();
    let migration: AdmitResult['migration'];
    switch (d.action) {
      case 'stale':
        return { action: 'stale', state: this.gateState(), fresh: false };
      case 'initialize':
        this.setVersion(d.version);
        break;
      case 'bump':
        this.setVersion(d.to);
        break;
      case 'migrate':
        migration = this.startMigration(d.from, d.to, now, ticker);
        break;
      default:
        break;
    }
    const fresh = this.s.job !== null && this.store.protect(ticker);
    this.save();
    await this.scheduleAlarm();
    const inFlight = this.deleting.get(ticker);
    if (inFlight) await inFlight.catch(() => undefined);
    return {
      action: d.action,
      state: this.gateState(),
      fresh,
      ...(migration ? { migration } : {}),
    };
  }

  /** Records handled payloads: index membership, last-ingest time, stale/mismatch counters. */
  async recordIngests(notes: IngestNote[]): Promise<GateState> {
    this.versions.watch();
    for (const note of notes) this.record(note);
    this.save();
    await this.scheduleAlarm();
    return this.gateState();
  }

  private record(note: IngestNote): void {
    if (note.kind === 'stale') {
      this.s.staleRejected++;
      return;
    }
    const s = this.s.version;
    const current =
      s === null || compareSemver(note.version, s) >= 0 || isPatchOnlyChange(note.version, s);
    // Not indexed: a late write of an older version (an isolate's cache had not expired yet), and
    // a note that arrives after a purge emptied the index but is about a write from before it.
    const indexable =
      current && (note.atMs >= (this.s.indexClearedAt ?? 0) || this.store.isProtected(note.ticker));
    if (indexable && this.store.addTicker(note.ticker, note.atMs)) this.s.flush.indexGen++;
    this.s.lastIngestMs = Math.max(this.s.lastIngestMs ?? 0, note.atMs);
    if (s !== null && note.version !== s) {
      const m = this.s.mismatch;
      this.s.mismatch = {
        version: note.version,
        ticker: note.ticker,
        count: (m?.count ?? 0) + 1,
        lastSeenMs: note.atMs,
      };
    }
  }

  /** Starts a manual purge of every per-ticker key and the index; runs its first slice now. */
  async purgeAll(): Promise<PurgeResult> {
    const now = Date.now();
    const tickerCount = this.store.tickerCount();
    this.clearIndex(now);
    this.replaceJob({
      reason: 'manual',
      keepVersion: null,
      runAfter: now,
      tickerCount,
      migrations: this.s.job?.migrations ?? [],
    });
    const epoch = this.s.job!.epoch;
    await this.runSlice();
    const job = this.s.job;
    const finished = this.s.lastPurge?.epoch === epoch ? this.s.lastPurge : null;
    return {
      complete: finished !== null,
      purged: finished ? finished.deletedTickers : (job?.deletedTickers ?? 0),
      tickerCount,
      version: this.s.version,
    };
  }

  /** Everything /timed/health and /timed/version report (after a check for a hand-set S). */
  async status(): Promise<CoordinatorStatus> {
    await this.versions.checkIfDue();
    return {
      stored: this.s.version,
      expected: this.config.expectedVersion,
      lastIngestMs: this.s.lastIngestMs,
      tickers: this.store.tickerCount(),
      purge: this.s.job ? progressOf(this.s.job) : null,
      staleRejected: this.s.staleRejected,
      mismatch: this.s.mismatch,
      migrations: this.s.migrations,
      lastMigration: this.s.lastMigration,
      keepFrom: this.s.keepFrom,
      lastVersionChange: this.s.lastVersionChange,
    };
  }

  /** `POST /timed/version`: an operator's skip, migration or rollback (see VersionChanges). */
  async changeVersion(req: VersionRequest): Promise<VersionChangeResult> {
    return this.versions.change(req);
  }

  /** Flushes the index/version copies that are due and continues a running purge. */
  override async alarm(): Promise<void> {
    try {
      const kv = new KvStore(this.config.kv, `alarm#${++this.invocations}`);
      await flushIndex(this.flushSource(), kv);
      await this.runSlice(kv);
      await flushIndex(this.flushSource(), kv);
      await this.scheduleAlarm();
    } catch (error) {
      logEvent('error', 'coordinator_alarm_failed', {
        error: errorText(error),
        retryInMs: ALARM_RETRY_MS,
        purge: this.s.job ? progressOf(this.s.job) : null,
      });
      await this.ctx.storage.setAlarm(Date.now() + ALARM_RETRY_MS);
    }
  }

  private versionHost(): VersionHost {
    const self = this;
    return {
      get s() {
        return self.s;
      },
      config: this.config,
      store: this.store,
      kv: (scope) => new KvStore(this.config.kv, `${scope}#${++this.invocations}`),
      gateState: () => this.gateState(),
      setVersion: (v) => this.setVersion(v),
      startMigration: (from, to, now) => this.startMigration(from, to, now),
      clearIndex: (now) => this.clearIndex(now),
      replaceJob: (init) => this.replaceJob(init),
      purgeAfter: (now) => now + this.config.versionCacheMs + PURGE_GRACE_MARGIN_MS,
      save: () => this.save(),
      scheduleAlarm: () => this.scheduleAlarm(),
    };
  }

  private clearIndex(now: number): void {
    this.store.clearTickers();
    this.s.indexClearedAt = now;
    this.s.flush.indexGen++;
  }

  private setVersion(version: string): void {
    if (this.s.version !== null && compareSemver(version, this.s.version) < 0) {
      throw new Error(
        `refusing to move the data version back from ${this.s.version} to ${version}`,
      );
    }
    if (this.s.version !== version) {
      this.s.version = version;
      this.s.flush.versionGen++;
      this.s.mismatch = null;
    }
  }

  private startMigration(
    from: string,
    to: string,
    now: number,
    ticker?: string,
  ): AdmitResult['migration'] {
    const tickerCount = this.store.tickerCount();
    const record: MigrationRecord = {
      from,
      to,
      archiveKey: KEYS.archive(from, now),
      archive: {
        version: from,
        migratedAt: now,
        tickerCount,
        sampleTickers: this.store.tickers(10),
      },
      archived: false,
      startedAt: now,
    };
    this.clearIndex(now);
    this.setVersion(to);
    this.replaceJob({
      reason: 'migration',
      keepVersion: to,
      runAfter: now + this.config.versionCacheMs + PURGE_GRACE_MARGIN_MS,
      tickerCount,
      migrations: [...(this.s.job?.migrations ?? []), record],
    });
    logEvent('info', 'migration_started', {
      from,
      to,
      ticker: ticker ?? null,
      archiveKey: record.archiveKey,
      tickerCount,
      purgeAfterMs: this.s.job!.runAfter - now,
    });
    return { from, to, archiveKey: record.archiveKey };
  }

  /** Starts a purge, restarting any running one (its archives and notices are carried over). */
  private replaceJob(
    init: Pick<
      PurgeJob,
      'reason' | 'keepVersion' | 'dropAbove' | 'runAfter' | 'tickerCount' | 'migrations'
    >,
  ): void {
    const previous = this.s.job;
    // A manual purge deletes everything; a migration during one keeps deleting everything else.
    const manual = previous?.reason === 'manual' || init.reason === 'manual';
    // What an earlier skip kept is purged now (a rollback keeps it, see rollBack()).
    if (init.reason !== 'rollback') this.s.keepFrom = null;
    this.s.job = {
      epoch: ++this.s.epochSeq,
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
    this.store.clearProtected();
    this.save();
  }

  /** Runs one purge slice (never two at once) and finishes the job when it is done. */
  private runSlice(kv?: KvStore): Promise<void> {
    const run = async () => {
      const store = kv ?? new KvStore(this.config.kv, `purge#${++this.invocations}`);
      const result = await runPurgeSlice(
        {
          current: () => this.s.job,
          save: () => this.save(),
          isProtected: (t) => this.store.isProtected(t),
          archiveTtlSeconds: this.config.archiveTtlSeconds,
          deleting: this.deleting,
        },
        store,
        Date.now(),
      );
      const job = this.s.job;
      if ((result === 'more' || result === 'done') && job) {
        logEvent('info', result === 'done' ? 'purge_finished' : 'purge_progress', {
          version: this.s.version,
          ...progressOf(job),
        });
      }
      if (result === 'done') await this.finishJob();
      await this.scheduleAlarm();
    };
    const next = this.sliceLock.then(run, run);
    this.sliceLock = next.catch(() => undefined);
    return next;
  }

  private async finishJob(): Promise<void> {
    const job = this.s.job;
    if (!job) return;
    const completedAt = Date.now();
    this.s.job = null;
    this.store.clearProtected();
    this.s.lastPurge = {
      epoch: job.epoch,
      reason: job.reason,
      completedAt,
      deletedKeys: job.deletedKeys,
      deletedTickers: job.deletedTickers,
    };
    for (const m of job.migrations) {
      this.s.migrations++;
      this.s.lastMigration = {
        from: m.from,
        to: m.to,
        archiveKey: m.archiveKey,
        startedAt: m.startedAt,
        completedAt,
        tickerCount: m.archive.tickerCount,
        deletedKeys: job.deletedKeys,
      };
      logEvent('info', 'migration_finished', { ...this.s.lastMigration });
    }
    this.save();
    await sendJobNotices(this.config.discordWebhookUrl, job, this.s.version, completedAt);
  }

  private flushSource() {
    return {
      flush: this.s.flush,
      version: this.s.version,
      lastIngestMs: this.s.lastIngestMs,
      tickers: () => this.store.tickers(),
      save: () => this.save(),
    };
  }

  /** Sets the alarm to the earliest pending flush or purge slice. */
  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    let at = nextFlushAt(this.flushSource()) ?? Number.POSITIVE_INFINITY;
    if (this.s.job) at = Math.min(at, Math.max(now, this.s.job.runAfter));
    if (!Number.isFinite(at)) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(Math.max(at, now));
  }
}
