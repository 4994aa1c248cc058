// The command line: run the outpost, or probe it (`healthcheck`). Separate from main.ts so that
// tests can run the real entry point with a listener of their own.
import type { ListenerSource } from './agent/listener.ts';
import { ConfigError, loadConfig, parseListenFromEnv } from './config/index.ts';
import { healthcheck } from './healthcheck.ts';

/** The listeners, or a function that loads them: the healthcheck never needs them. */
export type Plugins = readonly ListenerSource[] | (() => Promise<readonly ListenerSource[]>);

/** Resolves with the exit code for commands that end; runs until a signal otherwise. */
export async function run(argv: readonly string[], plugins: Plugins): Promise<number> {
  if (argv[0] === 'healthcheck') {
    // Silent when healthy; otherwise one line on stderr, which Docker keeps in its health log.
    try {
      const health = await healthcheck(parseListenFromEnv('metrics'));
      if (health.ok) return 0;
      process.stderr.write(`healthcheck: ${health.reason}\n`);
    } catch (err) {
      process.stderr.write(`healthcheck: ${(err as Error).message}\n`);
    }
    return 1;
  }
  if (argv[0] !== undefined && argv[0] !== 'start') {
    process.stderr.write(`unknown command "${argv[0]}"; run without arguments to start the outpost, or with "healthcheck"\n`);
    return 2;
  }

  let config;
  const warnings: [Record<string, string>, string][] = [];
  try {
    config = loadConfig({ onWarning: (event, fields) => warnings.push([fields, event]) });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`authentik outpost: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  // AUTHENTIK_WORKERS > 1: this process becomes the primary (src/cluster/primary.ts) and forks
  // the workers, which run this same function and serve below. With 1, no cluster at all.
  let workerId: number | undefined;
  if (config.workers.count > 1) {
    const cluster = (await import('node:cluster')).default;
    if (cluster.isPrimary) {
      const [{ createRootLogger, named }, { runPrimary }] = await Promise.all([import('./log.ts'), import('./cluster/primary.ts')]);
      const logger = createRootLogger({ level: config.logLevel });
      for (const [fields, event] of warnings) named(logger, 'config').warn(fields, event);
      return runPrimary(config, logger);
    }
    workerId = cluster.worker?.id;
  }
  // Loaded only to serve: Docker runs the healthcheck every few seconds, and loading the serving
  // code more than doubles the time a start takes.
  const [{ createRootLogger, named }, { Runtime }, { installSignalHandlers }, listeners, worker] = await Promise.all([
    import('./log.ts'),
    import('./runtime.ts'),
    import('./signals.ts'),
    typeof plugins === 'function' ? plugins() : plugins,
    workerId === undefined ? undefined : import('./cluster/worker.ts'),
  ]);
  const root = createRootLogger({ level: config.logLevel, batch: workerId === undefined });
  // A worker's lines say which one (the primary logs each worker's pid).
  const logger = worker ? root.child({ worker: workerId }) : root;
  const log = named(logger, 'runtime');
  // The primary logged the configuration's warnings once.
  if (!worker) for (const [fields, event] of warnings) named(logger, 'config').warn(fields, event);
  const runtime = new Runtime({ config, plugins: listeners, logger, metricsServer: !worker });
  installSignalHandlers(runtime, logger, undefined, { worker: worker !== undefined });
  worker?.serveThePrimary(runtime);
  // A worker that cannot start tells the primary not to restart it (it would fail again).
  const cannotStart = worker ? worker.EXIT_CANNOT_START : 1;
  // A bug must not take every listener down silently: log it in one line. A rejected promise
  // nobody awaited is logged and served on; a thrown exception leaves state unknown, so exit.
  process.on('unhandledRejection', (err) => log.error({ error: String(err) }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => {
    log.fatal({ error: err.stack ?? String(err) }, 'uncaught exception; exiting');
    logger.flush();
    process.exit(1);
  });
  try {
    await runtime.start();
  } catch (err) {
    log.fatal({ error: (err as Error).message }, 'cannot start the outpost');
    await runtime.shutdown();
    return cannotStart;
  }
  if (runtime.agents.every((a) => a.state.phase === 'skipped')) {
    log.fatal('no outpost can be served by this build (see the lines above); exiting');
    await runtime.shutdown();
    return cannotStart;
  }
  return new Promise<number>(() => {
    // Serves until a signal handler exits the process.
  });
}

export function exitWith(code: Promise<number>): void {
  code.then(
    (c) => process.exit(c),
    (err: unknown) => {
      process.stderr.write(`authentik outpost: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
