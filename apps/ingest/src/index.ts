import { ConfigError, type RawEnv, readEnv } from './env.js';
import { errorResponse, HttpError } from './http/errors.js';
import { CoordinatorClient } from './ingest/coordinator-client.js';
import { VersionGate } from './ingest/version-gate.js';
import { KvRateLimitError, KvStore } from './kv/kv-store.js';
import { errorText, logEvent } from './log.js';
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
      return toErrorResponse(error, request, url);
    }
  },
} satisfies ExportedHandler<RawEnv>;

function toErrorResponse(error: unknown, request: Request, url: URL): Response {
  if (error instanceof HttpError) {
    if (error.status >= 500) logError(error, request, url);
    else {
      logEvent('info', 'request_refused', {
        method: request.method,
        path: url.pathname,
        status: error.status,
        code: error.code,
      });
    }
    return errorResponse(error);
  }
  logError(error, request, url);
  if (error instanceof ConfigError) {
    return errorResponse(new HttpError(500, error.code, error.message, error.details));
  }
  if (error instanceof KvRateLimitError) {
    return errorResponse(
      new HttpError(503, error.code, 'KV is rate-limiting this key; try again in a second', {
        key: error.key,
      }),
    );
  }
  // Unexpected: the log has the error, the answer nothing of it.
  return errorResponse(new HttpError(500, 'internal', 'internal error'));
}

/** Logs a failed request by method and path: never the query string, which holds the key. */
function logError(error: unknown, request: Request, url: URL): void {
  logEvent('error', 'request_failed', {
    method: request.method,
    path: url.pathname,
    error: errorText(error),
    code: (error as { code?: unknown } | null)?.code,
  });
}
