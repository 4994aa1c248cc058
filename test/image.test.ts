// The container image: its build stage bundles the outpost (scripts/build.ts), its final stage
// runs that bundle and nothing else. This reads the Dockerfile and .dockerignore, builds the
// bundle the way the image does, and fails if the bundle reaches a file the build context
// leaves out (the development core, the demo, the seeds with passwords) or needs a package at
// run time (the final stage has no node_modules).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBuiltin } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { buildOutpost, OPTIONAL_EXTERNALS } from '../scripts/build.ts';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');


/** The Dockerfile's stages, by name (the last one unnamed: `final`). */
function stages(dockerfile: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = dockerfile.split(/^FROM\s/m).slice(1);
  parts.forEach((part, i) => {
    const name = /^\S+\s+AS\s+(\S+)/i.exec(part)?.[1] ?? (i === parts.length - 1 ? 'final' : `stage${i}`);
    out.set(name, part);
  });
  return out;
}

/** The exec-form arguments of ENTRYPOINT and of HEALTHCHECK's CMD. */
function commands(dockerfile: string): string[][] {
  return [...dockerfile.replaceAll('\\\n', ' ').matchAll(/^\s*(?:ENTRYPOINT|HEALTHCHECK\s.*?\bCMD)\s+(\[.*\])\s*$/gm)].map((m) => JSON.parse(m[1] ?? '[]') as string[]);
}

/** .dockerignore's entries as predicates over repository paths (an entry and everything below it). */
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
const isIgnored = (path: string) => ignored().some((matches) => matches(path));

describe('the container image', () => {
  const dockerfile = read('Dockerfile');
  const byName = stages(dockerfile);
  const final = byName.get('final') ?? '';
  const build = byName.get('build') ?? '';
  let dir: string;
  let meta: Metafile;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-image-'));
    meta = (await buildOutpost(join(dir, 'dist'))).metafile;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the bundle for the outpost and for its healthcheck', () => {
    assert.deepEqual(commands(dockerfile), [['node', 'dist/main.js', 'healthcheck'], ['node', 'dist/main.js']]);
    assert.match(build, /^RUN node scripts\/build\.ts --outdir dist$/m);
    assert.match(final, /^COPY --from=build \/app\/dist \.\/dist$/m);
  });

  it('has no node_modules in the final stage: the bundle carries its packages', () => {
    assert.doesNotMatch(final, /node_modules|npm /);
    const external = new Set(Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)));
    assert.deepEqual([...external].filter((p) => !isBuiltin(p) && !OPTIONAL_EXTERNALS.includes(p)), []);
  });

  it('leaves out the development core, the demo, every seed with passwords, tests and benchmarks', () => {
    const seeds = readdirSync(join(ROOT, 'config')).filter((f) => f.endsWith('.yaml')).map((f) => `config/${f}`);
    assert.ok(seeds.length >= 4, 'the seeds were not found');
    for (const path of ['src/devcore/index.ts', 'src/demo/main.ts', 'test/image.test.ts', 'bench/proxy/main.ts', ...seeds]) assert.ok(isIgnored(path), `${path} is not in .dockerignore`);
    for (const path of ['src/main.ts', 'scripts/build.ts', 'package.json', 'package-lock.json', 'config/outpost.example.yml']) assert.ok(!isIgnored(path), path);
  });

  it('bundles no file the build context leaves out (so the image build cannot pass without them)', () => {
    const inputs = Object.keys(meta.inputs).filter((f) => !f.startsWith('node_modules/'));
    assert.ok(inputs.includes('src/main.ts') && inputs.includes('src/cli.ts') && inputs.includes('src/healthcheck.ts'));
    assert.deepEqual(inputs.filter(isIgnored), []);
  });

  it('is checked against .dockerignore rules that do match (else the checks above pass on nothing)', () => {
    assert.ok(isIgnored('src/devcore/oidc.ts'));
    assert.ok(!isIgnored('src/devcored.ts'));
  });
});
