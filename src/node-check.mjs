// Plain JavaScript on purpose: a Node.js older than 22.18 cannot load a `.ts` file at all and
// dies with ERR_UNKNOWN_FILE_EXTENSION before any of our code runs. Loaded first (by
// src/launch.mjs, the npm scripts' entry, and as the first import of src/main.ts and
// src/demo/main.ts, for Node 22.18, which loads `.ts` but is below undici 8's floor), this says
// which Node.js the outpost needs (package.json's `engines`) and exits 1.
// Only syntax and APIs that old Node versions have.
import { readFileSync } from 'node:fs';

/**
 * Why `version` (as in `process.versions.node`) does not satisfy `range`, or undefined when it
 * does. Only the `>=X`, `>=X.Y` and `>=X.Y.Z` forms are understood: engines uses no other.
 */
export function unmetNodeRequirement(version, range) {
  const want = /^>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!want) throw new Error(`package.json engines.node: expected >=X.Y.Z, got "${range}"`);
  const have = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!have) throw new Error(`cannot read the Node.js version "${version}"`);
  for (let i = 1; i <= 3; i++) {
    const h = Number(have[i]);
    const w = Number(want[i] ?? 0);
    if (h > w) return undefined;
    if (h < w) return `Node.js ${want.slice(1).filter((p) => p !== undefined).join('.')} or newer is required (package.json engines.node "${range}"); this is Node.js ${have.slice(1).join('.')}`;
  }
  return undefined;
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const problem = unmetNodeRequirement(process.versions.node, pkg.engines.node);
if (problem !== undefined) {
  process.stderr.write(`authentik outpost: ${problem} (${process.execPath}). Install Node.js 24 (see .node-version) or run the container image.\n`);
  process.exit(1);
}
