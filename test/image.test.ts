// The container image: what the Dockerfile's entry points load must be in it. .dockerignore
// leaves out the development core, the demo and their seeds; this walks the imports from the
// ENTRYPOINT and HEALTHCHECK scripts (static, and dynamic with a literal specifier) and fails
// if any of them is left out, or needs a package that `npm ci --omit=dev` does not install.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBuiltin } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');

const SPECIFIERS = [
  // import x from '…', import { a } from '…', import type …, export … from '…' (over several lines)
  /^\s*(?:import|export)\s[^'";]*?\bfrom\s*(['"])([^'"]+)\1/gm,
  // import '…'
  /^\s*import\s*(['"])([^'"]+)\1/gm,
  // import('…')
  /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g,
];

/** Every file reached from `entries` (paths relative to the repository), and the packages named. */
function walk(entries: readonly string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const text = read(file);
    for (const re of SPECIFIERS) {
      for (const m of text.matchAll(re)) {
        const spec = m[2] ?? '';
        if (spec.startsWith('.')) queue.push(relative(ROOT, resolve(ROOT, dirname(file), spec)));
        else if (!isBuiltin(spec)) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
      }
    }
  }
  return { files, packages };
}

/** Scripts the image runs: the `.ts`/`.mjs` arguments of ENTRYPOINT and of HEALTHCHECK's CMD. */
function entryScripts(dockerfile: string): string[] {
  const out: string[] = [];
  for (const m of dockerfile.replaceAll('\\\n', ' ').matchAll(/^\s*(?:ENTRYPOINT|HEALTHCHECK\s.*?\bCMD)\s+(\[.*\])\s*$/gm)) {
    for (const arg of JSON.parse(m[1] ?? '[]') as string[]) if (/\.(?:ts|mjs|js)$/.test(arg)) out.push(arg);
  }
  return out;
}

/** .dockerignore's entries as predicates over repository paths (Docker matches an entry and everything below it). */
function ignored(): ((path: string) => boolean)[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim().replace(/^\/+|\/+$/g, ''))
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((pattern) => {
      const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(?:/|$)`);
      return (path: string) => re.test(path);
    });
}

/** The build-context paths the final stage copies (COPY without --from). */
function copied(dockerfile: string): string[] {
  const stages = dockerfile.split(/^FROM\s/m);
  const last = stages[stages.length - 1] ?? '';
  return [...last.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => (m[1] ?? '').trim().split(/\s+/).slice(0, -1).map((p) => p.replace(/^\.\/|\/$/g, '')));
}

describe('the container image', () => {
  const dockerfile = read('Dockerfile');
  const entries = entryScripts(dockerfile);
  const { files, packages } = walk(entries);

  it('runs src/main.ts for the outpost and for its healthcheck', () => {
    assert.deepEqual(entries, ['src/main.ts', 'src/main.ts']);
    // The walk follows imports: the version check, the command line and the listeners it loads on start.
    for (const f of ['src/node-check.mjs', 'src/cli.ts', 'src/healthcheck.ts', 'src/listeners.ts', 'src/runtime.ts']) assert.ok(files.has(f), f);
  });

  it('leaves out the development core, the demo and their seeds', () => {
    const out = ignored();
    for (const path of ['src/devcore/index.ts', 'src/demo/main.ts', 'config/demo.yaml', 'config/devcore-test.yaml']) {
      assert.ok(out.some((matches) => matches(path)), `${path} is not in .dockerignore`);
    }
    for (const path of ['src/main.ts', 'package.json', 'config/outpost.example.yml']) assert.ok(!out.some((matches) => matches(path)), path);
  });

  it('has every file src/main.ts loads: none is under src/devcore or src/demo, or left out', () => {
    const reached = [...files].sort();
    assert.deepEqual(reached.filter((f) => f.startsWith('src/devcore/') || f.startsWith('src/demo/')), []);
    const out = ignored();
    assert.deepEqual(reached.filter((f) => out.some((matches) => matches(f))), []);
    const sources = copied(dockerfile);
    assert.deepEqual(reached.filter((f) => !sources.some((s) => f === s || f.startsWith(`${s}/`))), [], `copied: ${sources.join(', ')}`);
    // node-check.mjs reads package.json for engines.
    assert.ok(sources.includes('package.json'));
  });

  it('reads none of the left-out seeds', () => {
    const seeds = ['demo.yaml', 'devcore-test.yaml'];
    assert.deepEqual([...files].filter((f) => seeds.some((s) => read(f).includes(s))), []);
  });

  it('needs only production dependencies (npm ci --omit=dev)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    assert.deepEqual([...packages].filter((p) => !(p in pkg.dependencies)).sort(), []);
  });

  it('is checked by a walk that does see the demo reach the development core', () => {
    // Without this, a walk that found nothing would pass the checks above.
    const demo = walk(['src/demo/main.ts']);
    assert.ok(demo.files.has('src/devcore/index.ts'));
    assert.ok(demo.files.has('src/node-check.mjs'));
  });
});
