import { HttpError } from '@timed/schema/errors';
import type {
  AdmitResult,
  CoordinatorStatus,
  GateState,
  IngestNote,
  PurgeResult,
  VersionChangeResult,
  VersionRequest,
} from '../coordinator/types.js';
import type { VersionCoordinator } from '../coordinator/version-coordinator.js';

/** Name of the one coordinator instance. */
export const COORDINATOR_NAME = 'timed-data-version';

/** The Worker's side of the coordinator: typed RPC calls, failures as 503 HttpErrors. */
export class CoordinatorClient {
  private stubCache: DurableObjectStub<VersionCoordinator> | undefined;

  constructor(private readonly ns: DurableObjectNamespace) {}

  private get stub(): DurableObjectStub<VersionCoordinator> {
    // The binding's class is VersionCoordinator (wrangler.toml); env.ts leaves it untyped.
    this.stubCache ??= this.ns.getByName(COORDINATOR_NAME) as DurableObjectStub<VersionCoordinator>;
    return this.stubCache;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new HttpError(
        503,
        'COORDINATOR_UNAVAILABLE',
        `data version coordinator failed (${what})`,
        undefined,
        {
          cause,
        },
      );
    }
  }

  /** Decides (and applies) what a payload of `incoming` version for `ticker` means. */
  admit(incoming: string, ticker: string): Promise<AdmitResult> {
    return this.call('admit', async () => (await this.stub.admit(incoming, ticker)) as AdmitResult);
  }

  /** The current version state. */
  state(): Promise<GateState> {
    return this.call('state', async () => (await this.stub.state()) as GateState);
  }

  /** Reports handled payloads; answers with the current version state. */
  recordIngests(notes: IngestNote[]): Promise<GateState> {
    return this.call(
      'recordIngests',
      async () => (await this.stub.recordIngests(notes)) as GateState,
    );
  }

  /** Starts a manual purge. */
  purgeAll(): Promise<PurgeResult> {
    return this.call('purgeAll', async () => (await this.stub.purgeAll()) as PurgeResult);
  }

  /** An operator's skip, migration or rollback (`POST /timed/version`). */
  changeVersion(req: VersionRequest): Promise<VersionChangeResult> {
    return this.call(
      'changeVersion',
      async () => (await this.stub.changeVersion(req)) as VersionChangeResult,
    );
  }

  /** What health and version report. */
  status(): Promise<CoordinatorStatus> {
    return this.call('status', async () => (await this.stub.status()) as CoordinatorStatus);
  }
}
