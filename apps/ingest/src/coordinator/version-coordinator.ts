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
import { judgeHandSetVersion, planVersionRequest } from './operator-version.js';
import { type MigrationRecord, type PurgeJob, progressOf, runPurgeSlice } from './purge-job.js';
import type {
  AdmitResult,
  ArchiveRecord,
  CoordinatorStatus,
  GateState,
  IngestNote,
  PurgeResult,
  VersionChange,
  VersionChangeResult,
  VersionRequest,
} from './types.js';

/** Extra wait, beyond the isolates' version-cache lifetime, before a migration's purge starts. */
const PURGE_GRACE_MARGIN_MS = 500;
/** Retry delay after an alarm invocation failed. */
export const ALARM_RETRY_MS = 5_000;
/** Shortest gap between two reads of `timed:data_version` (looking for a hand-set value). */
const MIN_KV_CHECK_MS = 1_000;

/**
 * The single, strongly consistent authority for the data version S. Every decision that changes S
 * (initialize, bump, migrate) and every purge goes through here, one call at a time; state changes
 * happen synchronously before any outside I/O so concurrent calls never see a half-made decision.
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
  /** When `timed:data_version` was last read, and the read in flight (shared by callers). */
  private kvCheckedAt = 0;
  private kvCheck: Promise<void> | undefined;

  constructor(ctx: DurableObjectState, env: RawEnv) {
    super(ctx, env);
    this.config = readEnv(env);
    this.store = new CoordinatorStore(ctx.storage.sql);
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
    this.watchKvVersion();
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
      await this.checkKvVersion(0);
      d = decide();
    } else {
      this.watchKvVersion();
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
    this.watchKvVersion();
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
    await this.checkKvVersion(this.kvCheckEveryMs());
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

  /**
   * `POST /timed/version`: an operator sets S. Forward without purging is the seed's skip;
   * forward with `purge: true` migrates; back needs `rollback: true` and archives the current
   * version's data before anything changes, then purges it unless `purge: false`.
   */
  async changeVersion(req: VersionRequest): Promise<VersionChangeResult> {
    // A hand-set value read after this call would silently override the operator's request.
    await this.checkKvVersion(0);
    const from = this.s.version;
    const plan = planVersionRequest(req, from, this.s.job !== null);
    if (plan.kind === 'refuse') {
      logEvent('warn', 'version_change_refused', {
        from,
        to: req.version,
        rollback: req.rollback ?? false,
        code: plan.code,
      });
      return { ok: false, status: plan.status, code: plan.code, message: plan.message };
    }
    if (plan.kind === 'rollback') return this.rollBack(from!, req.version, plan.purge);
    const to = req.version;
    const now = Date.now();
    let archiveKey: string | undefined;
    if (plan.kind === 'initialize') {
      this.setVersion(to);
      this.noteVersionChange({
        kind: 'initialize',
        via: 'route',
        from,
        to,
        purge: false,
        atMs: now,
      });
    } else if (plan.kind === 'skip') {
      this.skipTo(to, 'route', now);
    } else if (plan.kind === 'migrate') {
      archiveKey = this.startMigration(from!, to, now)?.archiveKey;
      this.noteVersionChange({
        kind: 'migrate',
        via: 'route',
        from,
        to,
        purge: true,
        archiveKey,
        atMs: now,
      });
    }
    this.save();
    await this.scheduleAlarm();
    return {
      ok: true,
      action: plan.kind,
      from,
      to,
      purge: plan.purge,
      ...(archiveKey ? { archiveKey } : {}),
      state: this.gateState(),
    };
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

  private kvCheckEveryMs(): number {
    return Math.max(this.config.versionCacheMs, MIN_KV_CHECK_MS);
  }

  /** Looks for a hand-set `timed:data_version` in the background, at most once per window. */
  private watchKvVersion(): void {
    void this.checkKvVersion(this.kvCheckEveryMs());
  }

  /**
   * Reads `timed:data_version` unless it was read less than `maxAgeMs` ago, and adopts a value the
   * coordinator did not write (see `judgeHandSetVersion`). Concurrent callers share one read.
   */
  private checkKvVersion(maxAgeMs: number): Promise<void> {
    if (this.kvCheck) return this.kvCheck;
    if (maxAgeMs > 0 && Date.now() - this.kvCheckedAt < maxAgeMs) return Promise.resolve();
    const startedAt = Date.now();
    const check = async () => {
      try {
        const kv = new KvStore(this.config.kv, `version-check#${++this.invocations}`);
        const read = await kv.getText(KEYS.dataVersion);
        this.kvCheckedAt = startedAt;
        this.applyHandSetVersion(read.value, read.meta, Date.now());
      } catch (error) {
        // S stays as it is; the next check tries again.
        logEvent('error', 'version_check_failed', { error: errorText(error) });
      } finally {
        this.kvCheck = undefined;
      }
    };
    this.kvCheck = check();
    return this.kvCheck;
  }

  private applyHandSetVersion(
    value: string | null,
    meta: Parameters<typeof judgeHandSetVersion>[1],
    now: number,
  ): void {
    const j = judgeHandSetVersion(value, meta, { stored: this.s.version, kvSeen: this.s.kvSeen });
    if (j.kind === 'ignore') return;
    this.s.kvSeen = j.to;
    if (j.kind === 'adopt') {
      this.skipTo(j.to, 'kv', now);
    } else {
      this.noteVersionChange({
        kind: 'refused',
        via: 'kv',
        from: this.s.version,
        to: j.to,
        purge: false,
        reason: j.reason,
        atMs: now,
      });
    }
    this.save();
    void this.scheduleAlarm().catch(() => undefined);
  }

  /** Moves S forward without purging; the old version's data stays and is served. */
  private skipTo(to: string, via: VersionChange['via'], now: number): void {
    const from = this.s.version;
    if (from !== null) this.s.keepFrom ??= from;
    this.setVersion(to);
    this.noteVersionChange({ kind: 'skip', via, from, to, purge: false, atMs: now });
  }

  /** Archives the data of S, then sets S = `to` (< S) and, when asked, purges what is newer. */
  private async rollBack(from: string, to: string, purge: boolean): Promise<VersionChangeResult> {
    const now = Date.now();
    const archiveKey = KEYS.archive(from, now);
    const archive: ArchiveRecord = {
      version: from,
      migratedAt: now,
      tickerCount: this.store.tickerCount(),
      sampleTickers: this.store.tickers(10),
    };
    logEvent('info', 'rollback_started', { from, to, purge, archiveKey });
    try {
      const kv = new KvStore(this.config.kv, `rollback#${++this.invocations}`);
      await kv.put(archiveKey, JSON.stringify(archive), {
        meta: { v: from },
        expirationTtl: this.config.archiveTtlSeconds,
      });
    } catch (error) {
      logEvent('error', 'rollback_failed', { from, to, archiveKey, error: errorText(error) });
      return {
        ok: false,
        status: 503,
        code: 'archive_failed',
        message: `could not write the archive ${archiveKey}; nothing was rolled back, try again`,
      };
    }
    // The archive write let other calls in: roll back only what was archived.
    if (this.s.version !== from || this.s.job !== null) {
      logEvent('warn', 'rollback_failed', { from, to, archiveKey, error: 'version changed' });
      return {
        ok: false,
        status: 409,
        code: 'version_changed',
        message: `the data version changed from ${from} while archiving; nothing was rolled back, try again`,
      };
    }
    this.s.version = to;
    this.s.flush.versionGen++;
    this.s.mismatch = null;
    if (this.s.keepFrom !== null && compareSemver(this.s.keepFrom, to) >= 0) this.s.keepFrom = null;
    if (purge) {
      const tickerCount = this.store.tickerCount();
      this.clearIndex(now);
      this.replaceJob({
        reason: 'rollback',
        keepVersion: null,
        dropAbove: to,
        runAfter: now + this.config.versionCacheMs + PURGE_GRACE_MARGIN_MS,
        tickerCount,
        migrations: [],
      });
    }
    this.noteVersionChange({
      kind: 'rollback',
      via: 'route',
      from,
      to,
      purge,
      archiveKey,
      atMs: now,
    });
    this.save();
    await this.scheduleAlarm();
    return { ok: true, action: 'rollback', from, to, purge, archiveKey, state: this.gateState() };
  }

  private noteVersionChange(change: VersionChange): void {
    this.s.lastVersionChange = change;
    const { kind, ...fields } = change;
    logEvent(kind === 'refused' ? 'warn' : 'info', `version_${kind}`, fields);
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
