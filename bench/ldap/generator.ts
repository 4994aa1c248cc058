// The C load generator (ldapload.c, on OpenLDAP's libldap): compiled with gcc on first use into
// node_modules/.cache/bench-ldap/, under a name keyed by the hash of its source and flags, then
// run once per measurement. Never built or run by the test suite.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { pinned } from '../support.ts';

const SOURCE = new URL('./ldapload.c', import.meta.url).pathname;
const CACHE = new URL('../../node_modules/.cache/bench-ldap/', import.meta.url).pathname;
const CFLAGS = ['-O2', '-Wall', '-Wextra', '-pthread'];
const LIBS = ['-lldap', '-llber'];

/** The generator's path, compiling it first when this source has not been compiled yet. */
export function buildGenerator(): string {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const bin = `${CACHE}ldapload-${hash}`;
  if (existsSync(bin)) return bin;
  if (!existsSync('/usr/include/ldap.h')) throw new Error('the libldap headers are missing: apt-get install libldap-dev');
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const cc = spawnSync('gcc', [...CFLAGS, '-o', tmp, SOURCE, ...LIBS], { encoding: 'utf8' });
  if (cc.error) throw new Error(`cannot run gcc (apt-get install gcc libldap-dev): ${cc.error.message}`);
  if (cc.status !== 0) throw new Error(`gcc failed on ${SOURCE}:\n${cc.stderr}`);
  renameSync(tmp, bin);
  // Builds of older sources are of no further use.
  for (const f of readdirSync(CACHE)) if (f.startsWith('ldapload-') && `${CACHE}${f}` !== bin) rmSync(`${CACHE}${f}`, { force: true });
  process.stdout.write(`compiled the load generator: ${bin}\n`);
  return bin;
}

export type LoadMode = 'bind' | 'search' | 'dump';

export interface LoadOptions {
  port: number;
  mode: LoadMode;
  base: string;
  connections: number;
  seconds: number;
  /** Untimed seconds of the same load first (after bind mode's one bind per user). */
  warmup?: number;
  /** Stop after this many operations (0: no cap). */
  count?: number;
  threads?: number;
  /** bind: the users cycled over (cn=user1..userN,ou=users,<base>) and their password. */
  users?: number;
  password?: string;
  /** search, dump: who binds, once per connection. */
  bindDn?: string;
  bindPassword?: string;
  /** search, dump: the entries every search must return (-1: not checked). */
  expect?: number;
  /** Report the CPU each of these processes (and its descendants) used over the timed phase. */
  watchPids?: number[];
  /** `taskset -c` CPU list for the generator (undefined: unpinned). */
  cpus?: string | undefined;
}

/** One line of the generator's JSON. */
export interface LoadResult {
  mode: LoadMode;
  connections: number;
  threads: number;
  /** Operations that succeeded (checked) in the timed phase. */
  ops: number;
  errors: number;
  warmup_errors: number;
  dead_connections: number;
  seconds: number;
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  /** The generator's own CPU over the timed phase, in seconds and in cores. */
  cpu_s: number;
  cpu_cores: number;
  /** CPU seconds of each watched process over the timed phase, in `watchPids` order (-1: unreadable). */
  watched_cpu_s: number[];
  entries_min: number;
  entries_max: number;
}

/** Runs the generator once; rejects when it cannot start or prints no result line. */
export async function runGenerator(bin: string, o: LoadOptions): Promise<LoadResult & { stderr: string }> {
  const args = [
    '--uri', `ldap://127.0.0.1:${o.port}`,
    '--mode', o.mode,
    '--base', o.base,
    '--connections', String(o.connections),
    '--seconds', String(o.seconds),
    '--warmup', String(o.warmup ?? 0),
    '--count', String(o.count ?? 0),
    '--threads', String(o.threads ?? 1),
  ];
  if (o.users !== undefined) args.push('--users', String(o.users));
  if (o.password !== undefined) args.push('--password', o.password);
  if (o.bindDn !== undefined) args.push('--bind-dn', o.bindDn, '--bind-password', o.bindPassword ?? '');
  if (o.expect !== undefined) args.push('--expect', String(o.expect));
  for (const pid of o.watchPids ?? []) args.push('--watch-pid', String(pid));
  const [cmd, argv] = pinned(o.cpus, bin, args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // Bind mode's warm-up runs a flow per user on a cold outpost: allow for it.
  const limitMs = ((o.seconds + (o.warmup ?? 0)) * 1000) + 300_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const line = stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`the load generator (${o.mode}) exited with ${code} and no result: ${stderr.trim()}`);
  return { ...(JSON.parse(line) as LoadResult), stderr: stderr.trim() };
}
