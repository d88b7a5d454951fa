import type { WebhookPayload } from '@timed/schema';

/** One compact point of `timed:trail:{TICKER}`. */
export interface TrailPoint {
  ts: number;
  price?: number;
  score?: number;
  htf_score?: number;
  ltf_score?: number;
  state?: string;
  elite?: boolean;
  /** The momentum data as stored (JSON), to write timed:momentum only when it changes. */
  m?: string;
  /** When the Worker stored it (epoch ms). */
  at: number;
}

/** The trail point a payload contributes. */
export function toTrailPoint(p: WebhookPayload, at: number): TrailPoint {
  const point: TrailPoint = { ts: p.ts, at };
  if (p.price !== undefined) point.price = p.price;
  if (p.score !== undefined) point.score = p.score;
  if (p.htf_score !== undefined) point.htf_score = p.htf_score;
  if (p.ltf_score !== undefined) point.ltf_score = p.ltf_score;
  if (p.state !== undefined) point.state = p.state;
  if (p.momentum !== undefined) {
    point.elite = p.momentum.elite;
    point.m = JSON.stringify(p.momentum);
  }
  return point;
}

/** True when two points carry the same alert (TradingView can deliver one twice). */
export function samePoint(a: TrailPoint, b: TrailPoint): boolean {
  return (
    a.ts === b.ts &&
    a.price === b.price &&
    a.score === b.score &&
    a.htf_score === b.htf_score &&
    a.ltf_score === b.ltf_score &&
    a.state === b.state &&
    a.m === b.m
  );
}

/** Keeps only well-formed points from a stored trail (older Workers may have stored other shapes). */
export function readTrail(value: unknown): TrailPoint[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (p): p is TrailPoint =>
      typeof p === 'object' && p !== null && Number.isFinite((p as TrailPoint).ts),
  );
}

/** Where a point goes in a trail ordered by `ts`. */
export type TrailPlacement =
  | { kind: 'duplicate' }
  | { kind: 'append'; trail: TrailPoint[] }
  | { kind: 'insert'; trail: TrailPoint[] };

/**
 * Adds a point to a trail ordered by event time, bounded to `max` points: appended when it is the
 * newest, inserted in order when it arrived late, ignored when the same alert is already there.
 */
export function placeInTrail(trail: TrailPoint[], point: TrailPoint, max: number): TrailPlacement {
  if (trail.some((p) => samePoint(p, point))) return { kind: 'duplicate' };
  const last = trail.at(-1);
  if (!last || point.ts >= last.ts) return { kind: 'append', trail: [...trail, point].slice(-max) };
  const i = trail.findIndex((p) => p.ts > point.ts);
  const next = [...trail.slice(0, i), point, ...trail.slice(i)];
  return { kind: 'insert', trail: next.slice(-max) };
}

/** The most recent state in a trail, if any. */
export function lastState(trail: TrailPoint[]): string | undefined {
  for (let i = trail.length - 1; i >= 0; i--) {
    const s = trail[i]!.state;
    if (s !== undefined) return s;
  }
  return undefined;
}
