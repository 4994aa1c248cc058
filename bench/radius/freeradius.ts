// A throwaway FreeRADIUS (Debian `freeradius` 3.x) on loopback with its own minimal config
// directory: one client (127.0.0.1, the given secret), the `files` module holding the same users
// and passwords as the development core's DEMO_USERS, and `pap`. Nothing under /etc is read.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FREERADIUS = '/usr/sbin/freeradius';

export interface FreeRadius {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface FreeRadiusOptions {
  port: number;
  users: number;
  password: string;
  secret: string;
}

function users(n: number, password: string): string {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(`user${i} Cleartext-Password := "${password}"\n`);
  return out.join('');
}

/**
 * radiusd.conf from scratch. The dictionaries come from /usr/share/freeradius (the default
 * dictdir); no proxying, no accounting listener, no EAP, no detail or linelog writes, no
 * reject delay (a wrong answer must show up as a Reject, not as a slow one).
 */
function config(dir: string, opts: FreeRadiusOptions): string {
  return `prefix = /usr
confdir = ${dir}
logdir = ${dir}
run_dir = ${dir}
libdir = /usr/lib/freeradius
name = radiusd
pidfile = ${dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {
	destination = stdout
	colourise = no
	auth = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}
proxy_requests = no
client bench {
	ipaddr = 127.0.0.1
	secret = ${opts.secret}
	require_message_authenticator = no
}
thread pool {
	start_servers = 5
	max_servers = 32
	min_spare_servers = 3
	max_spare_servers = 10
	max_requests_per_server = 0
}
modules {
	files {
		filename = ${dir}/users
	}
	pap {
	}
}
server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${opts.port}
	}
	authorize {
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
}
`;
}

/** Starts it in the foreground (`-f`), logging to stdout; resolves once it is ready for requests. */
export async function startFreeRadius(opts: FreeRadiusOptions, timeoutMs = 20_000): Promise<FreeRadius> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-freeradius-'));
  writeFileSync(join(dir, 'radiusd.conf'), config(dir, opts));
  writeFileSync(join(dir, 'users'), users(opts.users, opts.password));
  const child: ChildProcess = spawn(FREERADIUS, ['-f', '-d', dir, '-n', 'radiusd', '-l', 'stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => {
    if (output.length < 64 * 1024) output += d.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`FreeRADIUS not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const check = () => {
        if (output.includes('Ready to process requests')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${FREERADIUS}: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`FreeRADIUS exited (${signal ?? code}) before it was ready:\n${output}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Keep draining its output so that a full pipe never blocks it.
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();
  return { port: opts.port, pid: child.pid ?? 0, stop };
}
