// Entry point: `node src/main.ts` runs the outpost, `node src/main.ts healthcheck` probes it.
import { exitWith, run } from './cli.ts';
import { PLUGINS } from './listeners.ts';

exitWith(run(process.argv.slice(2), PLUGINS));
