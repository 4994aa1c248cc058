// A throwaway redis-server for tests: Debian's binary on a free loopback port, in its own
// temporary directory, with no persistence (a restart starts empty, as a lost store would).
// Tests can hang it (SIGSTOP/SIGCONT: the TCP connection stays up but nothing answers, the
// hard case for timeouts) or restart it on the same port. A missing binary fails, never skips.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './reverse-proxy.ts';
import { waitFor } from './wait.ts';

export const REDIS_INSTALL_HINT = 'apt-get install redis-server';

export interface RedisServerOptions {
  /** Started with `--requirepass`; `url()` then carries it. */
  readonly password?: string;
}

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  /** `redis://[:password@]127.0.0.1:<port>/<db>`. */
  url(db?: number, password?: string | undefined): string;
  /** Everything the server wrote so far (for assertion messages). */
  output(): string;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stop and start again on the same port; the data is gone (no persistence). */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s), then remove the directory. Idempotent. */
  stop(): Promise<void>;
}

function requireRedisServer(): string {
  for (const dir of [...(process.env['PATH'] ?? '').split(':').filter(Boolean), '/usr/bin', '/usr/local/bin']) {
    const candidate = join(dir, 'redis-server');
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error(`redis-server is not installed; these tests need a real one: ${REDIS_INSTALL_HINT}`);
}

/** True when something on `port` answers PING (PONG, or NOAUTH from a server with a password). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\r\n')) done(got.startsWith('+PONG') || got.startsWith('-NOAUTH'));
    });
  });
}

export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = requireRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'outpost-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''];
  if (opts.password !== undefined) args.push('--requirepass', opts.password);
  let out = '';
  let child: ChildProcess | undefined;
  let exited: string | undefined;
  let removed = false;

  const launch = async (): Promise<void> => {
    exited = undefined;
    const c = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', (code, signal) => (exited = `code ${code}, signal ${signal}`));
    await waitFor(`redis-server answering PING on 127.0.0.1:${port}`, async () => {
      if (exited !== undefined) throw new Error(`redis-server exited (${exited})`);
      return answersPing(port);
    }, 15_000, 50);
  };

  const kill = async (): Promise<void> => {
    const c = child;
    if (c === undefined || exited !== undefined || c.pid === undefined) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    // A stopped process only acts on SIGTERM once continued.
    c.kill('SIGCONT');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };

  const signal = (sig: NodeJS.Signals): void => {
    if (child === undefined || exited !== undefined) throw new Error(`redis-server is not running (${exited ?? 'never started'})`);
    child.kill(sig);
  };

  const stop = async (): Promise<void> => {
    await kill();
    if (!removed) rmSync(dir, { recursive: true, force: true });
    removed = true;
  };

  try {
    await launch();
  } catch (err) {
    await stop();
    throw new Error(`redis-server did not start: ${(err as Error).message}\n${out}`);
  }

  return {
    port,
    dir,
    url: (db = 0, password = opts.password) => `redis://${password !== undefined ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}/${db}`,
    output: () => out,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    restart: async () => {
      await kill();
      await launch();
    },
    stop,
  };
}
