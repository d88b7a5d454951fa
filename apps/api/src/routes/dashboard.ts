import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../errors.js';

/**
 * The trader's dashboard at `/`: the page and its bundled script (lightweight-charts included)
 * from `publicDir`, which `pnpm build` fills. Only the files found at start are routes, so every
 * other path stays a JSON 404.
 */
export async function registerDashboard(
  app: FastifyInstance,
  deps: { publicDir: string | undefined },
): Promise<void> {
  const dir = deps.publicDir;
  if (!dir || !existsSync(join(dir, 'index.html'))) {
    app.log.warn({ publicDir: dir }, 'dashboard assets not found; run `pnpm build` to serve /');
    app.get('/', { schema: { hide: true } }, (_request, reply) =>
      reply
        .code(503)
        .send(
          errorBody(
            'DASHBOARD_NOT_BUILT',
            'dashboard assets are missing; run `pnpm --filter @timed/api build`',
          ),
        ),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: 'index.html',
    decorateReply: false,
    cacheControl: true,
    maxAge: 0,
  });
}
