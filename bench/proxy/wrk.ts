// Debian's wrk as the load generator, with its own CPU time (the shell's `times` builtin after
// wrk exits: children's user and system time) so a run can show the generator was not the limit.
import { spawn } from 'node:child_process';

export interface WrkRun {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** 4xx/5xx answers (wrk counts 3xx as success: callers verify those another way). */
  non2xx3xx: number;
  socketErrors: number;
  /** wrk's CPU seconds (user + system). */
  cpu: number;
  raw: string;
}

/** `1.23ms`, `456.00us`, `1.02s` → ms. */
function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** `0m1.234s` → seconds. */
function clock(v: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(v.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

export async function wrk(opts: { url: string; headers: Record<string, string>; connections: number; threads: number; seconds: number }): Promise<WrkRun> {
  const args = ['--latency', '-t', String(opts.threads), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--timeout', '5s'];
  for (const [k, v] of Object.entries(opts.headers)) args.push('-H', `${k}: ${v}`);
  args.push(opts.url);
  const child = spawn('sh', ['-c', 'wrk "$@" && times', 'sh', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let raw = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (raw += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${raw}`);
  const num = (re: RegExp) => Number(re.exec(raw)?.[1] ?? NaN);
  const times = raw.trimEnd().split('\n').slice(-2);
  // The second line of `times`: the children's user and system time.
  const [user, sys] = (times[1] ?? '').trim().split(/\s+/);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const requests = num(/(\d+) requests in/);
  const seconds = ms(/requests in ([\d.]+\w+),/.exec(raw)?.[1] ?? '') / 1000;
  return {
    requests,
    seconds,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: ms(/^\s+50%\s+(\S+)/m.exec(raw)?.[1] ?? ''),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(raw)?.[1] ?? ''),
    non2xx3xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    cpu: clock(user ?? '') + clock(sys ?? ''),
    raw,
  };
}
