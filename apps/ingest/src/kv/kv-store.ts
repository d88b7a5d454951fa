import { TimedError } from '@timed/schema/errors';
import { logEvent } from '../log.js';
import { asValueMeta, type ValueMeta } from './keys.js';

/** One KV operation as seen by an observer. */
export interface KvOpRecord {
  kind: 'get' | 'put' | 'delete' | 'list';
  /** Key (or list prefix). For a bulk get, one record per key. */
  key: string;
  atMs: number;
  /** Which invocation did it (e.g. `ingest#12`, `alarm#3`): groups ops per invocation. */
  scope: string;
}

/**
 * Sees every KV operation before it runs; may throw to emulate a platform error (tests use it
 * to count operations per key and to reproduce KV's 429 on a second write to a key within 1 s).
 */
export type KvObserver = (op: KvOpRecord) => void;

let observer: KvObserver | undefined;

/** Installs (or removes) the process-wide KV observer. */
export function setKvObserver(next: KvObserver | undefined): void {
  observer = next;
}

/** A stored value with its version metadata. */
export interface Versioned<T> {
  value: T;
  meta: ValueMeta | null;
}

/** A listed key with its version metadata. */
export interface ListedKey {
  name: string;
  meta: ValueMeta | null;
}

/** Thrown when an invocation would exceed its KV operation budget (KV allows 1,000). */
export class KvBudgetError extends TimedError<'KV_BUDGET_EXCEEDED'> {
  override readonly name = 'KvBudgetError';
  constructor(
    message: string,
    override readonly context: { scope: string; budget: number },
  ) {
    super('KV_BUDGET_EXCEEDED', message, context);
  }
}

/** KV answered 429 to a write and to its retry a second later. */
export class KvRateLimitError extends TimedError<'KV_RATE_LIMITED'> {
  override readonly name = 'KvRateLimitError';
  constructor(
    message: string,
    override readonly context: { key: string },
    options?: { cause?: unknown },
  ) {
    super('KV_RATE_LIMITED', message, context, options);
  }

  get key(): string {
    return this.context.key;
  }
}

const RATE_LIMITED = /\b429\b|too many requests/i;
/** Largest number of keys one bulk get may carry. */
export const BULK_GET_MAX = 100;

/** True when KV refused a write because the key was written less than a second ago. */
export function isRateLimited(error: unknown): boolean {
  return error instanceof Error && RATE_LIMITED.test(error.message);
}

/**
 * The Workers KV namespace behind a small interface: JSON values with version metadata, operation
 * counters (per invocation, for the 1,000-operation budget and the benchmark), and one retry after
 * a second when KV answers 429 to a same-key write.
 */
export class KvStore {
  reads = 0;
  writes = 0;
  lists = 0;

  constructor(
    private readonly kv: KVNamespace,
    readonly scope: string,
    private readonly options: { budget?: number; retryDelayMs?: number } = {},
  ) {}

  /** Operations so far (reads + writes + lists). */
  get ops(): number {
    return this.reads + this.writes + this.lists;
  }

  private count(kind: KvOpRecord['kind'], key: string): void {
    const budget = this.options.budget;
    if (budget !== undefined && this.ops >= budget)
      throw new KvBudgetError(`KV operation budget of ${budget} exceeded in ${this.scope}`, {
        scope: this.scope,
        budget,
      });
    observer?.({ kind, key, atMs: Date.now(), scope: this.scope });
    if (kind === 'get') this.reads++;
    else if (kind === 'list') this.lists++;
    else this.writes++;
  }

  /** Reads a JSON value with its metadata; null value when absent. */
  async getJson<T>(key: string): Promise<Versioned<T | null>> {
    this.count('get', key);
    const r = await this.kv.getWithMetadata<T>(key, 'json');
    return { value: r.value, meta: asValueMeta(r.metadata) };
  }

  /** Reads a text value with its metadata; null value when absent. */
  async getText(key: string): Promise<Versioned<string | null>> {
    this.count('get', key);
    const r = await this.kv.getWithMetadata(key, 'text');
    return { value: r.value, meta: asValueMeta(r.metadata) };
  }

  /** Reads up to BULK_GET_MAX JSON values in one operation. */
  async getManyJson<T>(keys: string[]): Promise<Map<string, Versioned<T | null>>> {
    if (keys.length === 0) return new Map();
    if (keys.length > BULK_GET_MAX)
      throw new RangeError(`at most ${BULK_GET_MAX} keys per bulk get`);
    this.count('get', keys[0]!);
    const r = await this.kv.getWithMetadata<T>(keys, 'json');
    const out = new Map<string, Versioned<T | null>>();
    for (const key of keys) {
      const hit = r.get(key);
      out.set(key, { value: hit?.value ?? null, meta: asValueMeta(hit?.metadata) });
    }
    return out;
  }

  /** Writes a value with its version metadata; retries once after a second on a 429. */
  async put(
    key: string,
    value: string,
    options: { meta: ValueMeta; expirationTtl?: number },
  ): Promise<void> {
    const put = () => {
      this.count('put', key);
      return this.kv.put(key, value, {
        metadata: options.meta,
        ...(options.expirationTtl ? { expirationTtl: options.expirationTtl } : {}),
      });
    };
    try {
      await put();
    } catch (error) {
      if (!isRateLimited(error)) throw error;
      const retryInMs = this.options.retryDelayMs ?? 1_050;
      logEvent('warn', 'kv_rate_limited', { key, scope: this.scope, retryInMs });
      await sleep(retryInMs);
      try {
        await put();
      } catch (again) {
        throw isRateLimited(again)
          ? new KvRateLimitError(
              `KV refused the write to ${key} twice (429 Too Many Requests)`,
              { key },
              { cause: again },
            )
          : again;
      }
    }
  }

  /** Deletes a key (a write, for KV's limits). */
  async delete(key: string): Promise<void> {
    this.count('delete', key);
    await this.kv.delete(key);
  }

  /** One page of keys under a prefix with their metadata. */
  async list(
    prefix: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ keys: ListedKey[]; cursor: string | undefined; complete: boolean }> {
    this.count('list', prefix);
    const page = await this.kv.list<unknown>({ prefix, limit, ...(cursor ? { cursor } : {}) });
    return {
      keys: page.keys.map((k) => ({ name: k.name, meta: asValueMeta(k.metadata) })),
      cursor: page.list_complete ? undefined : page.cursor,
      complete: page.list_complete,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
