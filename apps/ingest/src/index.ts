import { type RawEnv, readEnv } from './env.js';
import { errorResponseFor } from './http/errors.js';
import { CoordinatorClient } from './ingest/coordinator-client.js';
import { VersionGate } from './ingest/version-gate.js';
import { KvStore } from './kv/kv-store.js';
import { Router } from './router.js';
import { registerAll } from './routes/all.js';
import { registerHealth } from './routes/health.js';
import { registerIngest } from './routes/ingest.js';
import { registerLatest } from './routes/latest.js';
import { registerPing } from './routes/ping.js';
import { registerPurge } from './routes/purge.js';
import { registerVersion } from './routes/version.js';

export { VersionCoordinator } from './coordinator/version-coordinator.js';

const router = new Router();
registerIngest(router);
registerVersion(router);
registerPurge(router);
registerHealth(router);
registerLatest(router);
registerAll(router);
registerPing(router);

let requests = 0;

export default {
  async fetch(request, rawEnv, exec): Promise<Response> {
    const url = new URL(request.url);
    try {
      const handler = router.match(request.method, url.pathname);
      const env = readEnv(rawEnv);
      const coordinator = new CoordinatorClient(env.coordinator);
      return await handler({
        request,
        url,
        env,
        exec,
        kv: new KvStore(env.kv, `fetch#${++requests}`),
        coordinator,
        gate: new VersionGate(coordinator, env.versionCacheMs),
      });
    } catch (error) {
      return errorResponseFor(error, request, url);
    }
  },
} satisfies ExportedHandler<RawEnv>;
