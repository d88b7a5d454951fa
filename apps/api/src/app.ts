import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Db } from '@timed/db';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { BarsPageCache } from './bars-cache.js';
import {
  clientErrorHandler,
  frameworkErrors,
  installErrorHandling,
  MAX_PARAM_LENGTH,
  methodNotAllowed,
} from './errors.js';
import { openApiTransform } from './json-schema.js';
import type { LiveHub } from './live-hub.js';
import { registerBars } from './routes/bars.js';
import { registerDashboard } from './routes/dashboard.js';
import { registerHealth } from './routes/health.js';
import { registerLeaderboard } from './routes/leaderboard.js';
import { registerLive } from './routes/live.js';
import { registerMigrationStatus } from './routes/migration-status.js';
import { registerStream } from './routes/stream.js';

/** Collaborators and settings of the API. */
export interface AppOptions {
  db: Db;
  /** A pino logger (request logs); default: none. */
  logger?: FastifyBaseLogger;
  /** Allowed origins: true (any), a list, or false (no CORS headers). Default true. */
  corsOrigin?: true | string[] | false;
  /** Per-IP request budget; false or max 0 turns it off. */
  rateLimit?: { max: number; timeWindowMs: number } | false;
  /** Folder of the built dashboard (default: `public/` beside the bundle, else `dist/public`). */
  publicDir?: string;
  trustProxy?: boolean;
  /** Seconds a 503 asks clients to wait (default 5). */
  retryAfterSeconds?: number;
  /** Micro-cache of identical bar queries, in ms (default 0: off). */
  barsCacheTtlMs?: number;
  /** Live state (GET /live, /leaderboard, /stream); those routes exist only when given. */
  live?: LiveHub;
}

/** Where the built dashboard lives relative to this module, in a bundle or in the sources. */
export function defaultPublicDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, 'public'), join(here, '../dist/public')].find((d) =>
    existsSync(join(d, 'index.html')),
  );
}

/** Builds the Fastify app (routes, docs, CORS, rate limit, errors); the caller listens and closes. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    trustProxy: options.trustProxy ?? false,
    // Closing waits for in-flight requests, and drops idle keep-alive sockets right away.
    forceCloseConnections: 'idle',
    // Errors found while routing and HTTP parser errors use the one error shape too.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  installErrorHandling(app, { retryAfterSeconds });
  const methods = methodNotAllowed(app);
  // A request still in flight when closing starts is answered with `Connection: close`: its
  // keep-alive socket would otherwise hold the close open until the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  const corsOrigin = options.corsOrigin ?? true;
  if (corsOrigin !== false) {
    await app.register(fastifyCors, {
      origin: corsOrigin === true ? '*' : corsOrigin,
      methods: ['GET', 'HEAD', 'OPTIONS'],
      exposedHeaders: ['x-next-cursor', 'retry-after'],
    });
  }
  const limit = options.rateLimit;
  if (limit && limit.max > 0) {
    await app.register(fastifyRateLimit, {
      global: true,
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      errorResponseBuilder: (_request, context) =>
        Object.assign(
          new Error(`rate limit of ${context.max} requests exceeded; retry in ${context.after}`),
          { statusCode: 429 },
        ),
    });
  }

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'timed API',
        description: '1-minute bars built from Databento trades, and the MBP-1 -> TRADES migration',
        version: '0.1.0',
      },
      tags: [{ name: 'bars' }, { name: 'operations' }],
    },
    transform: openApiTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  registerBars(app, {
    db: options.db,
    cache: new BarsPageCache({ ttlMs: options.barsCacheTtlMs ?? 0 }),
  });
  registerHealth(app, { db: options.db, retryAfterSeconds, live: options.live });
  registerMigrationStatus(app, { db: options.db, live: options.live });
  if (options.live) {
    registerLive(app, { hub: options.live });
    registerLeaderboard(app, { hub: options.live });
    registerStream(app, { hub: options.live });
  }
  await registerDashboard(app, { publicDir: options.publicDir ?? defaultPublicDir() });
  methods.finish();
  return app;
}
