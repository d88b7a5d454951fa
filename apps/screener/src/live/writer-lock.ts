import pg from 'pg';
import type { Logger } from 'pino';
import { LockHeldError, type LockHolder } from '../errors.js';

/** Options of WriterLock.acquire. */
export interface WriterLockOptions {
  url: string;
  dataset: string;
  /** This process's instance id (also its heartbeat row's key). */
  instanceId: string;
  logger: Logger;
  /** Called when the lock was lost and another screener took it meanwhile. */
  onTakenOver: (err: LockHeldError) => void;
  /** Delay between re-acquisition attempts after the connection dropped (default 1 s). */
  retryMs?: number;
}

/**
 * The advisory-lock name of a dataset; hashed to a bigint key by Postgres. One per dataset, not
 * per schema: trades and mbp-1 daemons write the same price_bars rows (the upsert replaces every
 * column), so two of them side by side would overwrite each other's bars.
 */
export function lockName(dataset: string): string {
  return `timed-screener/${dataset}`;
}

/**
 * The single-writer lock per dataset: a session-level Postgres advisory lock held on a
 * dedicated connection for the life of the process. If the connection drops (Postgres restarted),
 * the lock is gone with it: `held` turns false (the writer pauses) and the lock is re-acquired as
 * soon as Postgres answers; if another screener got it first, `onTakenOver` is called.
 */
export class WriterLock {
  private client: pg.Client | undefined;
  private heldNow = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  /** Times the lock's connection was lost (each is an error in the heartbeat row). */
  losses = 0;
  /** When the lock's connection was last lost. */
  lastLossAt: Date | undefined;

  private constructor(private readonly opts: WriterLockOptions) {}

  /** Takes the lock or throws LockHeldError naming the holder (host, pid, since). */
  static async acquire(opts: WriterLockOptions): Promise<WriterLock> {
    const lock = new WriterLock(opts);
    await lock.attempt(true);
    return lock;
  }

  /** True while this process holds the lock. */
  get held(): boolean {
    return this.heldNow;
  }

  /** Releases the lock and closes its connection. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.heldNow = false;
    if (!client) return;
    try {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.name]);
    } catch {
      // Closing the session releases it anyway.
    }
    await client.end().catch(() => {});
  }

  private get name(): string {
    return lockName(this.opts.dataset);
  }

  private async attempt(first: boolean): Promise<void> {
    const client = new pg.Client({
      connectionString: this.opts.url,
      application_name: `timed-screener:${this.opts.instanceId}`,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    client.on('error', () => this.lost(client));
    await client.connect();
    let got = false;
    try {
      const r = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        [this.name],
      );
      got = r.rows[0]?.ok === true;
      if (!got) {
        const holder = await findHolder(client, this.name, this.opts.dataset, this.opts.instanceId);
        throw new LockHeldError(describeHeld(this.opts.dataset, holder), holder);
      }
    } finally {
      if (!got) await client.end().catch(() => {});
    }
    client.on('end', () => this.lost(client));
    this.client = client;
    this.heldNow = true;
    if (!first) this.opts.logger.info({ lock: this.name }, 'single-writer lock re-acquired');
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    this.heldNow = false;
    this.losses++;
    this.lastLossAt = new Date();
    client.end().catch(() => {});
    this.opts.logger.warn(
      { lock: this.name },
      'lost the connection holding the single-writer lock; writes paused until it is re-acquired',
    );
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.attempt(false).catch((err: unknown) => {
        if (this.stopped) return;
        if (err instanceof LockHeldError) {
          this.stopped = true;
          this.opts.onTakenOver(err);
          return;
        }
        this.scheduleRetry();
      });
    }, this.opts.retryMs ?? 1_000);
  }
}

/** "another screener is already writing EQUS.MINI trades bars: host H, pid P, since T". */
function describeHeld(dataset: string, h: LockHolder | undefined): string {
  const who = h?.host
    ? `host ${h.host}, pid ${h.pid ?? '?'}, since ${h.since?.toISOString() ?? '?'}`
    : `unknown process (Postgres backend pid ${h?.backendPid ?? '?'})`;
  const what = h?.schema ? `${dataset} ${h.schema} bars` : `${dataset} bars`;
  return `another screener is already writing ${what}: ${who} (one writer per dataset, whatever the schema)`;
}

/** Finds who holds the lock: the lock's backend -> its application_name -> its heartbeat row. */
async function findHolder(
  client: pg.Client,
  name: string,
  dataset: string,
  /** The asking process's instance id: its own heartbeat row never names the holder. */
  self: string,
): Promise<LockHolder | undefined> {
  const locks = await client.query<{ pid: number; app: string | null; since: Date | null }>(
    `WITH k AS (SELECT hashtextextended($1, 0) AS key)
     SELECT a.pid, a.application_name AS app, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid, k
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = ((k.key >> 32) & 4294967295)
        AND l.objid::bigint = (k.key & 4294967295)`,
    [name],
  );
  const lock = locks.rows[0];
  const instanceId = lock?.app?.startsWith('timed-screener:')
    ? lock.app.slice('timed-screener:'.length)
    : undefined;
  // A backend that is not a screener holds it: no heartbeat row describes it.
  if (lock && instanceId === undefined) {
    return { backendPid: lock.pid, since: lock.since ?? undefined };
  }
  const rows = await client.query<{
    instance_id: string;
    host: string;
    pid: number;
    schema: string;
    started_at: Date;
    last_seen: Date;
  }>(
    `SELECT instance_id, host, pid, schema, started_at, last_seen FROM screener_instances
      WHERE ($1::text IS NOT NULL AND instance_id = $1)
         OR ($1::text IS NULL AND dataset = $2 AND stopped_at IS NULL AND instance_id <> $3)
      ORDER BY last_seen DESC LIMIT 1`,
    [instanceId ?? null, dataset, self],
  );
  const row = rows.rows[0];
  if (row) {
    return {
      instanceId: row.instance_id,
      host: row.host,
      pid: row.pid,
      schema: row.schema,
      since: row.started_at,
      lastSeen: row.last_seen,
      backendPid: lock?.pid,
    };
  }
  if (lock) return { instanceId, backendPid: lock.pid, since: lock.since ?? undefined };
  return undefined;
}
