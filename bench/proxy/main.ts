// Proxy: the outpost side by side with nginx, driven by the same load generator (Debian wrk) in
// one run. (a) Proxy mode with a logged-in session cookie against nginx `proxy_pass`, both to
// the same static upstream (an nginx server returning 200). (b) nginx `auth_request` asking the
// outpost's /outpost.goauthentik.io/auth/nginx with a logged-in cookie against the same
// `auth_request` asking a trivial Node endpoint (200 with one header). Then the outpost's RSS
// with 10,000 live sessions, created through its real header-auth path.
// Usage: npm run bench:proxy [-- --seconds 5 --connections 32 --rounds 2 --sessions 10000]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { DevCore } from '../../src/devcore/index.ts';
import type { SeedDocument } from '../../src/devcore/seed.ts';
import { call, Jar, loginAtCore } from '../../test/proxy/e2e/support.ts';
import { freePort, rssMb, until } from '../support.ts';
import { startNginx, UPSTREAM_BODY, type Nginx } from './nginx.ts';
import { wrk, type WrkRun } from './wrk.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    sessions: { type: 'string', default: '10000' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const SESSIONS = Number(values.sessions);
const ROOT = new URL('../../', import.meta.url).pathname;
const TOKEN = 'proxy-outpost-token';
const APP_HOST = 'app.example.com';
const FWD_HOST = 'fs.example.com';
const P1_CLIENT = 'AbCdEfGh1234proxyclient';

const out = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.kill('SIGTERM');
  return once(child, 'exit').then(() => undefined);
}

/** The proxy e2e seed with P1's upstream pointed at nginx's static server and 1 h tokens. */
function seed(dir: string, upstreamPort: number): string {
  const doc = parseYaml(readFileSync(`${ROOT}config/proxy-test.yaml`, 'utf8')) as SeedDocument;
  for (const p of doc.providers ?? []) {
    if (p.type !== 'proxy') continue;
    if (p.name === 'p1-proxy') p.internal_host = `http://127.0.0.1:${upstreamPort}`;
    (p as { access_token_validity?: string }).access_token_validity = 'hours=1';
  }
  const path = join(dir, 'seed.yaml');
  writeFileSync(path, stringifyYaml(doc));
  return path;
}

/** Sum of every sample of `name` in an exposition. */
async function metricSum(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** One browser login through /start for `host`; returns the Cookie header for the outpost. */
async function login(outpostOrigin: string, coreUrl: string, host: string): Promise<string> {
  const jar = new Jar();
  const start = await call(outpostOrigin, `/outpost.goauthentik.io/start?rd=${encodeURIComponent(`https://${host}/`)}`, { host, jar });
  if (start.status !== 302 || !start.location?.startsWith(coreUrl)) throw new Error(`/start on ${host} answered ${start.status} ${start.location ?? ''}`);
  const callback = new URL(await loginAtCore({ url: coreUrl } as DevCore, start.location, 'alice', 'alice-password', new Jar()));
  const done = await call(outpostOrigin, `${callback.pathname}${callback.search}`, { host, jar });
  if (done.status !== 302) throw new Error(`the callback on ${host} answered ${done.status}: ${done.body.slice(0, 200)}`);
  const cookie = jar.header();
  if (!cookie) throw new Error(`no session cookie for ${host}`);
  return cookie;
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The processes doing the serving (CPU per request). */
  pids: () => number[];
  /** Counts what the outpost handled, to cross-check wrk (which takes a 302 for a success). */
  handled?: () => Promise<number>;
}

interface Measured {
  run: WrkRun;
  serverCpu: number;
  handled: number | undefined;
}

async function measure(t: Target, seconds: number): Promise<Measured> {
  const pids = t.pids();
  const before = pids.map(cpuSeconds);
  const h0 = await t.handled?.();
  const run = await wrk({ url: t.url, headers: t.headers, connections: CONNECTIONS, threads: 1, seconds });
  const h1 = await t.handled?.();
  const serverCpu = pids.reduce((a, p, i) => a + cpuSeconds(p) - before[i]!, 0);
  return { run, serverCpu, handled: h0 === undefined || h1 === undefined ? undefined : h1 - h0 };
}

/** The best round by requests/s (the least disturbed by other work on the machine). */
const best = (ms: Measured[]) => ms.reduce((a, b) => (b.run.rps > a.run.rps ? b : a));

async function main(): Promise<void> {
  const load1 = loadavg()[0]!;
  out(`Proxy benchmark: wrk -t1 -c${CONNECTIONS}, ${SECONDS} s per run, ${ROUNDS} rounds (best shown), then ${SESSIONS} sessions`);
  out(
    `${availableParallelism()} CPUs shared by wrk, nginx (1 worker), the outpost (1 event loop) and the trivial endpoint; load average ${fmt(load1, 2)}` +
      (load1 > 0.5 ? ' -- the machine is busy: expect lower and noisier numbers' : ''),
  );
  const dir = mkdtempSync(join(tmpdir(), 'bench-proxy-'));
  const children: ChildProcess[] = [];
  let nginx: Nginx | undefined;
  try {
    const [corePort, upstream, proxyPass, authOutpost, authTrivial, trivialPort, httpPort, httpsPort, metricsPort, ldapPort, ldapsPort, radiusPort] = await Promise.all(
      Array.from({ length: 12 }, () => freePort()),
    );
    const core = spawn(process.execPath, [`${ROOT}src/devcore/main.ts`], {
      env: { ...process.env, DEVCORE_SEED: seed(dir, upstream!), DEVCORE_LISTEN: `127.0.0.1:${corePort}`, DEVCORE_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(core);
    const coreUrl = `http://127.0.0.1:${corePort}`;
    await until('the development core', async () => (await fetch(`${coreUrl}/api/v3/root/config/`, { headers: { authorization: `Bearer ${TOKEN}` } })).ok);

    // The trivial auth endpoint: its own process, like the outpost.
    const trivial = spawn(
      process.execPath,
      ['-e', `require('node:http').createServer((q, s) => { s.writeHead(200, { 'X-authentik-username': 'alice' }); s.end(); }).listen(${trivialPort}, '127.0.0.1')`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(trivial);

    nginx = await startNginx(dir, { upstream: upstream!, proxyPass: proxyPass!, authOutpost: authOutpost!, authTrivial: authTrivial! }, httpPort!, trivialPort!);
    await until('the trivial endpoint', async () => (await fetch(`http://127.0.0.1:${trivialPort}/`)).ok, 10_000);

    const outpost = spawn(process.execPath, ['--max-semi-space-size=16', `${ROOT}src/main.ts`], {
      env: {
        ...process.env,
        AUTHENTIK_HOST: coreUrl,
        AUTHENTIK_TOKEN: TOKEN,
        AUTHENTIK_LISTEN__HTTP: `127.0.0.1:${httpPort}`,
        AUTHENTIK_LISTEN__HTTPS: `127.0.0.1:${httpsPort}`,
        AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${metricsPort}`,
        AUTHENTIK_LISTEN__LDAP: `127.0.0.1:${ldapPort}`,
        AUTHENTIK_LISTEN__LDAPS: `127.0.0.1:${ldapsPort}`,
        AUTHENTIK_LISTEN__RADIUS: `127.0.0.1:${radiusPort}`,
        AUTHENTIK_LOG_LEVEL: 'error',
        // e.g. BENCH_OUTPOST_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the outpost alone.
        ...(process.env['BENCH_OUTPOST_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_OUTPOST_NODE_OPTIONS'] } : {}),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(outpost);
    const outpostPid = outpost.pid ?? 0;
    const outpostOrigin = `http://127.0.0.1:${httpPort}`;
    await until('the outpost', async () => (await fetch(`http://127.0.0.1:${metricsPort}/outpost.goauthentik.io/ready`)).status === 204);
    await until('the proxy providers', async () => (await call(outpostOrigin, '/', { host: APP_HOST })).status === 302, 30_000);
    const rssStart = rssMb(outpostPid);

    const appCookie = await login(outpostOrigin, coreUrl, APP_HOST);
    const fwdCookie = await login(outpostOrigin, coreUrl, FWD_HOST);

    // Every target answers what it should before any load (wrk cannot tell a 302 from a 200).
    const proxied = await call(outpostOrigin, '/', { host: APP_HOST, headers: { cookie: appCookie } });
    if (proxied.status !== 200 || proxied.body !== UPSTREAM_BODY) throw new Error(`proxy mode answered ${proxied.status}: ${proxied.body.slice(0, 200)}`);
    const viaNginx = await call(`http://127.0.0.1:${proxyPass}`, '/', { host: APP_HOST });
    if (viaNginx.status !== 200 || viaNginx.body !== UPSTREAM_BODY) throw new Error(`nginx proxy_pass answered ${viaNginx.status}`);
    for (const [port, cookie] of [[authOutpost!, fwdCookie], [authTrivial!, undefined]] as const) {
      const r = await call(`http://127.0.0.1:${port}`, '/', { host: FWD_HOST, headers: cookie ? { cookie } : {} });
      if (r.status !== 200 || r.headers['x-authentik-username'] !== 'alice') throw new Error(`auth_request on ${port} answered ${r.status}, user ${String(r.headers['x-authentik-username'])}`);
    }
    const denied = await call(`http://127.0.0.1:${authOutpost}`, '/', { host: FWD_HOST });
    if (denied.status !== 401) throw new Error(`auth_request without a cookie answered ${denied.status}, not 401`);

    // Before the load, so that RSS shows the sessions and not the garbage of the runs (and the
    // runs look sessions up among 10,000).
    const rssBeforeSessions = rssMb(outpostPid);
    // 10,000 live sessions through the real path: a Bearer request without a cookie is
    // introspected (once: the header cache), then saved into a new session with its own cookie.
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: P1_CLIENT, username: 'alice', password: 'alice-password', scope: 'openid profile email ak_proxy' });
    const tok = await call(coreUrl, '/application/o/token/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    if (tok.status !== 200) throw new Error(`client_credentials answered ${tok.status}: ${tok.body}`);
    const bearer = (JSON.parse(tok.body) as { access_token: string }).access_token;
    const pool = new Pool(outpostOrigin, { connections: 32 });
    let created = 0;
    let next = 0;
    const t0 = performance.now();
    try {
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < SESSIONS) {
            next++;
            const r = await pool.request({ path: '/', method: 'GET', headers: { host: APP_HOST, authorization: `Bearer ${bearer}` } });
            await r.body.dump();
            const sc = r.headers['set-cookie'];
            if (r.statusCode === 200 && sc !== undefined && String(sc).startsWith('authentik_proxy_AbCdEfGh=')) created++;
          }
        }),
      );
    } finally {
      await pool.close();
    }
    const sessionSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const rssSessions = rssMb(outpostPid);


    const ng = nginx;
    const upstreamCount = () => metricSum(metricsPort!, 'authentik_outpost_proxy_upstream_response_duration_seconds_count');
    const requestCount = () => metricSum(metricsPort!, 'authentik_outpost_proxy_request_duration_seconds_count');
    const targets: Target[] = [
      { name: 'outpost proxy mode', url: `${outpostOrigin}/`, headers: { Host: APP_HOST, Cookie: appCookie }, pids: () => [outpostPid, ng.workerPid()], handled: upstreamCount },
      { name: 'nginx proxy_pass', url: `http://127.0.0.1:${proxyPass}/`, headers: { Host: APP_HOST }, pids: () => [ng.workerPid()] },
      { name: 'auth_request -> outpost', url: `http://127.0.0.1:${authOutpost}/`, headers: { Host: FWD_HOST, Cookie: fwdCookie }, pids: () => [outpostPid, ng.workerPid()], handled: requestCount },
      { name: 'auth_request -> trivial', url: `http://127.0.0.1:${authTrivial}/`, headers: { Host: FWD_HOST, Cookie: fwdCookie }, pids: () => [trivial.pid ?? 0, ng.workerPid()] },
    ];
    for (const t of targets) await measure(t, 2); // warm-up: JIT, keep-alive pools
    const results = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
    for (let r = 0; r < ROUNDS; r++) for (const t of targets) results.get(t.name)!.push(await measure(t, SECONDS));
    const rssAfterLoad = rssMb(outpostPid);

    // ---- report ----
    const rows: string[][] = [['', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU µs/req', 'wrk CPU']];
    for (const t of targets) {
      const m = best(results.get(t.name)!);
      const errs = m.run.non2xx3xx + m.run.socketErrors;
      rows.push([
        t.name,
        fmt(m.run.rps),
        fmt(m.run.p50, 2),
        fmt(m.run.p99, 2),
        String(errs),
        fmt((m.serverCpu / m.run.requests) * 1e6),
        `${fmt((m.run.cpu / m.run.seconds) * 100)}% of a core`,
      ]);
    }
    out('');
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
    out('(server CPU: the outpost + the nginx worker, or the nginx worker alone, or the trivial endpoint + the nginx worker)');
    out(`all rounds, req/s: ${targets.map((t) => `${t.name} ${results.get(t.name)!.map((m) => fmt(m.run.rps)).join('/')}`).join('; ')}`);

    let bad = 0;
    for (const t of targets) {
      for (const m of results.get(t.name)!) {
        if (m.run.non2xx3xx + m.run.socketErrors > 0) {
          bad++;
          out(`!!! ${t.name}: ${m.run.non2xx3xx} non-2xx/3xx answers, ${m.run.socketErrors} socket errors`);
        }
        // wrk stops counting at the deadline while up to -c requests are still in flight.
        if (m.handled !== undefined && Math.abs(m.handled - m.run.requests) > CONNECTIONS * 2) {
          bad++;
          out(`!!! ${t.name}: wrk counted ${m.run.requests} answers, the outpost handled ${m.handled} (some were not authenticated?)`);
        }
      }
    }
    const proxyRatio = best(results.get(targets[0]!.name)!).run.rps / best(results.get(targets[1]!.name)!).run.rps;
    const authRatio = best(results.get(targets[2]!.name)!).run.rps / best(results.get(targets[3]!.name)!).run.rps;
    out('');
    out(`proxy mode / nginx proxy_pass:           ${fmt(proxyRatio, 2)}x (target >= 0.7x: ${proxyRatio >= 0.7 ? 'met' : 'NOT met'})`);
    out(`auth_request: outpost / trivial endpoint: ${fmt(authRatio, 2)}x (target >= 0.9x: ${authRatio >= 0.9 ? 'met' : 'NOT met'})`);
    // CPU per request moves less than req/s when other work shares the machine.
    const cpu = (i: number) => { const m = best(results.get(targets[i]!.name)!); return m.serverCpu / m.run.requests; };
    out(`server CPU per request, reference / ours (less sensitive to a busy machine): proxy mode ${fmt(cpu(1) / cpu(0), 2)}x, forward auth ${fmt(cpu(3) / cpu(2), 2)}x`);
    out(
      `outpost RSS: ${fmt(rssStart)} MB started, ${fmt(rssBeforeSessions)} MB after 2 logins, ${fmt(rssSessions)} MB with ${created} more live sessions ` +
        `(created in ${fmt(sessionSeconds, 1)} s; +${fmt(rssSessions - rssBeforeSessions, 1)} MB, ~${fmt(((rssSessions - rssBeforeSessions) * 1024 * 1024) / Math.max(1, created))} B per session by RSS), ` +
        `${fmt(rssAfterLoad)} MB after the load runs with them`,
    );
    out(`  (every session holds its own claims; they share one ${bearer.length}-character token string, which distinct logins would not: add ~${fmt((bearer.length * created) / 1024 / 1024, 1)} MB for that)`);
    if (created !== SESSIONS) {
      bad++;
      out(`!!! ${SESSIONS - created} of ${SESSIONS} header-auth requests created no session`);
    }
    if (bad > 0) process.exitCode = 1;
  } finally {
    await nginx?.stop();
    for (const c of children.reverse()) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
