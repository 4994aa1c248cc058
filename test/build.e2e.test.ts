// The production build (scripts/build.ts) is what the container image runs: build it into a
// temporary directory and run it as an operator would, with all three listeners in one process
// against the development core, through the real clients (radclient, ldapsearch, HTTP).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import type { DevCore } from '../src/devcore/index.ts';
import { buildOutpost } from '../scripts/build.ts';
import { freePort } from './support/reverse-proxy.ts';
import { startCore } from './support/outpost.ts';
import { radclient } from './radius/e2e/support.ts';
import { waitFor } from './support/wait.ts';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const BASE = 'dc=ldap,dc=goauthentik,dc=io';

/** The source files (repository paths) bundled into the output file whose entry point or inputs include `input`. */
function chunkInputs(meta: Metafile, input: string): string[] {
  const out = Object.values(meta.outputs).find((o) => o.inputs[input] !== undefined);
  assert.ok(out, `${input} is in no output file`);
  return Object.keys(out.inputs);
}

describe('the production build', () => {
  let dir: string;
  let meta: Metafile;
  let core: DevCore;
  let child: ChildProcess;
  let stdout = '';
  const ports = { http: 0, https: 0, ldap: 0, ldaps: 0, radius: 0, metrics: 0 };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-build-'));
    // The layout of the image: /app/package.json (the version check reads engines) and /app/dist.
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    meta = (await buildOutpost(join(dir, 'dist'))).metafile;
    core = await startCore();
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    child = spawn(process.execPath, [join(dir, 'dist', 'main.js')], {
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        AUTHENTIK_HOST: core.url,
        AUTHENTIK_TOKEN: 'test-ldap-token,test-radius-token,test-proxy-token',
        AUTHENTIK_LISTEN__HTTP: `127.0.0.1:${ports.http}`,
        AUTHENTIK_LISTEN__HTTPS: `127.0.0.1:${ports.https}`,
        AUTHENTIK_LISTEN__LDAP: `127.0.0.1:${ports.ldap}`,
        AUTHENTIK_LISTEN__LDAPS: `127.0.0.1:${ports.ldaps}`,
        AUTHENTIK_LISTEN__RADIUS: `127.0.0.1:${ports.radius}`,
        AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${ports.metrics}`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      await waitFor('the built outpost to be ready', async () => (await fetch(`http://127.0.0.1:${ports.metrics}/outpost.goauthentik.io/ready`).catch(() => undefined))?.status === 204, 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; its last lines:\n${stdout.split('\n').slice(-8).join('\n')}`);
    }
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await core?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps each listener in its own file, loaded only by an outpost of its type', () => {
    const radius = chunkInputs(meta, 'src/radius/listener.ts');
    assert.deepEqual(radius.filter((f) => f.startsWith('src/ldap/') || f.startsWith('src/proxy/')), []);
    const main = chunkInputs(meta, 'src/main.ts');
    assert.deepEqual(main.filter((f) => /^src\/(ldap|radius|proxy)\//.test(f)), []);
  });

  it('loads node:http through require, so Node does not load its own undici (3 MB at rest)', () => {
    const files = Object.keys(meta.outputs).filter((f) => f.endsWith('.js'));
    const esmHttp = files.filter((f) => /\bfrom\s*["']node:http["']|import\s*["']node:http["']/.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(esmHttp, []);
    assert.ok(files.some((f) => readFileSync(join(ROOT, f), 'utf8').includes('require("node:http")')), 'node:http is still used, through require');
  });

  it('answers radclient (RADIUS)', async () => {
    const r = await radclient(`127.0.0.1:${ports.radius}`, 'auth', 'test-radius-secret', 'User-Name=alice,User-Password=alice-password');
    assert.equal(r.code, 'Access-Accept', r.stdout + r.stderr);
  });

  it('answers ldapsearch (LDAP)', async () => {
    const search = await run('ldapsearch', ['-x', '-LLL', '-H', `ldap://127.0.0.1:${ports.ldap}`, '-D', `cn=akadmin,ou=users,${BASE}`, '-w', 'akadmin', '-b', BASE, '(cn=alice)', 'cn', 'mail']);
    assert.match(search.stdout, /^dn: cn=alice,ou=users,dc=ldap,dc=goauthentik,dc=io$/m);
    assert.match(search.stdout, /^mail: alice@example.com$/m);
  });

  it('sends an unauthenticated browser to the login (proxy)', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.http}/some/page`, { headers: { host: 'localhost:9000' }, redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location') ?? '', /\/outpost\.goauthentik\.io\/start\?rd=/);
  });

  it('runs its healthcheck and stops on SIGTERM with exit code 0', async () => {
    const hc = await run(process.execPath, [join(dir, 'dist', 'main.js'), 'healthcheck'], { env: { PATH: process.env['PATH'], AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${ports.metrics}` } });
    assert.equal(hc.stdout + hc.stderr, '');
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    assert.match(stdout, /"event":"stopped"/);
  });
});
