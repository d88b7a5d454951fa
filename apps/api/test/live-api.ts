import type { Db } from '@timed/db';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { LiveHub, type LiveHubOptions } from '../src/live-hub.js';
import { until } from './sse.js';

/** An API with live routes over `url`, listening on 127.0.0.1, its hub synced with the table. */
export interface LiveApi {
  app: FastifyInstance;
  hub: LiveHub;
  base: string;
  close(): Promise<void>;
}

export async function startLiveApi(
  db: Db,
  url: string,
  options: Partial<LiveHubOptions> = {},
): Promise<LiveApi> {
  const hub = new LiveHub({ db, url, reconnectMinMs: 20, ...options });
  await hub.start();
  await until(() => hub.stats.listenerConnected, 'the hub to listen');
  const app = await buildApp({ db, live: hub, rateLimit: false });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    hub,
    base,
    close: async () => {
      await app.close();
      await hub.close();
    },
  };
}
