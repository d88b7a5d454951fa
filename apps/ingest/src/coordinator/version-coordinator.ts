import { DurableObject } from 'cloudflare:workers';
import { decideVersion } from '@timed/schema';
import { type AppEnv, type RawEnv, readEnv } from '../env.js';
import { KvStore } from '../kv/kv-store.js';
import { errorText, logEvent } from '../log.js';
import {
  loadCoordinatorState,
  type PersistedState,
  saveCoordinatorState,
} from './coordinator-state.js';
import { CoordinatorStore } from './coordinator-store.js';
import { type FlushSource, flushIndex, nextFlushAt } from './index-flusher.js';
import { progressOf } from './purge-job.js';
import { PurgeRunner } from './purge-runner.js';
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
import { clearIndex, gateStateOf, recordIngestNote, setVersion } from './version-state.js';

/** Retry delay after an alarm invocation failed. */
export const ALARM_RETRY_MS = 5_000;

/**
 * The single, strongly consistent authority for the data version S. Every decision that changes S
 * (initialize, bump, migrate, and an operator's skip or rollback, see VersionChanges) and every
 * purge goes through here; each decision is taken and applied synchronously (after, for a change
 * of S, one read of `timed:data_version` for a hand-set value), so concurrent calls never see a
 * half-made decision.
 * It also keeps the ticker index and the last-ingest time and writes their KV copies at most once
 * per second (alarm, see index-flusher), and runs long purges in alarm slices of at most 900 KV
 * operations (PurgeRunner). This class holds the state and answers the Worker's calls; the rules
 * live in version-state, purge-runner and version-changes.
 */
export class VersionCoordinator extends DurableObject<RawEnv> {
  private readonly store: CoordinatorStore;
  private readonly config: AppEnv;
  private s!: PersistedState;
  private invocations = 0;
  private readonly purges: PurgeRunner;
  private readonly versions: VersionChanges;

  constructor(ctx: DurableObjectState, env: RawEnv) {
    super(ctx, env);
    this.config = readEnv(env);
    this.store = new CoordinatorStore(ctx.storage.sql);
    const host = this.host();
    this.purges = new PurgeRunner(host);
    this.versions = new VersionChanges(host);
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
    return gateStateOf(this.s, this.config.expectedVersion);
  }

  /** A KV client for one invocation, named for the logs. */
  private kv(scope: string): KvStore {
    return new KvStore(this.config.kv, `${scope}#${++this.invocations}`);
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
        setVersion(this.s, d.version);
        break;
      case 'bump':
        setVersion(this.s, d.to);
        break;
      case 'migrate':
        migration = this.purges.startMigration(d.from, d.to, now, ticker);
        break;
      default:
        break;
    }
    const fresh = this.s.job !== null && this.store.protect(ticker);
    this.save();
    await this.scheduleAlarm();
    await this.purges.deletesOf(ticker);
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
    for (const note of notes) recordIngestNote(this.s, this.store, note);
    this.save();
    await this.scheduleAlarm();
    return this.gateState();
  }

  /** Starts a manual purge of every per-ticker key and the index; runs its first slice now. */
  async purgeAll(): Promise<PurgeResult> {
    const now = Date.now();
    const tickerCount = this.store.tickerCount();
    clearIndex(this.s, this.store, now);
    this.purges.replaceJob({
      reason: 'manual',
      keepVersion: null,
      runAfter: now,
      tickerCount,
      migrations: this.s.job?.migrations ?? [],
    });
    const epoch = this.s.job!.epoch;
    await this.purges.runSlice();
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
      const kv = this.kv('alarm');
      await flushIndex(this.flushSource(), kv);
      await this.purges.runSlice(kv);
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

  /**
   * The live state and primitives the purge runner and the operator's version changes use (`s` is
   * read on every use: `load()` replaces the object).
   */
  private host(): VersionHost {
    const self = this;
    return {
      get s() {
        return self.s;
      },
      get purges() {
        return self.purges;
      },
      config: this.config,
      store: this.store,
      kv: (scope) => this.kv(scope),
      save: () => this.save(),
      scheduleAlarm: () => this.scheduleAlarm(),
      gateState: () => this.gateState(),
    };
  }

  private flushSource(): FlushSource {
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
