import { compareSemver } from '@timed/schema';
import { KEYS, type ValueMeta } from '../kv/keys.js';
import { errorText, logEvent } from '../log.js';
import { archiveOf } from './archive.js';
import { judgeHandSetVersion, planVersionRequest } from './operator-version.js';
import type { PurgeRunner, PurgeRunnerHost } from './purge-runner.js';
import type { GateState, VersionChange, VersionChangeResult, VersionRequest } from './types.js';
import { clearIndex, setVersion } from './version-state.js';

/** Shortest gap between two reads of `timed:data_version` (looking for a hand-set value). */
const MIN_KV_CHECK_MS = 1_000;

/** What the operator's version changes need from the coordinator (its state and primitives). */
export interface VersionHost extends PurgeRunnerHost {
  gateState(): GateState;
  /** Starts the purges a migration or rollback needs. */
  readonly purges: PurgeRunner;
}

/**
 * An operator's changes of S, for the coordinator: the seed's skip (a hand-set
 * `timed:data_version`, noticed by reading KV at most once per version-cache window, and at once
 * before S would change) and `POST /timed/version` (skip, migrate, roll back).
 */
export class VersionChanges {
  /** When `timed:data_version` was last read, and the read in flight (shared by callers). */
  private checkedAt = 0;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly h: VersionHost) {}

  /** Looks for a hand-set `timed:data_version` in the background, at most once per window. */
  watch(): void {
    void this.check(this.everyMs());
  }

  /** The same check, awaited when the last one is older than the window. */
  checkIfDue(): Promise<void> {
    return this.check(this.everyMs());
  }

  private everyMs(): number {
    return Math.max(this.h.config.versionCacheMs, MIN_KV_CHECK_MS);
  }

  /**
   * Reads `timed:data_version` unless it was read less than `maxAgeMs` ago, and adopts a value the
   * coordinator did not write (see `judgeHandSetVersion`). Concurrent callers share one read.
   */
  check(maxAgeMs: number): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (maxAgeMs > 0 && Date.now() - this.checkedAt < maxAgeMs) return Promise.resolve();
    const startedAt = Date.now();
    const run = async () => {
      try {
        const read = await this.h.kv('version-check').getText(KEYS.dataVersion);
        this.checkedAt = startedAt;
        this.applyHandSet(read.value, read.meta, Date.now());
      } catch (error) {
        // S stays as it is; the next check tries again.
        logEvent('error', 'version_check_failed', { error: errorText(error) });
      } finally {
        this.inFlight = undefined;
      }
    };
    this.inFlight = run();
    return this.inFlight;
  }

  private applyHandSet(value: string | null, meta: ValueMeta | null, now: number): void {
    const s = this.h.s;
    const j = judgeHandSetVersion(value, meta, { stored: s.version, kvSeen: s.kvSeen });
    if (j.kind === 'ignore') return;
    s.kvSeen = j.to;
    if (j.kind === 'adopt') {
      this.skipTo(j.to, 'kv', now);
    } else {
      this.note({
        kind: 'refused',
        via: 'kv',
        from: s.version,
        to: j.to,
        purge: false,
        reason: j.reason,
        atMs: now,
      });
    }
    this.h.save();
    void this.h.scheduleAlarm().catch(() => undefined);
  }

  /** Moves S forward without purging; the old version's data stays and is served. */
  private skipTo(to: string, via: VersionChange['via'], now: number): void {
    const s = this.h.s;
    const from = s.version;
    if (from !== null) s.keepFrom ??= from;
    setVersion(s, to);
    this.note({ kind: 'skip', via, from, to, purge: false, atMs: now });
  }

  /**
   * `POST /timed/version`: an operator sets S. Forward without purging is the seed's skip;
   * forward with `purge: true` migrates; back needs `rollback: true` and archives the current
   * version's data before anything changes, then purges it unless `purge: false`.
   */
  async change(req: VersionRequest): Promise<VersionChangeResult> {
    // A hand-set value read after this call would silently override the operator's request.
    await this.check(0);
    const h = this.h;
    const from = h.s.version;
    const plan = planVersionRequest(req, from, h.s.job !== null);
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
      setVersion(h.s, to);
      this.note({ kind: 'initialize', via: 'route', from, to, purge: false, atMs: now });
    } else if (plan.kind === 'skip') {
      this.skipTo(to, 'route', now);
    } else if (plan.kind === 'migrate') {
      archiveKey = h.purges.startMigration(from!, to, now)?.archiveKey;
      this.note({ kind: 'migrate', via: 'route', from, to, purge: true, archiveKey, atMs: now });
    }
    h.save();
    await h.scheduleAlarm();
    return {
      ok: true,
      action: plan.kind,
      from,
      to,
      purge: plan.purge,
      ...(archiveKey ? { archiveKey } : {}),
      state: h.gateState(),
    };
  }

  /** Archives the data of S, then sets S = `to` (< S) and, when asked, purges what is newer. */
  private async rollBack(from: string, to: string, purge: boolean): Promise<VersionChangeResult> {
    const h = this.h;
    const now = Date.now();
    const { archiveKey, archive } = archiveOf(h.store, from, now);
    logEvent('info', 'rollback_started', { from, to, purge, archiveKey });
    try {
      await h.kv('rollback').put(archiveKey, JSON.stringify(archive), {
        meta: { v: from },
        expirationTtl: h.config.archiveTtlSeconds,
      });
    } catch (error) {
      logEvent('error', 'rollback_failed', { from, to, archiveKey, error: errorText(error) });
      return {
        ok: false,
        status: 503,
        code: 'ARCHIVE_FAILED',
        message: `could not write the archive ${archiveKey}; nothing was rolled back, try again`,
      };
    }
    // The archive write let other calls in: roll back only what was archived.
    const s = h.s;
    if (s.version !== from || s.job !== null) {
      logEvent('warn', 'rollback_failed', { from, to, archiveKey, error: 'version changed' });
      return {
        ok: false,
        status: 409,
        code: 'VERSION_CHANGED',
        message: `the data version changed from ${from} while archiving; nothing was rolled back, try again`,
      };
    }
    // setVersion() refuses to move S back: this is the one place that may.
    s.version = to;
    s.flush.versionGen++;
    s.mismatch = null;
    if (s.keepFrom !== null && compareSemver(s.keepFrom, to) >= 0) s.keepFrom = null;
    if (purge) {
      const tickerCount = h.store.tickerCount();
      clearIndex(s, h.store, now);
      h.purges.replaceJob({
        reason: 'rollback',
        keepVersion: null,
        dropAbove: to,
        runAfter: h.purges.purgeAfter(now),
        tickerCount,
        migrations: [],
      });
    }
    this.note({ kind: 'rollback', via: 'route', from, to, purge, archiveKey, atMs: now });
    h.save();
    await h.scheduleAlarm();
    return { ok: true, action: 'rollback', from, to, purge, archiveKey, state: h.gateState() };
  }

  private note(change: VersionChange): void {
    this.h.s.lastVersionChange = change;
    const { kind, ...fields } = change;
    logEvent(kind === 'refused' ? 'warn' : 'info', `version_${kind}`, fields);
  }
}
