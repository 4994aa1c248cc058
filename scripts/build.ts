// The production build: the outpost's sources bundled by esbuild into plain JavaScript under
// `dist/` (or `--outdir`), one file per lazily loaded piece (each listener is its own chunk, so
// a RADIUS-only outpost never loads the LDAP or proxy code). Why a bundle: Node then neither
// strips types nor resolves hundreds of module files at start, and the process holds about
// 55 MB less at rest (see README, "Memory"). Identifiers are kept (readable stack traces);
// linked source maps sit beside the chunks for `NODE_OPTIONS=--enable-source-maps`.
// Usage: node scripts/build.ts [--outdir dist] [--metafile path]
import { build, type Metafile, type Plugin } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(new URL('..', import.meta.url).pathname);

/**
 * Optional packages that dependencies load in a try/catch when installed (native speed-ups of
 * ws and pg, the colour detection of ioredis's `debug`): left out, and absent from the image.
 */
export const OPTIONAL_EXTERNALS: readonly string[] = ['bufferutil', 'utf-8-validate', 'pg-native', 'supports-color'];

/**
 * Node's `http` module has lazy getters (`WebSocket`, `CloseEvent`, `MessageEvent`) that load
 * Node's own copy of undici. An ESM import of `node:http` reads every export, so it loads that
 * copy (about 10 MB at rest) for nothing; through require() the getters stay untouched.
 */
const httpThroughRequire: Plugin = {
  name: 'http-through-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.namespace === 'require-builtin' ? { path: 'node:http', external: true } : { path: 'node:http', namespace: 'require-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'require-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

export interface BuildResult {
  readonly outdir: string;
  readonly metafile: Metafile;
}

/** Build the outpost's entry (src/main.ts) into `outdir`, emptied first. */
export async function buildOutpost(outdir: string): Promise<BuildResult> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'src/main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    charset: 'ascii',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    external: [...OPTIONAL_EXTERNALS],
    plugins: [httpThroughRequire],
    // CommonJS packages (pino, prom-client, ioredis, …) call require() for Node's modules.
    banner: { js: "import { createRequire as __outpostRequire } from 'node:module'; const require = __outpostRequire(import.meta.url);" },
  });
  return { outdir, metafile: result.metafile };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' }, metafile: { type: 'string' } } });
  const { outdir, metafile } = await buildOutpost(resolve(ROOT, values.outdir));
  if (values.metafile) writeFileSync(values.metafile, JSON.stringify(metafile));
  const bytes = Object.entries(metafile.outputs).filter(([f]) => f.endsWith('.js')).reduce((n, [, o]) => n + o.bytes, 0);
  process.stdout.write(`built ${outdir}: ${Object.keys(metafile.outputs).filter((f) => f.endsWith('.js')).length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB\n`);
}
