// LDAP: the outpost (cached bind and search modes, on the development core) against a throwaway
// OpenLDAP slapd (mdb) holding the same users, both driven by the same load generator in C on
// libldap (ldapload.c, compiled with gcc on first use). Both servers run throughout; runs are
// interleaved (slapd, outpost, slapd, …) so that neither ever has load while the other does.
// Pinned (the default): slapd and the outpost both on CPU 0, the generator and the development
// core on CPU 1. --unpinned leaves every process to the scheduler. --workers N runs the outpost
// with AUTHENTIK_WORKERS=N (a primary and N workers); pinned, both servers then get CPUs 0..N-1
// and the generator and the core CPU N (or the last CPU, shared, when there are not N+1).
// Tests: simple binds (--bind-users users cycling, each bound once before every run: the cache
// is warm), (cn=userN) subtree searches bound as a searcher, both at each --connections count,
// and one-level dumps of ou=users on one connection. Per test: both medians (ops/s, p50, p99),
// the ratio of the medians, the median of the per-run ratios, each server's CPU per operation
// (from /proc/PID/stat over the timed part) and the generator's own CPU.
// Usage: npm run bench:ldap [-- --runs 5 --seconds 6 --connections 4,32 --tests bind,search,dump
//        --users 10000 --bind-users 1000 --warmup 1 --unpinned --log-level error --skip-100k
//        --workers 1]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGenerator, runGenerator, type LoadMode, type LoadOptions, type LoadResult } from './generator.ts';
import { startOutpost, OUTPOST_SEARCHER, type Outpost } from './outpost.ts';
import { BASE_DN, SLAPD_SEARCHER, startSlapd, type Slapd } from './slapd.ts';
import { freePort, median, rssMb, rssTreeMb } from '../support.ts';
import { buildOutpost } from '../../scripts/build.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '4,32' },
    tests: { type: 'string', default: 'bind,search,dump' },
    users: { type: 'string', default: '10000' },
    'bind-users': { type: 'string', default: '1000' },
    threads: { type: 'string', default: '1' },
    unpinned: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'error' },
    'skip-100k': { type: 'boolean', default: false },
    // The outpost's entry script; by default the production build (scripts/build.ts) of this
    // tree. e.g. --outpost /tmp/old/src/main.ts to measure an older tree the same way.
    outpost: { type: 'string' },
  },
});

function whole(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected a whole number >= ${min}, got "${raw}"`);
  return n;
}
const RUNS = whole('runs', values.runs, 1);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
if (!(SECONDS > 0) || !(WARMUP >= 0)) throw new Error('--seconds must be > 0 and --warmup >= 0');
const CONNECTIONS = values.connections.split(',').map((c) => whole('connections', c.trim(), 1));
const TESTS = values.tests.split(',').map((t) => t.trim());
for (const t of TESTS) if (t !== 'bind' && t !== 'search' && t !== 'dump') throw new Error(`--tests: unknown test "${t}" (bind, search, dump)`);
const USERS = whole('users', values.users, 1);
const BIND_USERS = Math.min(whole('bind-users', values['bind-users'], 1), USERS);
const THREADS = whole('threads', values.threads, 1);
const PINNED = !values.unpinned;
/** The outpost's AUTHENTIK_WORKERS. */
const WORKERS = whole('workers', values.workers, 1);
const CPUS = availableParallelism();
/** The outpost's; error logs nothing per operation, as slapd's `loglevel 0` (at info it logs every bind, as authentik does). */
const LOG_LEVEL = values['log-level'];
/**
 * Pinned: both servers on CPU 0 (0..N-1 with --workers N, so slapd gets as many CPUs as the
 * outpost); the generator and the development core on the next CPU, or on the last one when
 * the servers take them all (then they share it: unpinned in practice).
 */
const SERVER_CPU = PINNED ? (WORKERS === 1 ? '0' : `0-${Math.min(WORKERS, CPUS) - 1}`) : undefined;
const CLIENT_CPU = PINNED ? String(Math.min(WORKERS, CPUS - 1)) : undefined;
const PASSWORD = 'bench-pass';
/** (cn=userN) from the base: the user and its virtual group, on both servers. */
const SEARCH_ENTRIES = 2;

const out = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const rate = (n: number) => (n >= 1000 ? `${fmt(n / 1000, 1)}k` : fmt(n, n >= 100 ? 0 : 1));
/** A duration in seconds, in µs or ms. */
const dur = (s: number) => (!Number.isFinite(s) ? '-' : s >= 0.01 ? `${fmt(s * 1000, 1)} ms` : `${fmt(s * 1e6, 0)} µs`);

interface Server {
  name: 'slapd' | 'outpost';
  port: number;
  pid: number;
  /** The outpost's development core: its CPU while the outpost is under load should be nil (all cached). */
  corePid: number | undefined;
  searcher: { dn: string; password: string };
  /** Entries a one-level dump of ou=users returns (found by a first dump, checked against the data). */
  dumpEntries: number;
  rssStart: number;
}

interface Test {
  label: string;
  mode: LoadMode;
  connections: number;
}

interface Run {
  r: LoadResult;
  /** The server's CPU seconds per successful operation over the timed part. */
  cpuPerOp: number;
  /** The development core's CPU seconds over the timed part (outpost runs). */
  coreCpu: number;
}

function testsToRun(): Test[] {
  const tests: Test[] = [];
  for (const t of TESTS) {
    if (t === 'dump') tests.push({ label: 'dump ×1', mode: 'dump', connections: 1 });
    else for (const c of CONNECTIONS) tests.push({ label: `${t} ×${c}`, mode: t as LoadMode, connections: c });
  }
  return tests;
}

function loadOptions(s: Server, t: Test): LoadOptions {
  const o: LoadOptions = {
    port: s.port,
    mode: t.mode,
    base: BASE_DN,
    connections: t.connections,
    seconds: SECONDS,
    warmup: WARMUP,
    threads: THREADS,
    watchPids: s.corePid === undefined ? [s.pid] : [s.pid, s.corePid],
    cpus: CLIENT_CPU,
  };
  if (t.mode === 'bind') return { ...o, users: BIND_USERS, password: PASSWORD };
  const searcher = { bindDn: s.searcher.dn, bindPassword: s.searcher.password };
  if (t.mode === 'search') return { ...o, ...searcher, users: USERS, expect: SEARCH_ENTRIES };
  return { ...o, ...searcher, expect: s.dumpEntries };
}

/** One dump, unchecked: how many entries this server's ou=users holds. */
async function probeDump(bin: string, s: Omit<Server, 'dumpEntries'>): Promise<number> {
  const r = await runGenerator(bin, { port: s.port, mode: 'dump', base: BASE_DN, connections: 1, seconds: 60, count: 1, bindDn: s.searcher.dn, bindPassword: s.searcher.password, expect: -1, cpus: CLIENT_CPU });
  if (r.ops !== 1) throw new Error(`a first dump of ${s.name} failed: ${r.stderr}`);
  return r.entries_max;
}

/** The CPUs a process may run on, as the kernel has them (shows that pinning took). */
function cpusAllowed(pid: number): string {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

function checkEnvironment(): void {
  if (spawnSync('/usr/sbin/slapd', ['-VV']).error) throw new Error('slapd is not installed: apt-get install slapd (its service need not run)');
  if (!PINNED) return;
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) throw new Error('taskset cannot pin to CPU 0 (apt-get install util-linux), or run with --unpinned');
  if (availableParallelism() < 2) throw new Error('pinning needs 2 CPUs (servers on 0, generator on 1): run with --unpinned');
}

async function main(): Promise<void> {
  checkEnvironment();
  const bin = buildGenerator();
  const tests = testsToRun();
  out(`LDAP benchmark: ${USERS} users, ${BIND_USERS} binding; ${RUNS} interleaved runs of ${SECONDS} s (after ${WARMUP} s untimed) per test and server`);
  out(`logging: slapd loglevel 0, the outpost at ${LOG_LEVEL}`);
  out(PINNED ? `pinned: slapd and the outpost on CPU ${SERVER_CPU}, the generator and the development core on CPU ${CLIENT_CPU}` : 'unpinned: every process on any CPU');
  if (WORKERS > 1) {
    out(`outpost: AUTHENTIK_WORKERS=${WORKERS} (a primary and ${WORKERS} workers; CPU/op and RSS count them all, RSS summed counts pages they share more than once)`);
    if (PINNED && WORKERS >= CPUS) out(`note: ${CPUS} CPUs and --workers ${WORKERS}: the servers may use every CPU, which the generator and the core share with them; pinned is unpinned in practice`);
  }
  out(`load average at start: ${loadavg().map((l) => fmt(l, 2)).join(' ')} (${availableParallelism()} CPUs)`);

  let slapd: Slapd | undefined;
  let outpost: Outpost | undefined;
  let failed = false;
  const buildDir = values.outpost === undefined ? mkdtempSync(join(tmpdir(), 'bench-ldap-build-')) : undefined;
  process.on('exit', () => buildDir && rmSync(buildDir, { recursive: true, force: true }));
  let main = values.outpost ?? '';
  if (buildDir !== undefined) {
    copyFileSync(new URL('../../package.json', import.meta.url), join(buildDir, 'package.json'));
    await buildOutpost(join(buildDir, 'dist'));
    main = join(buildDir, 'dist', 'main.js');
  }
  out(`outpost: ${values.outpost ?? 'the production build of this tree'}`);
  try {
    slapd = await startSlapd({ port: await freePort(), users: USERS, groups: 100, password: PASSWORD, cpus: SERVER_CPU });
    outpost = await startOutpost({ main, users: USERS, logLevel: LOG_LEVEL, cpus: SERVER_CPU, coreCpus: CLIENT_CPU, workers: WORKERS });
    const base = [
      { name: 'slapd' as const, port: slapd.port, pid: slapd.pid, corePid: undefined, searcher: SLAPD_SEARCHER, rssStart: rssMb(slapd.pid) },
      { name: 'outpost' as const, port: outpost.port, pid: outpost.pid, corePid: outpost.corePid, searcher: OUTPOST_SEARCHER, rssStart: rssTreeMb(outpost.pid) },
    ];
    const servers: Server[] = [];
    for (const s of base) servers.push({ ...s, dumpEntries: TESTS.includes('dump') ? await probeDump(bin, s) : 0 });
    const [ref, cand] = servers as [Server, Server];
    if (TESTS.includes('dump')) {
      // slapd's ou=users holds the generated users only; the outpost's also the demo's few accounts.
      if (ref.dumpEntries !== USERS) throw new Error(`slapd's ou=users holds ${ref.dumpEntries} entries, expected ${USERS}`);
      if (cand.dumpEntries < USERS || cand.dumpEntries > USERS + 50) throw new Error(`the outpost's ou=users holds ${cand.dumpEntries} entries, expected ${USERS} and the demo's accounts`);
      out(`dump: ${ref.dumpEntries} entries from slapd, ${cand.dumpEntries} from the outpost (the demo's accounts too); every dump must return exactly that many`);
    }
    out(`CPUs allowed: slapd ${cpusAllowed(ref.pid)}, outpost ${cpusAllowed(cand.pid)}`);
    out(`RSS after start: outpost ${fmt(cand.rssStart)} MB, slapd ${fmt(ref.rssStart)} MB`);
    out('');

    const results = new Map<Test, [Run[], Run[]]>();
    for (const t of tests) {
      const runs: [Run[], Run[]] = [[], []];
      results.set(t, runs);
      for (let i = 0; i < RUNS; i++) {
        for (const [k, s] of servers.entries()) {
          const r = await runGenerator(bin, loadOptions(s, t));
          const [serverCpu = -1, coreCpu = NaN] = r.watched_cpu_s;
          const cpuPerOp = serverCpu >= 0 && r.ops > 0 ? serverCpu / r.ops : NaN;
          runs[k]!.push({ r, cpuPerOp, coreCpu });
          const bad = r.errors + r.warmup_errors + r.dead_connections;
          if (bad > 0) failed = true;
          out(
            `${t.label.padEnd(10)} run ${i + 1}/${RUNS} ${s.name.padEnd(7)} ${rate(r.ops_per_s).padStart(7)}/s  p50 ${fmt(r.p50_ms, 3)}  p99 ${fmt(r.p99_ms, 3)} ms  ` +
              `server ${dur(cpuPerOp)}/op  generator ${fmt(r.cpu_cores, 2)} cores` +
              (s.corePid !== undefined ? `  core ${coreCpu >= 0 ? `${fmt(coreCpu, 2)} s` : 'gone'}` : '') +
              (bad > 0 ? `  ERRORS ${r.errors} (+${r.warmup_errors} in warm-up, ${r.dead_connections} connections lost): ${r.stderr.split('\n')[0]}` : ''),
          );
        }
      }
    }
    const rssAfter = rssTreeMb(cand.pid);

    out('');
    const rows: string[][] = [[
      'test', 'slapd /s', 'p50 ms', 'p99 ms', 'outpost /s', 'p50 ms', 'p99 ms',
      'ratio of medians', 'median pair ratio', 'p99 outpost/slapd', 'slapd CPU/op', 'outpost CPU/op', 'generator cores (max)', 'errors',
    ]];
    for (const t of tests) {
      const [a, b] = results.get(t)!;
      const m = (runs: Run[], f: (r: Run) => number) => median(runs.map(f));
      const [ra, rb] = [m(a, (x) => x.r.ops_per_s), m(b, (x) => x.r.ops_per_s)];
      const pairs = a.map((x, i) => b[i]!.r.ops_per_s / x.r.ops_per_s);
      const p99 = [m(a, (x) => x.r.p99_ms), m(b, (x) => x.r.p99_ms)] as const;
      const gen = Math.max(...a.concat(b).map((x) => x.r.cpu_cores));
      const errors = a.concat(b).reduce((n, x) => n + x.r.errors + x.r.warmup_errors + x.r.dead_connections, 0);
      rows.push([
        t.label,
        rate(ra), fmt(m(a, (x) => x.r.p50_ms), 3), fmt(p99[0], 3),
        rate(rb), fmt(m(b, (x) => x.r.p50_ms), 3), fmt(p99[1], 3),
        `${fmt(rb / ra, 2)}×`, `${fmt(median(pairs), 2)}×`, `${fmt(p99[1] / p99[0], 2)}×`,
        dur(m(a, (x) => x.cpuPerOp)), dur(m(b, (x) => x.cpuPerOp)), fmt(gen, 2), String(errors),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) out(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
    out('');
    out('ratios are outpost/slapd throughput (for dumps: dumps per second, so > 1 means the outpost dumps faster); medians over the runs;');
    out('CPU/op: the server process and its descendants over the timed part, from /proc/PID/stat, divided by successful operations');
    out(`outpost RSS: ${fmt(cand.rssStart)} MB after start, ${fmt(rssAfter)} MB after load; slapd ${fmt(ref.rssStart)} MB after start, ${fmt(rssMb(ref.pid))} MB after load`);
    const genMax = Math.max(...[...results.values()].flatMap(([a, b]) => a.concat(b).map((x) => x.r.cpu_cores)));
    if (genMax > 0.7) out(`WARNING: the generator used up to ${fmt(genMax, 2)} cores in a run: it may be limiting the fastest server`);
    const gone = outpost.early();
    if (gone !== undefined) {
      failed = true;
      out(`FAILED: ${gone}; the runs after it are not the setup described`);
    }
    const coreMax = Math.max(0, ...[...results.values()].flatMap(([, b]) => b.map((x) => x.coreCpu)).filter(Number.isFinite));
    if (coreMax > 0.05) out(`WARNING: the development core used up to ${fmt(coreMax, 2)} s of CPU in a timed outpost run: the outpost's CPU/op leaves that out`);
    out(`load average at end: ${loadavg().map((l) => fmt(l, 2)).join(' ')}`);
  } finally {
    await outpost?.stop();
    await slapd?.stop();
  }

  if (!values['skip-100k']) {
    const big = await startOutpost({ main, users: 100_000, logLevel: LOG_LEVEL, cpus: SERVER_CPU, coreCpus: CLIENT_CPU, workers: WORKERS });
    try {
      const start = rssTreeMb(big.pid);
      const r = await runGenerator(bin, { port: big.port, mode: 'dump', base: BASE_DN, connections: 1, seconds: 120, count: 3, bindDn: OUTPOST_SEARCHER.dn, bindPassword: OUTPOST_SEARCHER.password, expect: -1, cpus: CLIENT_CPU });
      if (r.errors > 0 || r.ops === 0) failed = true;
      out(`outpost with 100000 users: RSS ${fmt(start)} MB after start, ${fmt(rssTreeMb(big.pid))} MB after ${r.ops} dumps of ${r.entries_max} entries (p50 ${fmt(r.p50_ms, 0)} ms)`);
    } finally {
      await big.stop();
    }
  }
  if (failed) {
    out('FAILED: see ERRORS or FAILED above; those runs are not measurements');
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
