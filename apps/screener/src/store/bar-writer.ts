import { type BarInput, barProblem } from '@timed/schema';
import type { Logger } from 'pino';

/** Options of BarWriter. */
export interface BarWriterOptions {
  /** Writes one batch (upsertBars bound to a database); returns rows written. */
  write: (bars: BarInput[]) => Promise<number>;
  logger: Logger;
  /** Most bars per write (default 10,000: one upsert statement). */
  batchSize?: number;
  /** Most closed bars held while Postgres is unreachable (default 500,000). */
  maxBuffered?: number;
  /** Fraction of maxBuffered at which a warning is logged (default 0.8). */
  warnRatio?: number;
  /** Retry backoff bounds in ms (default 250 .. 5,000). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** False while writing is not allowed (e.g. the single-writer lock is being re-acquired). */
  canWrite?: () => boolean;
  /**
   * Batches in flight at once (default 1, which keeps write order: a bar re-emitted later always
   * wins). More only for sources that emit each bar once (replay, backfill).
   */
  concurrency?: number;
  /**
   * Told a minute marked with markClosed(minute) is written: every bar queued before the mark is
   * committed (live state's closed-minute doorbell). Needs concurrency 1 (write order).
   */
  onClosedWritten?: (minute: number) => void;
}

/** Counters of the writer. */
export interface BarWriterStats {
  barsWritten: number;
  batches: number;
  failures: number;
  /** Bars refused because the buffer was full (see droppedFromMinute). */
  dropped: number;
  /** Invalid bars discarded (never expected: the aggregator builds valid bars). */
  invalid: number;
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
}

/**
 * Writes closed bars in batches through `write`, one batch in flight at a time (so a bar written
 * again later always wins). While Postgres is unreachable it keeps the bars (bounded), retries
 * with backoff and logs once when the outage starts, when the buffer nears its bound and when it
 * recovers. Bars refused at the bound are remembered by minute so a replay can rebuild them.
 */
export class BarWriter {
  readonly stats: BarWriterStats = {
    barsWritten: 0,
    batches: 0,
    failures: 0,
    dropped: 0,
    invalid: 0,
    lastError: undefined,
    lastErrorAt: undefined,
  };
  /** Oldest epoch minute of a bar refused at the bound, until clearDropped(). */
  droppedFromMinute: number | undefined;
  private readonly opts: Required<Omit<BarWriterOptions, 'canWrite' | 'onClosedWritten'>> & {
    canWrite: () => boolean;
  };
  private readonly onClosedWritten: ((minute: number) => void) | undefined;
  /** Bars ever queued, and ever settled (written or discarded): markClosed() marks wait on these. */
  private queuedTotal = 0;
  private settledTotal = 0;
  private readonly marks: { minute: number; through: number }[] = [];
  private readonly log: Logger;
  private queue: BarInput[][] = [];
  private head = 0;
  private count = 0;
  private running = 0;
  private warned = false;
  private outageSince: number | undefined;
  private waiters: Array<() => void> = [];
  private readonly wakes = new Set<() => void>();
  private closed = false;

  constructor(options: BarWriterOptions) {
    this.opts = {
      batchSize: 10_000,
      maxBuffered: 500_000,
      warnRatio: 0.8,
      retryMinMs: 250,
      retryMaxMs: 5_000,
      canWrite: () => true,
      concurrency: 1,
      ...options,
    };
    this.log = options.logger;
    this.onClosedWritten = options.onClosedWritten;
  }

  /** Closed bars waiting to be written. */
  get buffered(): number {
    return this.count;
  }

  /** True while writes fail (since the first failure, until one succeeds). */
  get inOutage(): boolean {
    return this.outageSince !== undefined;
  }

  /** Queues closed bars of `minute`; refuses (and remembers) them when the buffer is full. */
  enqueue(bars: BarInput[], minute: number): void {
    if (bars.length === 0) return;
    const { maxBuffered, warnRatio } = this.opts;
    if (this.count + bars.length > maxBuffered) {
      if (this.droppedFromMinute === undefined) {
        this.log.error(
          { buffered: this.count, maxBuffered, minute: new Date(minute * 60_000).toISOString() },
          'write buffer full: refusing bars from this minute on; they will be rebuilt by replay once Postgres is back',
        );
      }
      this.stats.dropped += bars.length;
      if (this.droppedFromMinute === undefined || minute < this.droppedFromMinute) {
        this.droppedFromMinute = minute;
      }
      return;
    }
    this.queue.push(bars);
    this.count += bars.length;
    this.queuedTotal += bars.length;
    if (!this.warned && this.count >= maxBuffered * warnRatio) {
      this.warned = true;
      this.log.warn(
        { buffered: this.count, maxBuffered, outageMs: this.outageMs() },
        `write buffer at ${Math.round((this.count / maxBuffered) * 100)}% of its bound while Postgres is unreachable; bars beyond ${maxBuffered} will be refused`,
      );
    }
    this.pump();
  }

  /**
   * Marks `minute` closed: onClosedWritten(minute) follows once every bar queued so far is
   * written (at once when nothing is waiting). Not while bars are refused (they are missing).
   */
  markClosed(minute: number): void {
    if (this.onClosedWritten === undefined || this.droppedFromMinute !== undefined) return;
    this.marks.push({ minute, through: this.queuedTotal });
    this.settleMarks();
  }

  private settleMarks(): void {
    let k = 0;
    while (k < this.marks.length && this.marks[k]!.through <= this.settledTotal) k++;
    if (k === 0) return;
    const done = this.marks.splice(0, k);
    // Only the newest matters: the doorbell says "every minute through this one".
    this.onClosedWritten?.(done[done.length - 1]!.minute);
  }

  /** Forgets dropped bars (after a replay rebuilt them). */
  clearDropped(): void {
    this.droppedFromMinute = undefined;
  }

  /** Resolves once the buffer holds at most `limit` bars (backpressure for finite sources). */
  async waitForRoom(limit = this.opts.batchSize * 4): Promise<void> {
    while (this.count > limit) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Resolves true once every queued bar is written, false if `timeoutMs` passes first. */
  async drain(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.count > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        this.waiters.push(() => {
          if (timer) clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Stops retrying (queued bars stay unwritten). */
  close(): void {
    this.closed = true;
    for (const w of [...this.wakes]) w();
  }

  private outageMs(): number {
    return this.outageSince === undefined ? 0 : Date.now() - this.outageSince;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Takes the next batch off the queue (its bars stay counted until written). */
  private take(): BarInput[] {
    const { batchSize } = this.opts;
    const out: BarInput[] = [];
    while (this.head < this.queue.length && out.length < batchSize) {
      const chunk = this.queue[this.head]!;
      if (out.length === 0 && chunk.length <= batchSize) {
        this.head++;
        this.compact();
        return chunk;
      }
      const room = batchSize - out.length;
      if (chunk.length <= room) {
        for (const b of chunk) out.push(b);
        this.head++;
      } else {
        for (let i = 0; i < room; i++) out.push(chunk[i]!);
        this.queue[this.head] = chunk.slice(room);
      }
    }
    this.compact();
    return out;
  }

  private compact(): void {
    if (this.head > 1024 || this.head === this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Puts a batch back at the front of the queue (after a failed write). */
  private putBack(batch: BarInput[]): void {
    this.queue.splice(this.head, 0, batch);
  }

  private pump(): void {
    while (!this.closed && this.running < this.opts.concurrency && this.head < this.queue.length) {
      this.running++;
      void this.run().finally(() => {
        this.running--;
        this.notify();
      });
    }
  }

  private async run(): Promise<void> {
    let delay = this.opts.retryMinMs;
    while (this.head < this.queue.length && !this.closed) {
      if (!this.opts.canWrite()) {
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
        continue;
      }
      const batch = this.take();
      try {
        await this.opts.write(batch);
        this.succeeded(batch.length);
        delay = this.opts.retryMinMs;
      } catch (err) {
        if (isInvalidBar(err) && this.discardInvalid(batch, err)) continue;
        this.putBack(batch);
        this.failed(err);
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
      }
    }
  }

  private succeeded(n: number): void {
    this.count -= n;
    this.settledTotal += n;
    this.stats.barsWritten += n;
    this.stats.batches++;
    if (this.outageSince !== undefined) {
      this.log.info(
        { outageMs: this.outageMs(), buffered: this.count, written: n },
        'Postgres reachable again; writing buffered bars',
      );
      this.outageSince = undefined;
    }
    if (this.count < this.opts.maxBuffered * this.opts.warnRatio * 0.5) this.warned = false;
    this.log.debug({ bars: n, buffered: this.count }, 'flushed bars');
    this.settleMarks();
    this.notify();
  }

  private failed(err: unknown): void {
    this.stats.failures++;
    const message = err instanceof Error ? err.message : String(err);
    this.stats.lastError = message;
    this.stats.lastErrorAt = new Date();
    if (this.outageSince === undefined) {
      this.outageSince = Date.now();
      this.log.warn(
        { err: message, buffered: this.count },
        'writing bars failed; keeping them and retrying',
      );
    }
  }

  /** Drops the invalid bars of a batch; false when none is (then it is an ordinary failure). */
  private discardInvalid(batch: BarInput[], err: unknown): boolean {
    // Never expected; without this one bad bar would block the writer forever.
    const bad = new Set(batch.filter((b) => barProblem(b) !== undefined));
    if (bad.size === 0) return false;
    this.stats.invalid += bad.size;
    this.log.error({ err: (err as Error).message, invalid: bad.size }, 'discarding invalid bars');
    this.count -= bad.size;
    this.settledTotal += bad.size;
    const good = batch.filter((b) => !bad.has(b));
    if (good.length > 0) this.putBack(good);
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.wakes.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.wakes.add(wake);
    });
  }
}

function isInvalidBar(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'INVALID_BAR';
}
