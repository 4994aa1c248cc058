// SIGTERM/SIGINT: graceful shutdown then exit 0; SIGUSR1: refresh now, as authentik does.
// In a worker process (AUTHENTIK_WORKERS > 1) SIGINT is ignored: Ctrl-C reaches the whole
// process group, and the primary relays it as SIGTERM (a second stop signal would exit 1).
import type { Logger } from './log.ts';
import { named } from './log.ts';

export interface Stoppable {
  shutdown(): Promise<void>;
  refreshAll(reason: string): Promise<unknown>;
}

export function installSignalHandlers(target: Stoppable, logger: Logger, extraShutdown: () => Promise<void> = async () => {}, opts: { worker?: boolean } = {}): void {
  const log = named(logger, 'signals');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'received signal, shutting down');
    target
      .shutdown()
      .then(extraShutdown)
      .then(
        () => {
          logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ error: String(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (opts.worker) process.on('SIGINT', () => {});
  else process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR1', () => {
    log.info('SIGUSR1 received, refreshing');
    void target.refreshAll('signal');
  });
}
