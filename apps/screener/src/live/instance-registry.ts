import type { Db } from '@timed/db';
import type { Logger } from 'pino';

/** Who this screener process is (its heartbeat row's identity). */
export interface InstanceInfo {
  instanceId: string;
  host: string;
  pid: number;
  dataset: string;
  schema: string;
}

/** Counters reported with each heartbeat. */
export interface InstanceCounters {
  tradesSeen: number;
  barsWritten: number;
  errors: number;
  lastError?: string | undefined;
  lastErrorAt?: Date | undefined;
}

/**
 * The `screener_instances` heartbeat row of this process: inserted at start, updated every few
 * seconds (last_seen + counters), stopped_at set on a clean exit. The API counts a screener alive
 * while stopped_at IS NULL and last_seen is recent. A failed beat (Postgres down) is logged once
 * per outage and retried at the next interval.
 */
export class InstanceRegistry {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private beating: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    readonly info: InstanceInfo,
    private readonly logger: Logger,
  ) {}

  /**
   * Inserts this process's row and marks rows of the same dataset (any schema) that were never
   * stopped as stopped at their last heartbeat: this process holds the dataset's lock, so they
   * are dead. One live row per dataset, as there is one writer.
   */
  async register(): Promise<void> {
    const { instanceId, host, pid, dataset, schema } = this.info;
    await this.db.transaction().execute(async (tx) => {
      const stale = await tx
        .updateTable('screener_instances')
        .set((eb) => ({ stopped_at: eb.ref('last_seen') }))
        .where('dataset', '=', dataset)
        .where('stopped_at', 'is', null)
        .where('instance_id', '<>', instanceId)
        .executeTakeFirst();
      if (Number(stale.numUpdatedRows) > 0) {
        this.logger.info(
          { rows: Number(stale.numUpdatedRows) },
          'marked heartbeat rows of dead screeners as stopped',
        );
      }
      await tx
        .insertInto('screener_instances')
        .values({ instance_id: instanceId, host, pid, dataset, schema })
        .execute();
    });
  }

  /** Writes one heartbeat. */
  async beat(c: InstanceCounters): Promise<void> {
    await this.db
      .updateTable('screener_instances')
      .set({
        last_seen: new Date(),
        trades_seen: c.tradesSeen,
        bars_written: c.barsWritten,
        errors: c.errors,
        last_error: c.lastError ?? null,
        last_error_at: c.lastErrorAt ?? null,
      })
      .where('instance_id', '=', this.info.instanceId)
      .execute();
  }

  /** Beats every `intervalMs` with the counters `read` returns. */
  start(intervalMs: number, read: () => InstanceCounters): void {
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = this.beat(read())
        .then(() => {
          if (this.failing) this.logger.info('heartbeat row updated again');
          this.failing = false;
        })
        .catch((err: unknown) => {
          if (!this.failing) {
            this.logger.warn({ err: (err as Error).message }, 'heartbeat update failed; retrying');
          }
          this.failing = true;
        })
        .finally(() => {
          this.beating = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops beating and marks the row stopped with the final counters (best effort). */
  async stop(c: InstanceCounters): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await this.db
      .updateTable('screener_instances')
      .set({
        last_seen: new Date(),
        stopped_at: new Date(),
        trades_seen: c.tradesSeen,
        bars_written: c.barsWritten,
        errors: c.errors,
        last_error: c.lastError ?? null,
        last_error_at: c.lastErrorAt ?? null,
      })
      .where('instance_id', '=', this.info.instanceId)
      .execute();
  }
}
