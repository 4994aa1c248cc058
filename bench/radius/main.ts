// RADIUS: the outpost (on the development core) side by side with a throwaway FreeRADIUS holding
// the same users, driven by the same load generator; the outpost's own overhead over the core's
// flow time; and an open-loop run at twice the outpost's sustainable rate (load shedding).
// Usage: npm run bench:radius [-- --seconds 5 --concurrency 32 --users 10000 --overload-seconds 30 --overload-factor 2]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CoreApi, createDispatcher } from '../../src/agent/core-api.ts';
import { createFlowExecutor, RADIUS_PARAMS, splitSecrets } from '../../src/flow/index.ts';
import { createRootLogger } from '../../src/log.ts';
import { userAgent } from '../../src/version.ts';
import { freePort, rssMb, until } from '../support.ts';
import { buildOutpost } from '../../scripts/build.ts';
import { startFreeRadius } from './freeradius.ts';
import { LoadGenerator, type RunResult } from './load.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    users: { type: 'string', default: '10000' },
    'overload-seconds': { type: 'string', default: '30' },
    'overload-factor': { type: 'string', default: '2' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const USERS = Number(values.users);
const OVERLOAD_SECONDS = Number(values['overload-seconds']);
const OVERLOAD_FACTOR = Number(values['overload-factor']);
/** The unloaded (one request at a time) runs are shorter. */
const SINGLE_SECONDS = Math.max(2, SECONDS / 2);
const PASSWORD = 'bench-pass';
const SECRET = 'demo-radius-secret';
/** A request unanswered after this long counts as dropped (a NAS would have retransmitted long before). */
const TIMEOUT_MS = 5_000;
const ROOT = new URL('../../', import.meta.url).pathname;


/** A loopback UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}


const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds of each process (and of this one, the load generator) over `fn`. */
async function withCpu<T>(pids: number[], fn: () => Promise<T>): Promise<{ result: T; cpu: number[]; self: number }> {
  const before = pids.map(cpuSeconds);
  const self0 = process.cpuUsage();
  const result = await fn();
  const self1 = process.cpuUsage(self0);
  return { result, cpu: pids.map((p, i) => cpuSeconds(p) - before[i]!), self: (self1.user + self1.system) / 1e6 };
}

/** System-wide UDP receive-buffer overflows (the kernel dropping datagrams before a server reads them). */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const vals = lines[1]?.split(/\s+/) ?? [];
  const i = names.indexOf('RcvbufErrors');
  return i > 0 ? Number(vals[i]) : NaN;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.kill('SIGTERM');
  return once(child, 'exit').then(() => undefined);
}

// ---- the outpost's /metrics ----------------------------------------------------------------

/** Every sample of the exposition, as `name{labels}` → value. */
type Samples = Map<string, number>;

async function scrape(metricsPort: number): Promise<Samples> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Sum over all label sets of `name`, after minus before. */
function delta(before: Samples, after: Samples, name: string): number {
  let sum = 0;
  for (const [k, v] of after) if (k === name || k.startsWith(`${name}{`)) sum += v - (before.get(k) ?? 0);
  return sum;
}

/** `label` value → delta, over the label sets of `name`. */
function deltaBy(before: Samples, after: Samples, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`${label}="([^"]*)"`);
  for (const [k, v] of after) {
    if (!k.startsWith(`${name}{`)) continue;
    const d = v - (before.get(k) ?? 0);
    const l = re.exec(k)?.[1] ?? '';
    if (d !== 0) out.set(l, (out.get(l) ?? 0) + d);
  }
  return out;
}

// ---- the development core and the outpost -------------------------------------------------

interface Outpost {
  radiusPort: number;
  metricsPort: number;
  coreUrl: string;
  pid: number;
  corePid: number;
  /** The outpost's full (mark-compact) GCs so far: when (performance.now()) and the live heap after it, MB. */
  fullGcs: { at: number; liveMb: number }[];
  stop(): Promise<void>;
}

/** The production build of this tree (as the image runs it), built once per bench run. */
let built: Promise<string> | undefined;
function outpostEntry(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-radius-build-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(`${ROOT}package.json`, join(dir, 'package.json'));
    await buildOutpost(join(dir, 'dist'));
    return join(dir, 'dist', 'main.js');
  })();
  return built;
}

async function startOutpost(users: number): Promise<Outpost> {
  const entry = await outpostEntry();
  const corePort = await freePort();
  const core = spawn(process.execPath, [`${ROOT}src/devcore/main.ts`], {
    env: { ...process.env, DEVCORE_SEED: `${ROOT}config/demo.yaml`, DEVCORE_LISTEN: `127.0.0.1:${corePort}`, DEMO_USERS: String(users), DEVCORE_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const coreUrl = `http://127.0.0.1:${corePort}`;
  try {
    await until('the development core', async () => (await fetch(`${coreUrl}/api/v3/root/config/`, { headers: { authorization: 'Bearer demo-radius-token' } })).ok);
  } catch (err) {
    await stopChild(core);
    throw err;
  }
  const [radiusPort, ldapPort, ldapsPort, metricsPort] = [await freeUdpPort(), await freePort(), await freePort(), await freePort()];
  // --trace-gc (full GCs only) is for the overload report: the live heap after each full GC is
  // what the outpost really retains; RSS also holds what V8 has not given back.
  const outpost = spawn(process.execPath, ['--max-semi-space-size=16', '--trace-gc', '--trace-gc-ignore-scavenger', entry], {
    env: {
      ...process.env,
      AUTHENTIK_HOST: coreUrl,
      AUTHENTIK_TOKEN: 'demo-radius-token',
      AUTHENTIK_LISTEN__RADIUS: `127.0.0.1:${radiusPort}`,
      AUTHENTIK_LISTEN__LDAP: `127.0.0.1:${ldapPort}`,
      AUTHENTIK_LISTEN__LDAPS: `127.0.0.1:${ldapsPort}`,
      AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${metricsPort}`,
      AUTHENTIK_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const fullGcs: Outpost['fullGcs'] = [];
  let partial = '';
  outpost.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /Mark-Compact[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
      if (m) fullGcs.push({ at: performance.now(), liveMb: Number(m[1]) });
    }
  });
  const stop = async () => {
    await stopChild(outpost);
    await stopChild(core);
  };
  try {
    await until('the outpost', async () => (await fetch(`http://127.0.0.1:${metricsPort}/outpost.goauthentik.io/ready`)).status === 204);
  } catch (err) {
    await stop();
    throw err;
  }
  return { radiusPort, metricsPort, coreUrl, pid: outpost.pid ?? 0, corePid: core.pid ?? 0, fullGcs, stop };
}

/** Until one Access-Request gets an Accept (the provider is applied, the flow is warm). */
async function probe(gen: LoadGenerator): Promise<void> {
  await until('a first Access-Accept', async () => (await gen.closedLoop(1, 0.05)).accepts > 0, 30_000);
}

// ---- the core alone: the same flow and access check, straight from this process ------------

interface CoreRun {
  count: number;
  failures: number;
  seconds: number;
  p50: number;
  p99: number;
  mean: number;
  /** CPU seconds this process (the flow executor) used over the run. */
  cpu: number;
}

async function measureCore(coreUrl: string, concurrency: number, seconds: number): Promise<CoreRun> {
  const dispatcher = createDispatcher({ insecure: false });
  try {
    const api = new CoreApi({ host: new URL(coreUrl), token: 'demo-radius-token', userAgent: userAgent(), dispatcher, timeoutMs: 10_000 });
    const provider = z.object({ auth_flow_slug: z.string(), application_slug: z.string(), mfa_support: z.boolean().default(true) });
    const p = (await api.list('/outposts/radius/', provider))[0];
    if (!p) throw new Error('the development core lists no RADIUS provider');
    const deps = { core: api, logger: createRootLogger({ level: 'silent' }) };
    let next = 0;
    // What src/radius/authenticate.ts does once the packet is decoded: the flow with the NAS as
    // the client address, then the application's access check.
    const run = async (): Promise<boolean> => {
      const username = `user${(next++ % USERS) + 1}`;
      const executor = createFlowExecutor(deps, { clientIp: '127.0.0.1' });
      const outcome = await executor.run({ flowSlug: p.auth_flow_slug, params: RADIUS_PARAMS, answers: { username, ...splitSecrets(PASSWORD, p.mfa_support) } });
      if (outcome.kind !== 'passed') return false;
      return (await executor.checkAccess(p.application_slug)).passing;
    };
    for (let i = 0; i < concurrency * 4; i++) await run(); // warm-up: JIT, connections
    const latencies: number[] = [];
    let failures = 0;
    const end = performance.now() + seconds * 1000;
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          const ok = await run().catch(() => false);
          if (ok) latencies.push(performance.now() - t);
          else failures++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpu1 = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    const q = (x: number) => latencies[Math.min(latencies.length - 1, Math.floor(x * latencies.length))] ?? NaN;
    return {
      count: latencies.length,
      failures,
      seconds: elapsed,
      p50: q(0.5),
      p99: q(0.99),
      mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      cpu: (cpu1.user + cpu1.system) / 1e6,
    };
  } finally {
    await dispatcher.close();
  }
}

// ---- output --------------------------------------------------------------------------------

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const rate = (r: { accepts: number; seconds: number }) => r.accepts / r.seconds;
const out = (s: string) => process.stdout.write(`${s}\n`);

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

function answers(r: RunResult): string {
  return `${r.accepts}/${r.rejects}/${r.timeouts}/${r.wrong}`;
}

/** Rejects (every password is right) and wrong answers are failures; say so loudly. */
function failures(name: string, r: RunResult): number {
  const n = r.rejects + r.wrong;
  if (n > 0) {
    out(`!!! ${name}: ${r.rejects} Access-Reject(s) and ${r.wrong} wrong answer(s) to correct credentials`);
    for (const s of r.wrongSamples) out(`!!!   ${s}`);
  }
  return n;
}

// ---- main ----------------------------------------------------------------------------------

interface Measured {
  result: RunResult;
  /** Server CPU seconds (outpost; or FreeRADIUS), the core's, the load generator's. */
  serverCpu: number;
  coreCpu: number;
  clientCpu: number;
}

async function closed(gen: LoadGenerator, pids: { server: number; core?: number }, concurrency: number, seconds: number): Promise<Measured> {
  const pidList = pids.core === undefined ? [pids.server] : [pids.server, pids.core];
  const m = await withCpu(pidList, () => gen.closedLoop(concurrency, seconds));
  return { result: m.result, serverCpu: m.cpu[0]!, coreCpu: m.cpu[1] ?? 0, clientCpu: m.self };
}

async function main(): Promise<void> {
  out(
    `RADIUS benchmark: ${USERS} users, PAP Access-Requests with Message-Authenticator, every reply verified; closed loop with ${CONCURRENCY} ` +
      `outstanding for ${SECONDS} s and 1 outstanding for ${SINGLE_SECONDS} s; then ${OVERLOAD_FACTOR}x the outpost's sustained rate for ${OVERLOAD_SECONDS} s`,
  );
  const load1 = loadavg()[0]!;
  out(
    `${availableParallelism()} CPUs shared by the load generator, the server and (for the outpost) the development core; load average ${fmt(load1, 2)}` +
      (load1 > 0.5 ? ' -- the machine is busy: expect lower and noisier numbers' : ''),
  );
  const target = { secret: SECRET, users: USERS, password: PASSWORD, timeoutMs: TIMEOUT_MS };
  let bad = 0;

  // FreeRADIUS
  const fr = await startFreeRadius({ port: await freeUdpPort(), users: USERS, password: PASSWORD, secret: SECRET });
  let ref: Measured;
  let refSingle: Measured;
  let refRss: number;
  try {
    const gen = await LoadGenerator.open({ ...target, port: fr.port }, 4);
    try {
      await probe(gen);
      await gen.closedLoop(CONCURRENCY, 1); // warm-up
      ref = await closed(gen, { server: fr.pid }, CONCURRENCY, SECONDS);
      refSingle = await closed(gen, { server: fr.pid }, 1, SINGLE_SECONDS);
      refRss = rssMb(fr.pid);
    } finally {
      gen.close();
    }
  } finally {
    await fr.stop();
  }

  // The outpost and the development core
  const outpost = await startOutpost(USERS);
  const rssStart = rssMb(outpost.pid);
  let ours: Measured;
  let single: Measured;
  let coreLoad: CoreRun;
  let coreSingle: CoreRun;
  let m0: Samples;
  let m1: Samples;
  let m2: Samples;
  let overload: RunResult;
  let overloadRate: number;
  let o0: Samples;
  let o1: Samples;
  const rss: { at: number; mb: number }[] = [];
  let maxInFlight = 0;
  let overloadStart = 0;
  let overloadEnd = 0;
  let rssBefore: number;
  let rssAfter: number;
  let kernelDrops: number;
  try {
    const pids = { server: outpost.pid, core: outpost.corePid };
    const gen = await LoadGenerator.open({ ...target, port: outpost.radiusPort }, 4);
    try {
      await probe(gen);
      await gen.closedLoop(CONCURRENCY, 2); // warm-up: JIT, the core connection pool
      // The core alone first: the outpost idles meanwhile, so that its unloaded run below does
      // not pay for the garbage of a loaded run just before it.
      coreLoad = await measureCore(outpost.coreUrl, CONCURRENCY, SECONDS);
      coreSingle = await measureCore(outpost.coreUrl, 1, SINGLE_SECONDS);

      m0 = await scrape(outpost.metricsPort);
      single = await closed(gen, pids, 1, SINGLE_SECONDS);
      m1 = await scrape(outpost.metricsPort);
      ours = await closed(gen, pids, CONCURRENCY, SECONDS);
      m2 = await scrape(outpost.metricsPort);

      // Overload: open loop at a multiple of the rate just sustained.
      overloadRate = Math.round(rate(ours.result) * OVERLOAD_FACTOR);
      await new Promise((r) => setTimeout(r, 500));
      rssBefore = rssMb(outpost.pid);
      o0 = await scrape(outpost.metricsPort);
      const k0 = udpRcvbufErrors();
      const sampler = setInterval(() => rss.push({ at: performance.now(), mb: rssMb(outpost.pid) }), 250);
      // How much work the outpost holds: the in-flight gauge (at most max_concurrent, or it queues).
      const gauge = setInterval(() => {
        scrape(outpost.metricsPort).then(
          (m) => (maxInFlight = Math.max(maxInFlight, m.get('authentik_outpost_radius_requests_in_flight') ?? 0)),
          () => undefined,
        );
      }, 500);
      overloadStart = performance.now();
      overloadEnd = overloadStart + OVERLOAD_SECONDS * 1000; // the sending window; stragglers come after
      try {
        overload = await gen.openLoop(overloadRate, OVERLOAD_SECONDS);
      } finally {
        clearInterval(sampler);
        clearInterval(gauge);
      }
      kernelDrops = udpRcvbufErrors() - k0;
      o1 = await scrape(outpost.metricsPort);
      await new Promise((r) => setTimeout(r, 1000));
      rssAfter = rssMb(outpost.pid);
    } finally {
      gen.close();
    }
  } finally {
    await outpost.stop();
  }

  // ---- report ----
  const load = ours.result;
  const refLoad = ref.result;
  const us = (cpu: number, r: RunResult) => fmt((cpu / r.accepts) * 1e6);
  const ratio = (a: number, b: number) => fmt(a / b, 2);
  out('');
  table([
    ['', 'outpost (+ devcore)', 'FreeRADIUS', 'outpost/FreeRADIUS'],
    [`Access-Requests/s, ${CONCURRENCY} outstanding`, fmt(rate(load)), fmt(rate(refLoad)), ratio(rate(load), rate(refLoad))],
    ['  p50 / p99 ms', `${fmt(load.p50, 2)} / ${fmt(load.p99, 2)}`, `${fmt(refLoad.p50, 2)} / ${fmt(refLoad.p99, 2)}`, ratio(load.p50, refLoad.p50)],
    ['  server CPU µs per request', `${us(ours.serverCpu, load)} (+ ${us(ours.coreCpu, load)} core)`, us(ref.serverCpu, refLoad), ratio(ours.serverCpu / load.accepts, ref.serverCpu / refLoad.accepts)],
    ['  load generator CPU', `${fmt((ours.clientCpu / load.seconds) * 100)}% of a core`, `${fmt((ref.clientCpu / refLoad.seconds) * 100)}% of a core`, ''],
    ['Access-Requests/s, 1 outstanding', fmt(rate(single.result)), fmt(rate(refSingle.result)), ratio(rate(single.result), rate(refSingle.result))],
    ['  p50 / p99 ms', `${fmt(single.result.p50, 2)} / ${fmt(single.result.p99, 2)}`, `${fmt(refSingle.result.p50, 2)} / ${fmt(refSingle.result.p99, 2)}`, ratio(single.result.p50, refSingle.result.p50)],
    ['accept/reject/timeout/wrong', `${answers(load)} + ${answers(single.result)}`, `${answers(refLoad)} + ${answers(refSingle.result)}`, ''],
    ['RSS MB (started / after the runs)', `${fmt(rssStart)} / ${fmt(rssBefore)}`, `- / ${fmt(refRss)}`, ''],
  ]);
  bad += failures('outpost', load) + failures('outpost', single.result) + failures('FreeRADIUS', refLoad) + failures('FreeRADIUS', refSingle.result);

  // Overhead
  /** Over the requests between two scrapes: mean ms inside the outpost's flow + access check, and in the flow's GET + POSTs. */
  const inside = (a: Samples, b: Samples) => {
    const n = delta(a, b, 'authentik_outpost_radius_request_duration_seconds_count');
    const handle = (delta(a, b, 'authentik_outpost_radius_request_duration_seconds_sum') / n) * 1000;
    const flow = ((delta(a, b, 'authentik_outpost_flow_timing_get_seconds_sum') + delta(a, b, 'authentik_outpost_flow_timing_post_seconds_sum')) / n) * 1000;
    return { n, handle, flow };
  };
  const inSingle = inside(m0, m1);
  const inLoad = inside(m1, m2);
  const overheadSingle = single.result.p50 - coreSingle.p50;
  const outsideLoad = load.mean - inLoad.handle;
  const outsideSingle = single.result.mean - inSingle.handle;
  out('');
  out("Outpost overhead. The core's time for the same work is measured by running the same flow (radius-authentication-flow)");
  out("and application access check, for the same users, with the project's flow executor from this process straight against");
  out('the same development core at the same concurrency (no RADIUS in between). With 1 outstanding nothing queues, so');
  out("outpost p50 - core p50 is the RADIUS layer's own cost. With many outstanding both p50s are mostly queueing at the");
  out("core (p50 ~ outstanding / rate) and their difference swings by milliseconds between runs; there the outpost's own");
  out("/metrics for the same requests are used instead: the client's mean latency minus the outpost's mean time inside flow");
  out('+ access check (`radius_request_duration`) is the time spent outside them (UDP, decode, checks, encode, waiting for');
  out("the event loop). Histogram buckets are too coarse for a p50 of that, hence means.");
  table([
    ['', `${CONCURRENCY} outstanding`, '1 outstanding'],
    ['core alone: flows/s', fmt(coreLoad.count / coreLoad.seconds), fmt(coreSingle.count / coreSingle.seconds)],
    ['core alone: p50 / p99 ms', `${fmt(coreLoad.p50, 2)} / ${fmt(coreLoad.p99, 2)}`, `${fmt(coreSingle.p50, 2)} / ${fmt(coreSingle.p99, 2)}`],
    ['core alone: executor CPU µs per flow', fmt((coreLoad.cpu / coreLoad.count) * 1e6), fmt((coreSingle.cpu / coreSingle.count) * 1e6)],
    ['outpost: CPU µs per request', fmt((ours.serverCpu / load.accepts) * 1e6), fmt((single.serverCpu / single.result.accepts) * 1e6)],
    ['outpost over RADIUS: p50 / p99 ms', `${fmt(load.p50, 2)} / ${fmt(load.p99, 2)}`, `${fmt(single.result.p50, 2)} / ${fmt(single.result.p99, 2)}`],
    ['outpost p50 - core p50 ms', `${fmt(load.p50 - coreLoad.p50, 2)} (queueing noise)`, fmt(overheadSingle, 2)],
    ['outpost /metrics, means ms: client', fmt(load.mean, 2), fmt(single.result.mean, 2)],
    ['  inside flow + access check', `${fmt(inLoad.handle, 2)} (flow ${fmt(inLoad.flow, 2)})`, `${fmt(inSingle.handle, 2)} (flow ${fmt(inSingle.flow, 2)})`],
    ['  outside them: overhead', fmt(outsideLoad, 2), fmt(outsideSingle, 2)],
  ]);
  if (coreLoad.failures + coreSingle.failures > 0) out(`!!! core alone: ${coreLoad.failures + coreSingle.failures} flows did not pass`);
  if (inLoad.n !== load.accepts + load.rejects || inSingle.n !== single.result.accepts + single.result.rejects) {
    out(`note: the outpost counted ${inSingle.n} + ${inLoad.n} requests, the client ${single.result.accepts + single.result.rejects} + ${load.accepts + load.rejects} answers`);
  }

  // Overload
  const drops = deltaBy(o0, o1, 'authentik_outpost_radius_packets_dropped_total', 'reason');
  const dropped = [...drops.values()].reduce((a, b) => a + b, 0);
  const unanswered = overload.timeouts;
  const peak = Math.max(...rss.map((r) => r.mb));
  /** RSS at a fraction of the sending window (the last sample taken by then). */
  const at = (f: number) => rss.filter((r) => r.at <= overloadStart + f * (overloadEnd - overloadStart) + 1).at(-1)?.mb ?? NaN;
  /** Growth over the last third of the run: a queue or a leak keeps growing; a heap that found its size does not. */
  const lastThird = at(1) - at(2 / 3);
  const gcs = outpost.fullGcs;
  const liveBefore = gcs.filter((g) => g.at < overloadStart).at(-1)?.liveMb ?? NaN;
  const liveDuring = gcs.filter((g) => g.at >= overloadStart && g.at <= overloadEnd);
  const split = overloadStart + ((overloadEnd - overloadStart) * 2) / 3;
  const liveMax = (l: typeof gcs) => (l.length > 0 ? Math.max(...l.map((g) => g.liveMb)) : NaN);
  const liveFirst = liveMax(liveDuring.filter((g) => g.at < split));
  const liveLast = liveMax(liveDuring.filter((g) => g.at >= split));
  out('');
  out(`Overload: open loop at ${overloadRate}/s (${OVERLOAD_FACTOR}x the ${fmt(rate(load))}/s sustained above) for ${OVERLOAD_SECONDS} s; unanswered after ${TIMEOUT_MS / 1000} s = dropped`);
  table([
    ['sent', String(overload.sent) + (overload.notSent > 0 ? ` (+${overload.notSent} not sent: no free identifier)` : '')],
    ['answered: correct Access-Accepts', `${overload.accepts} = ${fmt(overload.accepts / OVERLOAD_SECONDS)}/s (${fmt((overload.accepts / OVERLOAD_SECONDS / rate(load)) * 100)}% of the sustained rate), p50 ${fmt(overload.p50, 2)} ms, p99 ${fmt(overload.p99, 2)} ms`],
    ['answered wrongly: rejects / bad', `${overload.rejects} / ${overload.wrong}`],
    ['unanswered (dropped)', `${unanswered} (${fmt((unanswered / Math.max(1, overload.sent)) * 100, 1)}%)` + (overload.late > 0 ? `; ${overload.late} answered after ${TIMEOUT_MS} ms` : '')],
    ['outpost drop counter by reason', dropped > 0 ? [...drops].map(([k, v]) => `${k} ${v}`).join(', ') : '0'],
    ['kernel UDP receive-buffer drops', fmt(kernelDrops)],
    ['outpost requests in flight, max seen', `${maxInFlight} (max_concurrent 64 by default: beyond it, datagrams are dropped, not queued)`],
    ['outpost live heap MB (after full GCs)', `before ${fmt(liveBefore)}; during: ${liveDuring.map((g) => `${fmt((g.at - overloadStart) / 1000)} s ${fmt(g.liveMb)}`).join(', ') || 'no full GC'}`],
    ['outpost RSS MB', `before ${fmt(rssBefore)}; every ${fmt(OVERLOAD_SECONDS / 6, 1)} s: ${[1, 2, 3, 4, 5, 6].map((k) => fmt(at(k / 6))).join(' / ')}; peak ${fmt(peak)}; 1 s after ${fmt(rssAfter)}`],
  ]);
  bad += failures('outpost under overload', overload);
  const accounted = dropped + kernelDrops;
  if (Math.abs(accounted - unanswered) > Math.max(5, unanswered * 0.01)) {
    out(`note: ${unanswered} unanswered vs ${dropped} counted by the outpost + ${kernelDrops} by the kernel (the kernel counter is system-wide)`);
  }

  // Summary
  out('');
  out(
    `Summary: outpost ${fmt(rate(load))}/s vs FreeRADIUS ${fmt(rate(refLoad))}/s (${ratio(rate(load), rate(refLoad))}x) with ${CONCURRENCY} outstanding; ` +
      `overhead over the core ${fmt(overheadSingle, 2)} ms at p50 unloaded (${overheadSingle < 1 ? 'under' : 'NOT under'} the 1 ms target), ` +
      `${fmt(outsideLoad, 2)} ms mean with ${CONCURRENCY} outstanding (${outsideLoad < 1 ? 'under' : 'over'} 1 ms); ` +
      `at ${OVERLOAD_FACTOR}x for ${OVERLOAD_SECONDS} s: ${overload.accepts} answered, ${overload.rejects + overload.wrong} wrongly, ${unanswered} dropped, ` +
      `at most ${maxInFlight} in flight, live heap max ${fmt(liveFirst)} MB in the first two thirds vs ${fmt(liveLast)} MB in the last, ` +
      `RSS ${fmt(rssBefore)} -> peak ${fmt(peak)} MB (${lastThird >= 0 ? '+' : ''}${fmt(lastThird)} MB over the last third)` +
      (bad > 0 ? `; ${bad} WRONG ANSWERS` : '; no wrong answers'),
  );
  if (bad > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
