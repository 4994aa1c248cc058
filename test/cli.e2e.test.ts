// The outpost as an operator runs it: a child process, configured by environment variables.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevCore } from '../src/devcore/index.ts';
import { startCore } from './support/outpost.ts';
import { waitFor } from './support/wait.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const LAUNCH = new URL('../src/launch.mjs', import.meta.url).pathname;
const TEST_MAIN = new URL('./support/outpost-main.ts', import.meta.url).pathname;

function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
  return { ...env, ...extra };
}

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err };
}

async function exitCode(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

describe('command line', () => {
  it('without AUTHENTIK_HOST exits 1 with one line that names it and points to the demo', async () => {
    const child = spawn(process.execPath, [MAIN], { env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    const io = collect(child);
    assert.equal(await exitCode(child, 10_000), 1);
    const lines = io.err().trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /AUTHENTIK_HOST is not set.*npm run demo/);
    assert.equal(io.out(), '');
  });

  it('healthcheck exits 1 when nothing answers the ping, saying where the connection was refused in one line', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN, 'healthcheck'], { env: cleanEnv({ AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${port}` }), stdio: ['ignore', 'pipe', 'pipe'] });
    const io = collect(child);
    assert.equal(await exitCode(child, 10_000), 1);
    assert.equal(io.err(), `healthcheck: http://127.0.0.1:${port}/outpost.goauthentik.io/ping: connection refused\n`);
    assert.equal(io.out(), '');
  });

  it('healthcheck exits 1 with the status when the ping answers unhealthy', async () => {
    const server = createHttpServer((_req, res) => res.writeHead(503).end()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const child = spawn(process.execPath, [MAIN, 'healthcheck'], { env: cleanEnv({ AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${port}` }), stdio: ['ignore', 'pipe', 'pipe'] });
      const io = collect(child);
      assert.equal(await exitCode(child, 10_000), 1);
      assert.equal(io.err(), `healthcheck: http://127.0.0.1:${port}/outpost.goauthentik.io/ping: HTTP 503 Service Unavailable\n`);
    } finally {
      server.close();
    }
  });

  it('healthcheck names a bad metrics address', async () => {
    const child = spawn(process.execPath, [MAIN, 'healthcheck'], { env: cleanEnv({ AUTHENTIK_LISTEN__METRICS: '9300' }), stdio: ['ignore', 'pipe', 'pipe'] });
    const io = collect(child);
    assert.equal(await exitCode(child, 10_000), 1);
    assert.match(io.err(), /^healthcheck: AUTHENTIK_LISTEN__METRICS: expected host:port .*\n$/);
  });
});

describe('a running outpost process', () => {
  let core: DevCore;
  let child: ChildProcess;
  let io: ReturnType<typeof collect>;
  let metricsPort: number;
  let configFile: string;

  before(async () => {
    core = await startCore();
    metricsPort = await freePort();
    configFile = join(mkdtempSync(join(tmpdir(), 'outpost-cli-')), 'outpost.yml');
    writeFileSync(configFile, 'ldap:\n  requre_tls: true\n');
    child = spawn(process.execPath, [TEST_MAIN], {
      env: cleanEnv({ AUTHENTIK_HOST: core.url, AUTHENTIK_TOKEN: 'test-radius-token', AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${metricsPort}`, AUTHENTIK_LOG_LEVEL: 'debug', AUTHENTIK_CONFIG_FILE: configFile }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    io = collect(child);
    await waitFor('outpost serving', () => /refreshed configuration/.test(io.out()), 15_000);
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await core.close();
  });

  it('logs JSON lines with authentik\'s keys', () => {
    const first = JSON.parse(io.out().split('\n')[0] ?? '{}') as Record<string, unknown>;
    assert.deepEqual(['event', 'level', 'logger', 'timestamp'].filter((k) => !(k in first)), []);
    assert.match(String(first['logger']), /^authentik\.outpost\./);
    assert.ok(!io.out().includes('test-radius-token'));
  });

  it('warns once about an unknown key of its YAML file, naming the key and the file', () => {
    const lines = io.out().split('\n').filter((l) => l.includes('unknown key')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.deepEqual({ ...lines[0], timestamp: undefined }, {
      event: 'unknown key in the configuration file; ignored',
      level: 'warning',
      logger: 'authentik.outpost.config',
      file: configFile,
      key: 'ldap.requre_tls',
      timestamp: undefined,
    });
  });

  it('healthcheck exits 0 against it, silently', async () => {
    // Directly, as the Dockerfile runs it, and through the launcher, as `npm run healthcheck` does.
    for (const args of [[MAIN, 'healthcheck'], [LAUNCH, MAIN, 'healthcheck']]) {
      const hc = spawn(process.execPath, args, { env: cleanEnv({ AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${metricsPort}` }), stdio: ['ignore', 'pipe', 'pipe'] });
      const hio = collect(hc);
      assert.equal(await exitCode(hc, 10_000), 0);
      assert.equal(hio.out() + hio.err(), '');
    }
  });

  it('refreshes on SIGUSR1', async () => {
    const count = () => core.admin.requests().filter((r) => r.path === '/api/v3/outposts/radius/').length;
    const before = count();
    child.kill('SIGUSR1');
    await waitFor('a provider list fetch after SIGUSR1', () => count() > before, 5000);
  });

  it('shuts down on SIGTERM: closes the websocket cleanly and exits 0', async () => {
    await waitFor('websocket connected', () => core.admin.websocketConnections('test-radius').length > 0);
    // A client parked on the metrics port (it sent nothing) must not hold the shutdown open.
    const parked = connect(metricsPort, '127.0.0.1');
    parked.on('error', () => {});
    await once(parked, 'connect');
    child.kill('SIGTERM');
    assert.equal(await exitCode(child, 15_000), 0);
    parked.destroy();
    assert.match(io.out(), /"event":"stopped"/);
    await waitFor('the websocket to close', () => core.admin.websocketConnections('test-radius').every((c) => c.closedAt !== undefined), 5000);
  });
});
