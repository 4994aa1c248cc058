// Two outpost processes sharing one session store, for each shared backend: a login on one is a
// session on the other (also when the callback lands on the other), a sign-out or a core session
// end on one ends it on the other within a second, a credential one verified by header auth is
// reused by the other, a replica killed with SIGKILL comes back to the same sessions, a store
// outage fails closed (302 or 401, never 200, each answer within a bound), reports not ready and
// recovers, and a replica started while the store is down serves fail-closed until it is back.
//
// The replicas are real processes (`node src/main.ts`, configured by environment variables) on
// free loopback ports; the development core runs in this process. Replica B reaches the core's
// API through a TCP relay the test can cut, so that a websocket message goes to A alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { request } from 'undici';
import { startDevCore, type DevCore } from '../../../src/devcore/index.ts';
import { call, Jar, loginAtCore, OUTPOST_TOKEN, proxySeed, startEchoUpstream, type EchoUpstream, type Reply } from '../e2e/support.ts';
import { freePort } from '../../support/reverse-proxy.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { startRedis } from '../../support/redis.ts';
import { waitFor } from '../../support/wait.ts';

const MAIN = new URL('../../../src/main.ts', import.meta.url).pathname;
const APP = 'https://app.example.com';
const FS = 'https://fs.example.com';
const OUTPOST = 'test-outpost';
/** Store operations give up after this; the outpost's answers must come within it plus slack. */
const STORE_TIMEOUT_MS = 500;

type Backend = 'postgres' | 'redis';
const BACKENDS: readonly Backend[] = ['postgres', 'redis'];

/** A store server the test can freeze (accepts, never answers) and thaw. */
interface StoreServer {
  readonly url: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

async function startStore(backend: Backend): Promise<StoreServer> {
  if (backend === 'postgres') {
    const pg: PostgresServer = await startPostgres();
    const url = await pg.createDatabase('outpost');
    return { url, freeze: () => pg.freeze(), thaw: () => pg.thaw(), close: () => pg.destroy() };
  }
  const redis = await startRedis({ password: 'redis-test-password' });
  return { url: redis.url(0), freeze: () => redis.pause(), thaw: () => redis.resume(), close: () => redis.stop() };
}

/** A TCP relay to the core that can be cut (existing connections dropped, new ones refused). */
interface Relay {
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startRelay(targetPort: number): Promise<Relay> {
  const open = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      cut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      cut = false;
    },
    close: () => {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** One outpost process. */
class Replica {
  readonly name: string;
  private readonly env: NodeJS.ProcessEnv;
  readonly http: number;
  readonly metrics: number;
  private child: ChildProcess | undefined;
  /** Everything it logged (JSON lines), across restarts. */
  out = '';

  constructor(name: string, env: NodeJS.ProcessEnv, ports: { http: number; https: number; metrics: number }) {
    this.name = name;
    this.http = ports.http;
    this.metrics = ports.metrics;
    this.env = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      AUTHENTIK_TOKEN: OUTPOST_TOKEN,
      AUTHENTIK_LISTEN__HTTP: `127.0.0.1:${ports.http}`,
      AUTHENTIK_LISTEN__HTTPS: `127.0.0.1:${ports.https}`,
      AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${ports.metrics}`,
      AUTHENTIK_OUTPOST__RELOAD_OFFSET_MAX: '0',
      AUTHENTIK_OUTPOST__API_TIMEOUT: '2s',
      AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT: `${STORE_TIMEOUT_MS}ms`,
      AUTHENTIK_LOG_LEVEL: 'info',
      ...env,
    };
  }

  get origin(): string {
    return `http://127.0.0.1:${this.http}`;
  }

  /** Spawns it and waits until it is ready (or, with `ready: false`, until it serves HTTP). */
  async start(opts: { ready?: boolean } = {}): Promise<void> {
    const child = spawn(process.execPath, [MAIN], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    try {
      await waitFor(`${this.name} ${opts.ready === false ? 'serving' : 'ready'}`, async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited ${child.exitCode}`);
        if (opts.ready === false) return (await call(this.origin, '/outpost.goauthentik.io/ping')).status === 204;
        return (await this.ready()) === 204;
      }, 60_000, 100);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.name}'s output:\n${this.out.slice(-3000)}`);
    }
  }

  /** The status of `/outpost.goauthentik.io/ready`. */
  async ready(): Promise<number> {
    const r = await request(`http://127.0.0.1:${this.metrics}/outpost.goauthentik.io/ready`);
    await r.body.dump();
    return r.statusCode;
  }

  async metricsText(): Promise<string> {
    const r = await request(`http://127.0.0.1:${this.metrics}/metrics`);
    return r.body.text();
  }

  /** SIGKILL, by PID: no shutdown of any kind. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    process.kill(c.pid!, 'SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    process.kill(c.pid!, 'SIGTERM');
    const timer = setTimeout(() => c.pid !== undefined && c.exitCode === null && process.kill(c.pid, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** A browser request for `url` (any host), sent to this replica. */
  get(url: string, jar: Jar, headers: Record<string, string> = {}): Promise<Reply> {
    const u = new URL(url);
    return call(this.origin, `${u.pathname}${u.search}`, { jar, host: u.host, headers });
  }

  /** nginx `auth_request` for `url`. */
  nginx(url: string, jar: Jar): Promise<Reply> {
    return call(this.origin, '/outpost.goauthentik.io/auth/nginx', { jar, host: new URL(url).host, headers: { 'x-original-url': url } });
  }
}

/**
 * True for a URL at the core. B reaches the core through the relay, and the core (like
 * authentik) builds the URLs it hands out from the Host it was asked with: B sends browsers to
 * the relay's address, which leads to the same core.
 */
function atCore(url: string | undefined): url is string {
  return url !== undefined && (url.startsWith(`${core.url}/`) || url.startsWith(`${relay.url}/`));
}

/** Follows a replica's 302s from `url` until one leads to the core; returns the authorize URL. */
async function toCore(replica: Replica, url: string, jar: Jar): Promise<string> {
  let r = await replica.get(url, jar);
  for (let i = 0; i < 3 && r.status === 302 && r.location && !atCore(r.location); i++) r = await replica.get(r.location, jar);
  assert.ok(r.status === 302 && atCore(r.location), `expected a redirect to the core, got ${r.status} ${r.location ?? ''}`);
  return r.location;
}

/** A whole login: started on `start`, the callback delivered to `finish`. Returns the callback's answer. */
async function login(start: Replica, finish: Replica, url: string, jar: Jar, coreJar = new Jar(), user = 'alice', password = 'alice-password'): Promise<Reply> {
  const callback = await loginAtCore(core, await toCore(start, url, jar), user, password, coreJar);
  return finish.get(callback, jar);
}

/** The username the upstream saw, or the status when the request did not reach it. */
async function upstreamUser(replica: Replica, jar: Jar, path = '/x'): Promise<string> {
  const r = await replica.get(`${APP}${path}`, jar);
  if (r.status !== 200) return `status ${r.status}`;
  const hit = JSON.parse(r.body) as { headers: Record<string, string> };
  return hit.headers['x-authentik-username'] ?? '(none)';
}

// One core and relay at a time (the suites run one after the other).
let core: DevCore;
let relay: Relay;

for (const backend of BACKENDS) {
  describe(`two replicas sharing a ${backend} session store`, { timeout: 300_000 }, () => {
    let store: StoreServer;
    let upstream: EchoUpstream;
    let a: Replica;
    let b: Replica;
    let c: Replica | undefined;
    let storeEnv: NodeJS.ProcessEnv;
    let port: () => Promise<number>;

    before(async () => {
      store = await startStore(backend);
      upstream = await startEchoUpstream();
      core = await startDevCore({ seed: proxySeed(upstream.port), port: 0, authentikVersion: '2026.8' });
      relay = await startRelay(core.port);
      // Six distinct ports (a port freed a moment ago can be handed out again).
      const taken = new Set<number>();
      port = async (): Promise<number> => {
        for (;;) {
          const p = await freePort();
          if (!taken.has(p)) return taken.add(p), p;
        }
      };
      const ports = async () => ({ http: await port(), https: await port(), metrics: await port() });
      storeEnv = { AUTHENTIK_PROXY__SESSION_BACKEND: backend, [backend === 'postgres' ? 'AUTHENTIK_PROXY__POSTGRES_URL' : 'AUTHENTIK_PROXY__REDIS_URL']: store.url };
      a = new Replica('A', { ...storeEnv, AUTHENTIK_HOST: core.url }, await ports());
      b = new Replica('B', { ...storeEnv, AUTHENTIK_HOST: relay.url }, await ports());
      await Promise.all([a.start(), b.start()]);
    });

    after(async () => {
      await Promise.allSettled([a?.stop(), b?.stop(), c?.stop()]);
      await relay?.close();
      await core?.close();
      await upstream?.close();
      await store?.close();
      // The store URL carries a password: no replica ever logs it.
      const password = new URL(store.url).password;
      for (const r of [a, b, c]) if (r && password) assert.ok(!r.out.includes(decodeURIComponent(password)), `${r.name} logged the store password`);
    });

    test('a login on A is a session on B', async () => {
      const jar = new Jar();
      const done = await login(a, a, `${APP}/landing`, jar);
      assert.equal(done.status, 302);
      assert.equal(done.location, `${APP}/landing`);
      assert.equal(await upstreamUser(b, jar), 'alice');
      assert.equal(await upstreamUser(a, jar), 'alice');
    });

    test('a login started on A and finished on B (the callback lands on the other replica)', async () => {
      const jar = new Jar();
      const done = await login(a, b, `${APP}/deep?q=1`, jar);
      assert.equal(done.status, 302);
      assert.equal(done.location, `${APP}/deep?q=1`);
      assert.equal(await upstreamUser(a, jar), 'alice');
      assert.equal(await upstreamUser(b, jar), 'alice');
    });

    test('a sign-out on B ends the session on A within a second', async () => {
      const jar = new Jar();
      await login(a, a, `${APP}/`, jar);
      // A has just read it: the session sits in A's local cache too.
      assert.equal(await upstreamUser(a, jar), 'alice');
      const stale = jar.clone();
      const out = await b.get(`${APP}/outpost.goauthentik.io/sign_out`, jar);
      assert.equal(out.status, 302);
      assert.ok(atCore(out.location) && new URL(out.location).pathname.startsWith('/application/o/'), out.location);
      const signedOut = performance.now();
      // The old cookie, replayed on A.
      await waitFor('A to refuse the signed-out session', async () => (await upstreamUser(a, stale)) === 'status 302', 1000, 20);
      assert.ok(performance.now() - signedOut < 1000);
    });

    test('a session end delivered to A alone ends the session on B', async () => {
      const jar = new Jar();
      const coreJar = new Jar();
      await login(b, b, `${APP}/`, jar, coreJar, 'bob', 'bob-password');
      assert.equal(await upstreamUser(b, jar), 'bob');
      // Cut B off the core: only A's websocket stays open.
      relay.cut();
      try {
        await waitFor('B\'s websocket closed', () => core.admin.websocketConnections(OUTPOST).filter((c) => c.closedAt === undefined).length === 1, 10_000);
        const bLogBefore = b.out.length;
        // The core ends bob's session: SESSION_END goes to the one open websocket, A's.
        assert.ok(core.admin.endSessions('bob') >= 1);
        await waitFor('A to hear of it', () => a.out.includes('authentik session ended: proxy sessions deleted'), 5000);
        const heard = performance.now();
        await waitFor('B to refuse the ended session', async () => (await upstreamUser(b, jar)) === 'status 302', 1000, 20);
        assert.ok(performance.now() - heard < 1000);
        assert.ok(!b.out.slice(bLogBefore).includes('authentik session ended'), 'B heard of it itself; the test proves nothing');
      } finally {
        relay.restore();
      }
    });

    test('a credential verified by A (header auth) is not verified again by B within the minute', async () => {
      const header = { authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}` };
      const coreCalls = () => core.admin.requests().filter((r) => r.path.startsWith('/application/o/token/') || r.path.startsWith('/application/o/introspect/')).length;
      const first = coreCalls();
      const onA = await a.get(`${APP}/api`, new Jar(), header);
      assert.equal(onA.status, 200, onA.body);
      const before = coreCalls();
      assert.ok(before > first, 'A verified the credential at the core');
      // No cookie kept: only the header, on the other replica.
      const onB = await b.get(`${APP}/api`, new Jar(), header);
      assert.equal(onB.status, 200, onB.body);
      assert.equal((JSON.parse(onB.body) as { headers: Record<string, string> }).headers['x-authentik-username'], 'alice');
      assert.equal(coreCalls(), before, 'B asked the core again');
      const wrong = await b.get(`${APP}/api`, new Jar(), { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` });
      assert.equal(wrong.status, 401);
    });

    test('a replica killed with SIGKILL and started again keeps the sessions', async () => {
      const jar = new Jar();
      await login(a, a, `${APP}/`, jar);
      await a.kill9();
      assert.equal(await upstreamUser(b, jar), 'alice', 'B serves while A is gone');
      await a.start();
      assert.equal(await upstreamUser(a, jar), 'alice');
    });

    test('a store outage fails closed within a bound, reports not ready, and everything recovers', async () => {
      const app = new Jar();
      await login(a, a, `${APP}/`, app);
      const fs = new Jar();
      await login(a, b, `${FS}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${FS}/x`)}`, fs);
      const leaving = new Jar();
      let stale = new Jar();
      await login(b, b, `${APP}/`, leaving);
      assert.equal(await upstreamUser(b, app), 'alice');
      assert.equal((await a.nginx(`${FS}/x`, fs)).status, 200);
      assert.match(await a.metricsText(), new RegExp(`authentik_outpost_proxy_session_store_up\\{backend="${backend}"\\} 1`));

      store.freeze();
      try {
        const frozen = performance.now();
        // Cached sessions end as soon as a probe or a request finds the store gone.
        await waitFor('every replica to refuse the sessions', async () => (await upstreamUser(a, app)) === 'status 302' && (await upstreamUser(b, app)) === 'status 302', 5000, 50);
        assert.ok(performance.now() - frozen < 3000, `the outage took ${Math.round(performance.now() - frozen)} ms to end cached sessions`);
        // From then on: never a 200, each answer within the bound.
        for (let i = 0; i < 10; i++) {
          for (const r of [a, b]) {
            const t0 = performance.now();
            const proxied = await r.get(`${APP}/x`, app);
            const forward = await r.nginx(`${FS}/x`, fs);
            assert.equal(proxied.status, 302, `${r.name} proxy mode`);
            assert.equal(forward.status, 401, `${r.name} forward auth`);
            assert.ok(performance.now() - t0 < 2 * (STORE_TIMEOUT_MS + 500), `${r.name} took ${Math.round(performance.now() - t0)} ms`);
          }
        }
        assert.equal(await a.ready(), 503);
        assert.equal(await b.ready(), 503);
        const text = await a.metricsText();
        assert.match(text, new RegExp(`authentik_outpost_proxy_session_store_up\\{backend="${backend}"\\} 0`));
        assert.match(text, new RegExp(`authentik_outpost_proxy_session_store_errors_total\\{backend="${backend}",operation="get"\\} [1-9]`));
        // A login cannot finish without the store: 503, and no cookie.
        const late = new Jar();
        const failed = await login(a, a, `${APP}/`, late);
        assert.equal(failed.status, 503);
        assert.equal(failed.setCookies.length, 0);
        // Sign-out still clears the cookie and sends the browser to the core.
        stale = leaving.clone();
        const out = await b.get(`${APP}/outpost.goauthentik.io/sign_out`, leaving);
        assert.equal(out.status, 302);
        assert.ok(atCore(out.location) && new URL(out.location).pathname.startsWith('/application/o/'), out.location);
        assert.ok(out.setCookies.some((c) => /Max-Age=0/i.test(c)));
        // One line about it per replica, not one per request.
        const lines = a.out.split('\n').filter((l) => l.includes('session store operation failed'));
        assert.ok(lines.length <= 1, `${lines.length} lines`);
      } finally {
        store.thaw();
      }
      await waitFor('both replicas ready again', async () => (await a.ready()) === 204 && (await b.ready()) === 204, 15_000, 100);
      assert.equal(await upstreamUser(a, app), 'alice');
      assert.equal(await upstreamUser(b, app), 'alice');
      assert.equal((await b.nginx(`${FS}/x`, fs)).status, 200);
      assert.match(await a.metricsText(), new RegExp(`authentik_outpost_proxy_session_store_up\\{backend="${backend}"\\} 1`));
      // The sign-out made during the outage was kept and applied once the store was back.
      await waitFor('the deferred sign-out applied', async () => (await upstreamUser(a, stale)) === 'status 302', 3000, 50);
    });

    test('a replica started while the store is down serves fail-closed, is not ready, and connects once the store is back', async () => {
      const app = new Jar();
      await login(a, a, `${APP}/`, app);
      store.freeze();
      try {
        c = new Replica('C', { ...storeEnv, AUTHENTIK_HOST: core.url }, { http: await port(), https: await port(), metrics: await port() });
        await c.start({ ready: false });
        assert.equal(await c.ready(), 503);
        assert.equal(await upstreamUser(c, app), 'status 302');
        // Log lines reach stdout in batches (at most 100 ms late).
        const unreachable = () => c!.out.split('\n').filter((l) => l.includes('session store unreachable at start')).length;
        await waitFor('the line saying the store is unreachable', () => unreachable() > 0, 2000, 20);
        await new Promise((resolve) => setTimeout(resolve, 250));
        assert.equal(unreachable(), 1, 'one line, not one per request');
      } finally {
        store.thaw();
      }
      await waitFor('C ready once the store answers', async () => (await c!.ready()) === 204, 20_000, 100);
      assert.equal(await upstreamUser(c, app), 'alice');
    });
  });
}
