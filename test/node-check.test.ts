// A Node.js below package.json's engines says which version it needs, and exits 1, instead of
// crashing on the first `.ts` file. Checked for real with an older Node when the machine has one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { unmetNodeRequirement } from '../src/node-check.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const LAUNCH = join(ROOT, 'src/launch.mjs');
const ENGINES = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

/** A `node` on this machine that does not satisfy engines (on PATH, or a distribution's own). */
function olderNode(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/bin', '/usr/bin'];
  const self = realpathSync(process.execPath);
  for (const dir of new Set(dirs)) {
    const candidate = join(dir, 'node');
    if (dir === '' || !existsSync(candidate) || realpathSync(candidate) === self) continue;
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
      if (unmetNodeRequirement(version, ENGINES) !== undefined) return candidate;
    } catch {
      // Not runnable here; look further.
    }
  }
  return undefined;
}

async function runProcess(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(file, args, { cwd: ROOT, env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, out, err };
}

describe('the Node.js version check', () => {
  it('compares versions with engines\' >= form', () => {
    assert.equal(unmetNodeRequirement('24.21.0', '>=22.19'), undefined);
    assert.equal(unmetNodeRequirement('22.19.0', '>=22.19'), undefined);
    assert.equal(unmetNodeRequirement('23.0.0', '>=22.19'), undefined);
    assert.equal(unmetNodeRequirement('v22.19.1', '>=22.19.1'), undefined);
    assert.match(unmetNodeRequirement('22.18.0', '>=22.19') ?? '', /^Node\.js 22\.19 or newer is required .*; this is Node\.js 22\.18\.0$/);
    assert.match(unmetNodeRequirement('20.20.2', '>=22.19') ?? '', /this is Node\.js 20\.20\.2/);
    assert.match(unmetNodeRequirement('22.19.0', '>=22.19.1') ?? '', /22\.19\.1 or newer/);
    assert.throws(() => unmetNodeRequirement('24.0.0', '^22'), /engines\.node: expected >=X\.Y\.Z/);
  });

  it('understands package.json\'s engines, which this Node satisfies', () => {
    assert.equal(unmetNodeRequirement(process.versions.node, ENGINES), undefined);
  });

  it('lets the launcher run the script with the argv it would have directly', async () => {
    const r = await runProcess(process.execPath, [LAUNCH, 'src/main.ts', 'no-such-command']);
    assert.equal(r.code, 2);
    assert.match(r.err, /^unknown command "no-such-command"/);
  });

  describe('with an older Node.js', () => {
    const old = olderNode();
    const skip = old === undefined ? `no Node.js below ${ENGINES} on this machine` : false;
    const needed = new RegExp(`^authentik outpost: Node\\.js ${ENGINES.replace(/^>=\s*/, '').replaceAll('.', '\\.')} or newer is required .*\\n$`);

    for (const args of [['src/launch.mjs', 'src/main.ts'], ['src/launch.mjs', 'src/main.ts', 'healthcheck'], ['src/launch.mjs', 'src/demo/main.ts']]) {
      it(`node ${args.join(' ')} names the Node.js it needs and exits 1`, { skip }, async () => {
        const r = await runProcess(old!, args);
        assert.equal(r.code, 1);
        assert.match(r.err, needed);
        assert.equal(r.out, '');
      });
    }

    for (const script of ['start', 'demo', 'healthcheck']) {
      const npm = old === undefined ? undefined : join(dirname(old), 'npm');
      const skipNpm = skip || (npm !== undefined && !existsSync(npm) ? `no npm next to ${old}` : false);
      it(`npm run ${script} does the same`, { skip: skipNpm }, async () => {
        // npm runs the script with the first `node` on PATH: the older one.
        const r = await runProcess(npm!, ['run', '--silent', script], { PATH: `${dirname(old!)}${delimiter}${process.env['PATH'] ?? ''}` });
        assert.equal(r.code, 1);
        assert.match(r.err, needed);
        assert.doesNotMatch(r.err, /ERR_UNKNOWN_FILE_EXTENSION/);
      });
    }
  });
});
