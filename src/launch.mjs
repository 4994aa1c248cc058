// The npm scripts' entry: `node src/launch.mjs src/main.ts [args]` checks the Node.js version
// in plain JavaScript (node-check.mjs), then runs the script as `node src/main.ts [args]` would.
// A Node.js too old for `.ts` files thus says which version it needs instead of crashing.
import './node-check.mjs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const script = process.argv[2];
if (script === undefined) {
  process.stderr.write('usage: node src/launch.mjs <script.ts> [arguments]\n');
  process.exit(2);
}
// The script sees the argv it would see when started directly.
const path = resolve(script);
process.argv.splice(1, 2, path);
await import(pathToFileURL(path).href);
