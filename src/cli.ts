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
  // Loaded only to serve: Docker runs the healthcheck every few seconds, and loading the serving
  // code more than doubles the time a start takes.
  const [{ createRootLogger, named }, { Runtime }, { installSignalHandlers }, listeners] = await Promise.all([
    import('./log.ts'),
    import('./runtime.ts'),
    import('./signals.ts'),
    typeof plugins === 'function' ? plugins() : plugins,
  ]);
  const logger = createRootLogger({ level: config.logLevel });
  const log = named(logger, 'runtime');
  const configLog = named(logger, 'config');
  for (const [fields, event] of warnings) configLog.warn(fields, event);
  const runtime = new Runtime({ config, plugins: listeners, logger });
  installSignalHandlers(runtime, logger);
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
    return 1;
  }
  if (runtime.agents.every((a) => a.state.phase === 'skipped')) {
    log.fatal('no outpost can be served by this build (see the lines above); exiting');
    await runtime.shutdown();
    return 1;
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
