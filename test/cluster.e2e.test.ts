// AUTHENTIK_WORKERS=2: the outpost as an operator runs it (a child process), a primary and two
// workers sharing the LDAP (TCP) and RADIUS (UDP) sockets, against the development core, through
// the real clients (ldapsearch, radclient).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { DevCore } from '../src/devcore/index.ts';
import { freePort } from './support/reverse-proxy.ts';
import { radclient } from './radius/e2e/support.ts';
import { startCore } from './support/outpost.ts';
import { waitFor } from './support/wait.ts';

const run = promisify(execFile);
const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const BASE = 'dc=ldap,dc=goauthentik,dc=io';

/** The PIDs of a process's children, as the kernel lists them. */
function childrenOf(pid: number): number[] {
  const path = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

function spawnOutpost(env: NodeJS.ProcessEnv): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

async function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

describe('two worker processes (AUTHENTIK_WORKERS=2)', () => {
  let core: DevCore;
  let child: ChildProcess;
  let out: () => string;
  const ports = { ldap: 0, ldaps: 0, radius: 0, metrics: 0 };
  const url = (path: string) => `http://127.0.0.1:${ports.metrics}${path}`;
  const readyStatus = async () => (await fetch(url('/outpost.goauthentik.io/ready')).catch(() => undefined))?.status;

  const ldapsearch = async () => {
    const search = await run('ldapsearch', ['-x', '-LLL', '-H', `ldap://127.0.0.1:${ports.ldap}`, '-D', `cn=akadmin,ou=users,${BASE}`, '-w', 'akadmin', '-b', BASE, '(cn=alice)', 'cn', 'mail'], { timeout: 10_000 });
    assert.match(search.stdout, /^dn: cn=alice,ou=users,dc=ldap,dc=goauthentik,dc=io$/m);
    assert.match(search.stdout, /^mail: alice@example.com$/m);
  };
  const accepts = async () => {
    const r = await radclient(`127.0.0.1:${ports.radius}`, 'auth', 'test-radius-secret', 'User-Name=alice,User-Password=alice-password');
    assert.equal(r.code, 'Access-Accept', r.stdout + r.stderr);
  };

  before(async () => {
    core = await startCore();
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    ({ child, out } = spawnOutpost({
      AUTHENTIK_HOST: core.url,
      AUTHENTIK_TOKEN: 'test-ldap-token,test-radius-token',
      AUTHENTIK_WORKERS: '2',
      AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT: '3s',
      AUTHENTIK_LISTEN__LDAP: `127.0.0.1:${ports.ldap}`,
      AUTHENTIK_LISTEN__LDAPS: `127.0.0.1:${ports.ldaps}`,
      AUTHENTIK_LISTEN__RADIUS: `127.0.0.1:${ports.radius}`,
      AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${ports.metrics}`,
    }));
    try {
      await waitFor('the outpost and both workers to be ready', async () => (await readyStatus()) === 204, 90_000, 100);
    } catch (err) {
      throw new Error(`${(err as Error).message}; its last lines:\n${out().split('\n').slice(-10).join('\n')}`);
    }
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const workers = childrenOf(child.pid ?? 0);
      child.kill('SIGKILL');
      for (const pid of workers) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await once(child, 'exit');
    }
    await core?.close();
  });

  it('says in one line how many workers it starts and why', () => {
    const lines = out().split('\n').filter((l) => l.includes('starting worker processes'));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /"workers":2,"why":"AUTHENTIK_WORKERS=2"/);
    assert.equal(childrenOf(child.pid ?? 0).length, 2);
  });

  it('answers ldapsearch on every connection, the connections spread over the workers', async () => {
    for (let i = 0; i < 6; i++) await ldapsearch();
    // Each worker logs its searches, tagged with its worker id.
    const workers = new Set(out().split('\n').filter((l) => l.includes('"event":"Search request"')).map((l) => /"worker":(\d+)/.exec(l)?.[1]));
    assert.equal(workers.size, 2, 'both workers served searches');
  });

  it('answers radclient with Access-Accept', async () => {
    for (let i = 0; i < 3; i++) await accepts();
  });

  it('serves /metrics from the primary with the metrics of both workers, and ping', async () => {
    assert.equal((await fetch(url('/outpost.goauthentik.io/ping'))).status, 204);
    const res = await fetch(url('/metrics'));
    assert.equal(res.status, 200);
    const text = await res.text();
    const info = text.split('\n').filter((l) => l.startsWith('authentik_outpost_info{'));
    for (const outpost of ['test-ldap', 'test-radius']) {
      const uuids = new Set(info.filter((l) => l.includes(`outpost_name="${outpost}"`)).map((l) => /uuid="([^"]+)"/.exec(l)?.[1]));
      assert.equal(uuids.size, 2, `two instances of ${outpost} in:\n${info.join('\n')}`);
    }
    // The workers' LDAP counters are summed: the six searches above, wherever they ran.
    assert.match(text, /authentik_outpost_ldap_requests_count\{[^}]*type="search"[^}]*\} (\d+)/);
  });

  it('keeps serving LDAP and RADIUS when a worker is killed, and replaces it', async () => {
    const primary = child.pid ?? 0;
    const [first, second] = childrenOf(primary) as [number, number];
    process.kill(first, 'SIGKILL');
    await waitFor('the killed worker to be gone', () => !childrenOf(primary).includes(first), 5000);
    // Only the second worker is up for at least a second (the restart backoff): it serves both.
    await Promise.all([ldapsearch(), accepts()]);
    assert.equal(await readyStatus(), 503, 'not ready while a worker is missing');
    const third = await waitFor('a new worker', () => childrenOf(primary).find((p) => p !== second), 15_000);
    await waitFor('ready again', async () => (await readyStatus()) === 204, 60_000, 100);
    const death = out().split('\n').filter((l) => l.includes('"event":"worker exited unexpectedly; restarting it"'));
    assert.equal(death.length, 1, 'one line per death');
    assert.match(death[0] ?? '', new RegExp(`"pid":${first},"signal":"SIGKILL","restartInMs":1000`));
    // Now the replacement alone serves: kill the other one.
    process.kill(second, 'SIGKILL');
    await waitFor('the second worker to be gone', () => !childrenOf(primary).includes(second), 5000);
    await Promise.all([ldapsearch(), accepts()]);
    assert.ok(alive(third));
    await waitFor('ready again', async () => (await readyStatus()) === 204, 60_000, 100);
  });

  it('stops every worker gracefully on SIGTERM and exits 0', async () => {
    const workers = childrenOf(child.pid ?? 0);
    assert.equal(workers.length, 2);
    const stoppedBefore = (out().match(/"event":"stopped"/g) ?? []).length;
    child.kill('SIGTERM');
    assert.equal(await exitOf(child, 30_000), 0);
    for (const pid of workers) assert.ok(!alive(pid), `worker ${pid} is gone`);
    assert.equal((out().match(/"event":"stopped"/g) ?? []).length - stoppedBefore, 2, 'each worker ran its shutdown');
  });
});

describe('the proxy with AUTHENTIK_WORKERS=2', () => {
  it('refuses the memory session backend with one clear line, and the outpost exits 1', async () => {
    const core = await startCore();
    try {
      const { child, out } = spawnOutpost({
        AUTHENTIK_HOST: core.url,
        AUTHENTIK_TOKEN: 'test-proxy-token',
        AUTHENTIK_WORKERS: '2',
        AUTHENTIK_LISTEN__HTTP: `127.0.0.1:${await freePort()}`,
        AUTHENTIK_LISTEN__HTTPS: `127.0.0.1:${await freePort()}`,
        AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${await freePort()}`,
      });
      assert.equal(await exitOf(child, 60_000), 1, out());
      const refusals = out().split('\n').filter((l) => l.includes('AUTHENTIK_PROXY__SESSION_BACKEND=postgres|redis or AUTHENTIK_WORKERS=1'));
      assert.ok(refusals.length >= 1, out());
      assert.match(refusals[0] ?? '', /"level":"fatal".*cannot keep sessions in memory with 2 worker processes/);
      assert.match(out(), /a worker cannot start the outpost.*stopping every worker/);
      assert.equal(childrenOf(child.pid ?? 0).length, 0);
    } finally {
      await core.close();
    }
  });
});
