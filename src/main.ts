// Entry point. `node src/main.ts` runs the outpost; `node src/main.ts healthcheck` probes it.
import { ConfigError, loadConfig, parseListenFromEnv } from './config/index.ts';
import { healthcheck } from './healthcheck.ts';
import { PLUGINS } from './listeners.ts';
import { createRootLogger, named } from './log.ts';
import { Runtime } from './runtime.ts';
import { installSignalHandlers } from './signals.ts';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'healthcheck') {
    let addr;
    try {
      addr = parseListenFromEnv('metrics');
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      return 1;
    }
    return (await healthcheck(addr)) ? 0 : 1;
  }
  if (argv[0] !== undefined && argv[0] !== 'start') {
    process.stderr.write(`unknown command "${argv[0]}"; use no argument to run the outpost, or "healthcheck"\n`);
    return 2;
  }

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`authentik outpost: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createRootLogger({ level: config.logLevel });
  const runtime = new Runtime({ config, plugins: PLUGINS, logger });
  installSignalHandlers(runtime, logger);
  try {
    await runtime.start();
  } catch (err) {
    named(logger, 'runtime').fatal({ error: (err as Error).message }, 'cannot start the outpost');
    await runtime.shutdown();
    return 1;
  }
  if (runtime.agents.every((a) => a.state.phase === 'skipped')) {
    named(logger, 'runtime').fatal('no outpost can be served by this build (see the lines above); exiting');
    await runtime.shutdown();
    return 1;
  }
  return new Promise<number>(() => {
    // Runs until a signal handler exits the process.
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`authentik outpost: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
