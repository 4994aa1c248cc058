// Real reverse proxies (nginx, Caddy) for end-to-end tests: a free loopback port, the binary or a
// failure saying how to install it (CI installs both; a missing peer is never a skip), and a
// child process in its own temporary directory, stopped by its PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.ts';

export const INSTALL_HINT = 'apt-get install nginx caddy';

function defaultDirs(): string[] {
  return [...(process.env['PATH'] ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
}

/**
 * The absolute path of `name` (PATH, then /usr/sbin, /usr/bin, /usr/local/bin), or a thrown error
 * naming the packages to install. Tests call it first so that a missing peer fails, never skips.
 */
export function requireBinary(name: 'nginx' | 'caddy', dirs: readonly string[] = defaultDirs()): string {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    const r = spawnSync(candidate, [name === 'nginx' ? '-v' : 'version'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  throw new Error(`${name} is not installed; these tests need a real ${name} in front of the outpost: ${INSTALL_HINT}`);
}

/** A loopback port that was free a moment ago (for peers that need their port in a config file). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export interface PeerProcess {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  /** Everything the process wrote to stdout and stderr so far (for assertion messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Spawn, wait until `port` accepts connections (or the process dies: then throw with its output). */
async function startPeer(name: string, bin: string, args: string[], dir: string, port: number, env: NodeJS.ProcessEnv = process.env): Promise<PeerProcess> {
  let out = '';
  const child: ChildProcess = spawn(bin, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => (exited = code ?? (signal ? -1 : null)));
  const stop = async () => {
    if (exited === undefined && child.pid !== undefined) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${name} listening on 127.0.0.1:${port}`, async () => {
      if (exited !== undefined) throw new Error(`${name} exited (${exited}): ${out}`);
      return accepts(port);
    }, 15000, 50);
  } catch (err) {
    await stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${out}`);
  }
  return { name, port, dir, output: () => out, stop };
}

/**
 * nginx with `http` holding `httpBlock` (server blocks), listening on `port` (the caller's config
 * says so). Its own prefix, pid file, temp paths and error log (stderr) in a temporary directory.
 */
export async function startNginx(httpBlock: string, port: number): Promise<PeerProcess> {
  const bin = requireBinary('nginx');
  const dir = mkdtempSync(join(tmpdir(), 'outpost-nginx-'));
  const conf = `worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  // Root runs workers as nobody by default: run them as the test's user instead.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  return startPeer('nginx', bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid; error_log stderr; ${user}`], dir, port);
}

/** Caddy running `caddyfile` (the caller puts `admin off` and `auto_https off` in its global options). */
export async function startCaddy(caddyfile: string, port: number): Promise<PeerProcess> {
  const bin = requireBinary('caddy');
  const dir = mkdtempSync(join(tmpdir(), 'outpost-caddy-'));
  writeFileSync(join(dir, 'Caddyfile'), caddyfile);
  // XDG dirs inside the temporary directory: Caddy writes its storage under them.
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  return startPeer('caddy', bin, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], dir, port, env);
}
