import {
  abortAllDurableObjects,
  createExecutionContext,
  reset,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { WebhookPayloadInput } from '@timed/schema';
import { vi } from 'vitest';
import type { CoordinatorStatus } from '../src/coordinator/types.js';
import type { VersionCoordinator } from '../src/coordinator/version-coordinator.js';
import worker from '../src/index.js';
import { COORDINATOR_NAME } from '../src/ingest/coordinator-client.js';
import { resetIngestNotes } from '../src/ingest/ingest-notes.js';
import { resetVersionCache } from '../src/ingest/version-gate.js';
import { type KvOpRecord, setKvObserver } from '../src/kv/kv-store.js';

export const API_KEY = 'test-api-key-0123456789';
export const BASE = 'https://ingest.test';

const pending = new Set<Promise<unknown>>();

/** Sends a request through the Worker's fetch handler (real workerd, real bindings). */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return callWith({}, path, init);
}

/** Like `call`, with some variables of the environment replaced. */
export async function callWith(
  overrides: Partial<Record<keyof typeof env, unknown>>,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, init) as Request<
    unknown,
    IncomingRequestCfProperties
  >;
  const res = await worker.fetch(request, { ...env, ...overrides } as typeof env, ctx);
  // waitOnExecutionContext drains the context's task list, so it is called exactly once.
  const background: Promise<unknown> = waitOnExecutionContext(ctx)
    .catch(() => undefined)
    .finally(() => pending.delete(background));
  pending.add(background);
  return res;
}

/** Waits for every background task (waitUntil) of requests made so far. */
export async function settle(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
}

/** A valid alert of the score engine. */
export function alert(
  ticker: string,
  version: string,
  extra: Partial<WebhookPayloadInput> = {},
): WebhookPayloadInput {
  return {
    script_version: version,
    ticker,
    ts: 1_704_067_200_000,
    exchange: 'NASDAQ',
    interval: '5',
    price: 190.25,
    htf_score: 12.5,
    ltf_score: -3.25,
    score: 9.25,
    state: 'Q1',
    momentum: { elite: true, score: 71, rank: 4 },
    ...extra,
  };
}

/** POSTs an alert (as TradingView does: JSON body, key in the query string). */
export function ingest(
  body: unknown,
  options: { key?: string | null; contentType?: string } = {},
): Promise<Response> {
  const key = options.key === undefined ? API_KEY : options.key;
  const qs = key === null ? '' : `?key=${encodeURIComponent(key)}`;
  return call(`/timed/ingest${qs}`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** GET helper returning status and parsed JSON. */
export async function getJson<T = Record<string, unknown>>(
  path: string,
): Promise<{ status: number; body: T }> {
  const res = await call(path);
  return { status: res.status, body: (await res.json()) as T };
}

/** The coordinator Durable Object. */
export function coordinator(): DurableObjectStub<VersionCoordinator> {
  return env.VERSION_COORDINATOR.getByName(
    COORDINATOR_NAME,
  ) as DurableObjectStub<VersionCoordinator>;
}

/** The coordinator's status (what health and version report). */
export async function status(): Promise<CoordinatorStatus> {
  return (await coordinator().status()) as CoordinatorStatus;
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until no purge runs and the index/version copies in KV are written. */
export async function waitForQuiet(timeoutMs = 120_000): Promise<CoordinatorStatus> {
  await settle();
  return waitFor(
    async () => {
      const s = await status();
      return s.purge === null ? s : null;
    },
    'the purge to finish',
    timeoutMs,
  );
}

/** Starts a test from empty KV and coordinator storage, a cold version cache, no observer. */
export async function freshStart(): Promise<void> {
  await settle();
  setKvObserver(undefined);
  await reset();
  // A Durable Object instance can outlive the deletion of its storage: drop it too.
  await abortAllDurableObjects();
  resetVersionCache();
  resetIngestNotes();
  await clearReceived();
}

/** Every key (with metadata) under a prefix, read straight from the binding. */
export async function listAll(
  prefix: string,
): Promise<{ name: string; metadata?: unknown; expiration?: number }[]> {
  const out: { name: string; metadata?: unknown; expiration?: number }[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await env.TIMED_KV.list({ prefix, ...(cursor ? { cursor } : {}) });
    out.push(...page.keys);
    if (page.list_complete) return out;
    cursor = page.cursor;
  }
}

/** Records every KV operation; optionally refuses a same-key write within 1 s like KV does. */
export class KvRecorder {
  readonly ops: KvOpRecord[] = [];
  private readonly lastWrite = new Map<string, number>();
  rejected = 0;

  constructor(private readonly emulateRateLimit = false) {}

  /** Installs the recorder as the KV observer. */
  install(): this {
    setKvObserver((op) => this.observe(op));
    return this;
  }

  private observe(op: KvOpRecord): void {
    if (op.kind === 'put' || op.kind === 'delete') {
      const last = this.lastWrite.get(op.key);
      if (this.emulateRateLimit && last !== undefined && op.atMs - last < 1_000) {
        this.rejected++;
        throw new Error(`KV PUT failed: 429 Too Many Requests (${op.key})`);
      }
      this.lastWrite.set(op.key, op.atMs);
    }
    this.ops.push(op);
  }

  /** Writes (puts and deletes). */
  writes(): KvOpRecord[] {
    return this.ops.filter((o) => o.kind === 'put' || o.kind === 'delete');
  }

  /** The most writes any single key received within any 1,000 ms window. */
  maxWritesPerKeyPerSecond(): { key: string; count: number } {
    const byKey = new Map<string, number[]>();
    for (const w of this.writes()) {
      const list = byKey.get(w.key) ?? [];
      list.push(w.atMs);
      byKey.set(w.key, list);
    }
    let worst = { key: '', count: 0 };
    for (const [key, times] of byKey) {
      times.sort((a, b) => a - b);
      let lo = 0;
      for (let hi = 0; hi < times.length; hi++) {
        while (times[hi]! - times[lo]! >= 1_000) lo++;
        if (hi - lo + 1 > worst.count) worst = { key, count: hi - lo + 1 };
      }
    }
    return worst;
  }

  /** KV operations per invocation scope (e.g. `alarm#3`). */
  opsByScope(): Map<string, number> {
    const m = new Map<string, number>();
    for (const o of this.ops) m.set(o.scope, (m.get(o.scope) ?? 0) + 1);
    return m;
  }
}

/** The Discord receiver's base URL (derived from the configured webhook URL). */
function receiverBase(): string {
  return new URL(env.DISCORD_WEBHOOK_URL ?? 'http://127.0.0.1:9').origin;
}

/** Requests the local Discord receiver got. */
export async function received(): Promise<
  { path: string; contentType?: string; body: unknown; answeredStatus: number }[]
> {
  return (await (await fetch(`${receiverBase()}/received`)).json()) as never;
}

/** Forgets what the receiver got. */
export async function clearReceived(): Promise<void> {
  await (await fetch(`${receiverBase()}/received`, { method: 'DELETE' })).arrayBuffer();
}

/** Makes the receiver hold the next `n` notices open without ever answering. */
export async function hangNextNotices(n: number): Promise<void> {
  await (
    await fetch(`${receiverBase()}/control`, {
      method: 'POST',
      body: JSON.stringify({ hangNext: n }),
    })
  ).arrayBuffer();
}

/** Makes the receiver answer the next `n` notices with an error status. */
export async function failNextNotices(n: number, statusCode = 500): Promise<void> {
  await (
    await fetch(`${receiverBase()}/control`, {
      method: 'POST',
      body: JSON.stringify({ failNext: n, status: statusCode }),
    })
  ).arrayBuffer();
}

/** One JSON line the Worker or the coordinator logged. */
export interface LogLine {
  level: string;
  event: string;
  [field: string]: unknown;
}

/**
 * Captures what the Worker and the coordinator write to the console (both run in this workerd
 * isolate): every raw line, and the JSON ones parsed. `restore()` puts the console back.
 */
export function captureLogs() {
  const raw: string[] = [];
  const spies = (['log', 'info', 'warn', 'error'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      raw.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    }),
  );
  const events = (): LogLine[] =>
    raw.flatMap((line) => {
      try {
        const value = JSON.parse(line) as LogLine;
        return typeof value?.event === 'string' ? [value] : [];
      } catch {
        return [];
      }
    });
  return {
    raw,
    events,
    /** The parsed lines of one event. */
    of: (event: string) => events().filter((e) => e.event === event),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
