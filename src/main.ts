// Entry point: `node src/main.ts` runs the outpost, `node src/main.ts healthcheck` probes it.
// First, so that a Node.js below package.json's engines stops with a message before the rest runs.
import './node-check.mjs';
import { exitWith, run } from './cli.ts';

// The listeners load only when the outpost starts, not for each healthcheck.
exitWith(run(process.argv.slice(2), async () => (await import('./listeners.ts')).PLUGINS));
