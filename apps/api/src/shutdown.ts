import type { FastifyBaseLogger } from 'fastify';

/**
 * On SIGTERM/SIGINT: run `steps` in order (stop accepting, finish in-flight requests, close the
 * pool, stop Postgres), then exit 0; exit 1 when a step fails or the whole takes over `timeoutMs`.
 */
export function installGracefulShutdown(options: {
  log: FastifyBaseLogger;
  timeoutMs: number;
  steps: { name: string; run: () => Promise<unknown> }[];
}): void {
  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    options.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      options.log.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, options.timeoutMs);
    timer.unref();
    let code = 0;
    for (const step of options.steps) {
      try {
        await step.run();
      } catch (err) {
        code = 1;
        options.log.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    options.log.info({ code }, 'stopped');
    process.exit(code);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
