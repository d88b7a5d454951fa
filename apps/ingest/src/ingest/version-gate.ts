import { compareSemver } from '@timed/schema';
import type { AdmitAction, AdmitResult, GateState } from '../coordinator/types.js';
import type { CoordinatorClient } from './coordinator-client.js';

/** The isolate's copy of the coordinator's version state and when it was asked for. */
interface CachedState {
  state: GateState;
  at: number;
}

// One per isolate: shared by all requests the isolate serves (plain data, no I/O objects).
let cached: CachedState | undefined;

/** Forgets the isolate's cached version state (tests start each case from nothing). */
export function resetVersionCache(): void {
  cached = undefined;
}

/** What an ingest must do. */
export type GateDecision =
  | {
      kind: 'write';
      action: AdmitAction;
      /** First write of the ticker since a purge began. */
      fresh: boolean;
      /** Set when this payload started a migration. */
      migration?: AdmitResult['migration'];
      /** True when the coordinator was asked (false: decided from the isolate's cache). */
      admitted: boolean;
      /** S as the decision saw it. */
      stored: string | null;
      /** After a skip: the oldest version whose trails are continued (GateState.keepFrom). */
      keepFrom: string | null;
    }
  | { kind: 'stale'; stored: string };

/**
 * Decides per payload between the fast path and an admission by the coordinator. The fast path
 * uses the isolate's cached S, trusted for `ttlMs` and only while no purge runs; it covers
 * P = S (ingest), P < S (stale: S never moves back, so a cached S is a lower bound) and the
 * "other P" mismatch. Anything that may change S, and every write during a purge, is admitted.
 */
export class VersionGate {
  constructor(
    private readonly coordinator: CoordinatorClient,
    private readonly ttlMs: number,
  ) {}

  /** Records a state the coordinator answered with, asked at `askedAt`. */
  remember(state: GateState, askedAt: number): void {
    if (!cached || askedAt >= cached.at) cached = { state, at: askedAt };
  }

  private fresh(now: number): GateState | undefined {
    return cached && now - cached.at < this.ttlMs ? cached.state : undefined;
  }

  /** The decision for one payload. */
  async decide(incoming: string, ticker: string): Promise<GateDecision> {
    const now = Date.now();
    const known = this.fresh(now);
    if (known && known.stored !== null) {
      const byStored = compareSemver(incoming, known.stored);
      if (byStored < 0) return { kind: 'stale', stored: known.stored };
      if (!known.purging) {
        const cachedWrite = { fresh: false, admitted: false, stored: known.stored } as const;
        const keepFrom = known.keepFrom ?? null;
        if (byStored === 0) return { kind: 'write', action: 'ingest', ...cachedWrite, keepFrom };
        if (compareSemver(incoming, known.expected) !== 0) {
          return { kind: 'write', action: 'mismatch', ...cachedWrite, keepFrom };
        }
      }
    }
    const result = await this.coordinator.admit(incoming, ticker);
    this.remember(result.state, now);
    if (result.action === 'stale') return { kind: 'stale', stored: result.state.stored ?? '' };
    return {
      kind: 'write',
      action: result.action,
      fresh: result.fresh,
      admitted: true,
      stored: result.state.stored,
      keepFrom: result.state.keepFrom ?? null,
      ...(result.migration ? { migration: result.migration } : {}),
    };
  }

  /** The version state for readers: cached when fresh, else asked. */
  async current(): Promise<GateState> {
    const now = Date.now();
    const known = this.fresh(now);
    if (known) return known;
    const state = await this.coordinator.state();
    this.remember(state, now);
    return state;
  }
}
