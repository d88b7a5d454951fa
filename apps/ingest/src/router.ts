import { HttpError } from '@timed/schema/errors';
import type { AppEnv } from './env.js';
import type { CoordinatorClient } from './ingest/coordinator-client.js';
import type { VersionGate } from './ingest/version-gate.js';
import type { KvStore } from './kv/kv-store.js';

/** What a route handler gets: the request, the validated env and the per-request services. */
export interface RouteContext {
  request: Request;
  url: URL;
  env: AppEnv;
  exec: ExecutionContext;
  /** KV for this request (counts its operations). */
  kv: KvStore;
  /** The Durable Object that owns the data version, migrations, purges and the ticker index. */
  coordinator: CoordinatorClient;
  /** Isolate-wide cached view of the data version. */
  gate: VersionGate;
}

export type Handler = (c: RouteContext) => Promise<Response> | Response;

/** A tiny exact-path router: 404 for unknown paths, 405 (with Allow) for unknown methods. */
export class Router {
  private readonly routes = new Map<string, Map<string, Handler>>();

  /** Registers a handler for one method and path. */
  on(method: string, path: string, handler: Handler): this {
    let byMethod = this.routes.get(path);
    if (!byMethod) {
      byMethod = new Map();
      this.routes.set(path, byMethod);
    }
    byMethod.set(method.toUpperCase(), handler);
    return this;
  }

  /** Finds the handler for a request or throws the matching 404/405 HttpError. */
  match(method: string, pathname: string): Handler {
    const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
    const byMethod = this.routes.get(path);
    if (!byMethod) throw new HttpError(404, 'NOT_FOUND', `no route for ${path}`);
    const handler = byMethod.get(method.toUpperCase());
    if (handler) return handler;
    if (method.toUpperCase() === 'HEAD') {
      const get = byMethod.get('GET');
      if (get) return get;
    }
    const allow = [...byMethod.keys()];
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, {
      allow,
    });
  }
}
