// A throwaway PostgreSQL cluster for tests: initdb into a temporary directory, the server on a
// free loopback port with its socket in that directory, stopped by its PID. PostgreSQL refuses to
// run as root, so as root the binaries run as the `postgres` user the Debian package creates
// (`setpriv` execs in place, so the PID we hold is the postmaster's own). Durability is off
// (fsync, full-page writes): a test cluster only needs to survive a clean stop.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './reverse-proxy.ts';
import { waitFor } from './wait.ts';

export const POSTGRES_INSTALL_HINT = 'apt-get install postgresql';

/** Where Debian puts the server binaries (not on PATH), newest first; then PATH. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = join(root, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return join(which.stdout.trim(), '..');
  throw new Error(`PostgreSQL is not installed; these tests need a real server: ${POSTGRES_INSTALL_HINT}`);
}

interface RunAs {
  /** Prefix for commands (empty when not root). */
  readonly prefix: readonly string[];
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { prefix: [], uid: undefined, gid: undefined };
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error(`running as root, but there is no postgres user to run PostgreSQL as: ${POSTGRES_INSTALL_HINT}`);
  const [, , uid, gid] = line.split(':');
  return { prefix: ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'], uid: Number(uid), gid: Number(gid) };
}

export interface PostgresServer {
  readonly port: number;
  readonly dir: string;
  readonly user: string;
  readonly password: string;
  /** The postmaster's PID while running. */
  readonly pid: number | undefined;
  /** `postgres://user:password@127.0.0.1:port/<database>`. */
  url(database?: string): string;
  /** A new, empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (SIGINT to the postmaster), waiting for it to exit. */
  stop(): Promise<void>;
  /** Start again on the same port and data. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT the postmaster and its backends: a server that accepts and never answers. */
  freeze(): void;
  thaw(): void;
  /** Stop and delete the directory. */
  destroy(): Promise<void>;
}

export async function startPostgres(opts: { password?: string } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const as = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'pg-test-'));
  if (as.uid !== undefined && as.gid !== undefined) chownSync(dir, as.uid, as.gid);
  const data = join(dir, 'data');
  const user = 'outpost';
  const password = opts.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (as.uid !== undefined && as.gid !== undefined) chownSync(pwfile, as.uid, as.gid);
  const command = (binary: string, args: readonly string[]): [string, string[]] => {
    const argv = [...as.prefix, join(bin, binary), ...args];
    return [argv[0]!, argv.slice(1)];
  };
  const init = spawnSync(...command('initdb', ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8', '--no-locale']), { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=100', '-c', 'shared_buffers=16MB'];
    const c = spawn(...command('postgres', args), { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
    child = c;
    await waitFor(
      `PostgreSQL on 127.0.0.1:${port}`,
      async () => {
        if (c.exitCode !== null) throw new Error(`postgres exited ${c.exitCode}: ${log}`);
        const client = new pg.Client({ connectionString: serverUrl('postgres'), connectionTimeoutMillis: 1000 });
        client.on('error', () => {});
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => {});
        }
      },
      30_000,
      100,
    );
  };

  const serverUrl = (database = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

  const signalAll = (signal: NodeJS.Signals) => {
    const pid = child?.pid;
    if (pid === undefined || child?.exitCode !== null) return;
    for (const p of [...childrenOf(pid), pid]) {
      try {
        process.kill(p, signal);
      } catch {
        // A backend that ended meanwhile.
      }
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    // A frozen server cannot shut down.
    signalAll('SIGCONT');
    c.kill('SIGINT');
    const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };

  // A test process that ends without its after hooks must not leave a server behind.
  const reap = () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  };
  process.once('exit', reap);
  try {
    await start();
  } catch (err) {
    await stop();
    process.off('exit', reap);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    dir,
    user,
    password,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    url: serverUrl,
    async createDatabase(name: string) {
      const client = new pg.Client({ connectionString: serverUrl('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await client.end();
      }
      return serverUrl(name);
    },
    stop,
    start,
    freeze: () => signalAll('SIGSTOP'),
    thaw: () => signalAll('SIGCONT'),
    async destroy() {
      await stop();
      process.off('exit', reap);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PIDs whose parent is `pid` (the postmaster's backends and workers), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may contain spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}
