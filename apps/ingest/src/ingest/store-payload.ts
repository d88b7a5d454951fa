import { compareSemver, isPatchOnlyChange, parseSemver, type WebhookPayload } from '@timed/schema';
import { KEYS, type ValueMeta } from '../kv/keys.js';
import type { KvStore } from '../kv/kv-store.js';
import { lastState, placeInTrail, readTrail, type TrailPoint, toTrailPoint } from './trail.js';

/** What `timed:prevstate:{TICKER}` holds. */
export interface PrevState {
  state: string;
  previous: string | null;
  since: number;
}

/** A state change detected on this payload. */
export interface Transition {
  from: string | null;
  to: string;
}

/** What storing one payload did. */
export interface StoreOutcome {
  /** The same alert was already stored: nothing written. */
  duplicate: boolean;
  /** Older than the newest stored point: only the trail was updated. */
  late: boolean;
  transition: Transition | null;
}

export interface StoreInput {
  payload: WebhookPayload;
  /** Data version the values are tagged with (the payload's script_version). */
  version: string;
  /** First write of this ticker since a purge began: ignore and replace its old values. */
  fresh: boolean;
  receivedAt: number;
  trailLength: number;
  /** After a skipped migration: trails tagged with this version or newer are continued too. */
  keepFrom?: string | null;
}

/** True when a trail tagged `trailVersion` is continued by a payload of `version`. */
export function continuesTrail(
  trailVersion: string,
  version: string,
  keepFrom: string | null | undefined,
): boolean {
  if (isPatchOnlyChange(trailVersion, version)) return true;
  // A skip kept the older model's data as current: its trails go on under the new version.
  return (
    keepFrom != null &&
    parseSemver(trailVersion) !== undefined &&
    compareSemver(trailVersion, keepFrom) >= 0 &&
    compareSemver(trailVersion, version) <= 0
  );
}

/**
 * Writes one alert: latest, trail, momentum (when present and changed) and prevstate (when the
 * state changed), each tagged with its data version. Reads only the trail (1 KV read) and writes
 * at most 4 keys; a typical alert writes 2 (latest and trail).
 */
export async function storePayload(kv: KvStore, input: StoreInput): Promise<StoreOutcome> {
  const { payload, version, fresh, receivedAt } = input;
  const ticker = payload.ticker;
  const meta: ValueMeta = { v: version, ts: payload.ts };

  let trail: TrailPoint[] = [];
  if (!fresh) {
    const stored = await kv.getJson<unknown>(KEYS.trail(ticker));
    // A trail of another scoring model (different MAJOR.MINOR) is not continued, unless skipped.
    if (stored.meta && continuesTrail(stored.meta.v, version, input.keepFrom)) {
      trail = readTrail(stored.value);
    }
  }
  const previous = lastState(trail);
  const point = toTrailPoint(payload, receivedAt);
  const previousMomentum = trail.at(-1)?.m;
  const placed = placeInTrail(trail, point, input.trailLength);
  if (placed.kind === 'duplicate') return { duplicate: true, late: false, transition: null };
  if (placed.kind === 'insert') {
    await kv.put(KEYS.trail(ticker), JSON.stringify(placed.trail), { meta });
    return { duplicate: false, late: true, transition: null };
  }

  const writes: Promise<void>[] = [
    kv.put(KEYS.latest(ticker), JSON.stringify({ ...payload, ingestedAt: receivedAt }), { meta }),
    kv.put(KEYS.trail(ticker), JSON.stringify(placed.trail), { meta }),
  ];
  // Momentum data changes slowly: rewrite it only when it differs from the previous alert's.
  if (payload.momentum && (fresh || trail.length === 0 || point.m !== previousMomentum)) {
    const value = { ticker, since: payload.ts, ...payload.momentum };
    writes.push(kv.put(KEYS.momentum(ticker), JSON.stringify(value), { meta }));
  } else if (fresh && !payload.momentum) {
    writes.push(kv.delete(KEYS.momentum(ticker)));
  }
  let transition: Transition | null = null;
  if (payload.state !== undefined && payload.state !== previous) {
    transition = { from: previous ?? null, to: payload.state };
    const value: PrevState = {
      state: payload.state,
      previous: previous ?? null,
      since: payload.ts,
    };
    writes.push(kv.put(KEYS.prevstate(ticker), JSON.stringify(value), { meta }));
  } else if (fresh && payload.state === undefined) {
    writes.push(kv.delete(KEYS.prevstate(ticker)));
  }
  await Promise.all(writes);
  return { duplicate: false, late: false, transition };
}
