// Hostile input against proxy mode (proxy.md §12 and the proxy issue): cookies that must not
// authenticate, oversized and trickled headers, an upstream that resets mid-body, the core
// failing during a callback; and the upstream's Set-Cookie next to the outpost's own. After
// each, the process still serves and nothing passed without a valid session.
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { signSessionId, newSessionId } from '../../../src/proxy/protocol/index.ts';
import type { SessionStore } from '../../../src/proxy/sessions/store.ts';
import { serveLoopback } from '../../support/serve.ts';
import { browserLogin, call, Jar, loginAtCore, startProxyStack, toCore, viaOutpost, type ProxyStack } from './support.ts';

const APP = 'https://app.example.com';
const P1_COOKIE = 'authentik_proxy_AbCdEfGh';
const P1_SECRET = 'C1-cookie-secret-0123456789abcdef';

/** An upstream with a few misbehaving paths; every other path answers 200 "ok". */
async function startHostileUpstream(): Promise<{ port: number; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    if (req.url === '/set-cookie') {
      res.writeHead(200, { 'set-cookie': ['up=1; Path=/', 'up2=2; Path=/'], 'content-length': 2 });
      res.end('ok');
    } else if (req.url === '/reset-length') {
      // Promises 100000 bytes, sends 1000, then resets.
      res.writeHead(200, { 'content-length': 100_000, 'content-type': 'text/plain' });
      res.write('x'.repeat(1000), () => setTimeout(() => res.socket?.resetAndDestroy(), 20));
    } else if (req.url === '/reset-chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('x'.repeat(1000), () => setTimeout(() => res.socket?.resetAndDestroy(), 20));
    } else {
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    }
  });
  const served = await serveLoopback(server);
  return { port: served.port, hits, close: served.close };
}

/** Writes raw bytes to the outpost and collects everything until the peer closes. */
function raw(port: number, chunks: readonly string[], gapMs = 0, timeoutMs = 60_000): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const kill = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    const next = () => {
      if (i >= chunks.length || socket.destroyed) return;
      socket.write(chunks[i++]!);
      if (i < chunks.length) timer = setTimeout(next, gapMs);
    };
    socket.setEncoding('latin1');
    socket.on('connect', next);
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(kill);
      clearTimeout(timer);
      resolve({ data, closedAfterMs: performance.now() - started });
    });
  });
}

/** The proxy listener's session store (private; the tests plant sessions in it). */
function storeOf(stack: ProxyStack): SessionStore {
  return (stack.listener as unknown as { sessions: { store: SessionStore } }).sessions.store;
}

describe('proxy mode under hostile input', () => {
  let stack: ProxyStack;
  let upstream: Awaited<ReturnType<typeof startHostileUpstream>>;
  let jar: Jar;
  let validCookie: string;
  let coreClosed = false;
  before(async () => {
    upstream = await startHostileUpstream();
    stack = await startProxyStack({
      authentikVersion: '2026.8',
      // Trickled headers are cut after 1 s (Node checks every second: see below).
      env: { AUTHENTIK_PROXY__HEADERS_TIMEOUT: '1s', AUTHENTIK_PROXY__REQUEST_TIMEOUT: '2s' },
      edit: (doc) => {
        for (const p of doc.providers ?? []) if (p.type === 'proxy' && p.name === 'p1-proxy') p.internal_host = `http://127.0.0.1:${upstream.port}`;
      },
    });
    jar = new Jar();
    const done = await browserLogin(stack, `${APP}/`, jar, new Jar());
    assert.equal(done.status, 302, done.body);
    validCookie = jar.cookies.get(P1_COOKIE)!;
    assert.ok(validCookie);
  });
  after(async () => {
    if (coreClosed) stack.core.close = async () => {};
    await stack?.close();
    await upstream?.close();
  });

  /** No session: 302 to /start and the upstream not contacted. */
  async function refused(cookie: string, what: string): Promise<void> {
    const hits = upstream.hits.length;
    const r = await viaOutpost(stack, `${APP}/private`, { headers: { cookie } });
    assert.equal(r.status, 302, `${what}: ${r.status} ${r.body.slice(0, 100)}`);
    assert.ok(r.location?.startsWith(`${APP}/outpost.goauthentik.io/start?rd=`), what);
    assert.equal(upstream.hits.length, hits, `${what}: the upstream was contacted`);
  }

  test('a valid session passes (the baseline the refusals below are measured against)', async () => {
    const r = await viaOutpost(stack, `${APP}/private`, { jar });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  });

  test('forged, truncated, non-canonical and garbage cookies are no session', async () => {
    const [id, sig] = validCookie.split('.') as [string, string];
    await refused(`${P1_COOKIE}=${'A'.repeat(43)}.${'B'.repeat(43)}`, 'forged');
    await refused(`${P1_COOKIE}=${id}.${sig.slice(0, -1)}${sig.at(-1) === 'A' ? 'B' : 'A'}`, 'one signature character changed');
    await refused(`${P1_COOKIE}=${id}`, 'id without signature');
    await refused(`${P1_COOKIE}=${validCookie}x`, 'trailing byte');
    await refused(`${P1_COOKIE}=${'%00'.repeat(100)}; ${P1_COOKIE}=\u00ff\u00fe`, 'garbage');
    await refused(`${P1_COOKIE}=${'A'.repeat(8000)}`, 'huge value');
  });

  test('a session id signed with another secret (another provider\'s cookie_secret) is no session', async () => {
    const [id] = validCookie.split('.') as [string];
    await refused(`${P1_COOKIE}=${signSessionId(id, 'C2-cookie-secret-0123456789abcdef')}`, 'signed with P2\'s secret');
    await refused(`${P1_COOKIE}=${signSessionId(id, 'x')}`, 'signed with a short secret');
  });

  test('a correctly signed cookie naming a session of another provider is no session', async () => {
    const store = storeOf(stack);
    const [id] = validCookie.split('.') as [string];
    const mine = (await store.get(id))!;
    assert.ok(mine, 'the logged-in session is in the store');
    const other = newSessionId();
    await store.set(other, { ...mine, providerPk: mine.providerPk + 1 }, 60_000);
    await refused(`${P1_COOKIE}=${signSessionId(other, P1_SECRET)}`, 'another provider\'s session');
    const otherOutpost = newSessionId();
    await store.set(otherOutpost, { ...mine, outpostPk: '00000000-0000-0000-0000-000000000000' }, 60_000);
    await refused(`${P1_COOKIE}=${signSessionId(otherOutpost, P1_SECRET)}`, 'another outpost\'s session');
    await refused(`${P1_COOKIE}=${signSessionId(newSessionId(), P1_SECRET)}`, 'a well-signed id that names no session');
  });

  test('expired sessions are no session: past expiresAt, and past the store TTL', async () => {
    const store = storeOf(stack);
    const [id] = validCookie.split('.') as [string];
    const mine = (await store.get(id))!;
    const stale = newSessionId();
    await store.set(stale, { ...mine, expiresAt: Date.now() - 1000 }, 60_000);
    await refused(`${P1_COOKIE}=${signSessionId(stale, P1_SECRET)}`, 'expiresAt in the past');
    assert.equal(await store.get(stale), undefined, 'the stale session was deleted');
    const ttl = newSessionId();
    await store.set(ttl, mine, 5);
    await new Promise((r) => setTimeout(r, 30));
    await refused(`${P1_COOKIE}=${signSessionId(ttl, P1_SECRET)}`, 'store TTL elapsed');
  });

  test('the upstream\'s Set-Cookie and the outpost\'s own (header auth saving a session) both reach the client', async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'AbCdEfGh1234proxyclient', username: 'alice', password: 'alice-password', scope: 'openid profile email ak_proxy' });
    const tok = await call(stack.core.url, '/application/o/token/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    assert.equal(tok.status, 200, tok.body);
    const { access_token: token } = JSON.parse(tok.body) as { access_token: string };
    const r = await viaOutpost(stack, `${APP}/set-cookie`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, r.body);
    assert.ok(r.setCookies.some((c) => c.startsWith(`${P1_COOKIE}=`)), `the outpost's session cookie is missing: ${JSON.stringify(r.setCookies)}`);
    assert.ok(r.setCookies.includes('up=1; Path=/'), JSON.stringify(r.setCookies));
    assert.ok(r.setCookies.includes('up2=2; Path=/'), JSON.stringify(r.setCookies));
    // With a session cookie (nothing of the outpost's to set), the upstream's pass alone.
    const again = await viaOutpost(stack, `${APP}/set-cookie`, { jar: jar.clone() });
    assert.deepEqual(again.setCookies, ['up=1; Path=/', 'up2=2; Path=/']);
  });

  test('oversized headers get 431 from Node and the process keeps serving', async () => {
    const big = await raw(stack.httpPort, [`GET / HTTP/1.1\r\nHost: app.example.com\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`]);
    assert.match(big.data, /^HTTP\/1\.1 431 /);
    const many = await raw(stack.httpPort, [`GET / HTTP/1.1\r\nHost: app.example.com\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: ${'v'.repeat(10)}\r\n`).join('')}\r\n`]);
    assert.match(many.data, /^HTTP\/1\.1 (431|400) /);
    const cookie = await raw(stack.httpPort, [`GET / HTTP/1.1\r\nHost: app.example.com\r\nCookie: ${P1_COOKIE}=${'A'.repeat(40 * 1024)}\r\n\r\n`]);
    assert.match(cookie.data, /^HTTP\/1\.1 431 /);
    const bad = await raw(stack.httpPort, ['GET / HTTP/1.1\r\nHost: app.example.com\r\nBad Header\r\n\r\n']);
    assert.match(bad.data, /^HTTP\/1\.1 400 /);
    assert.equal((await call(`http://127.0.0.1:${stack.httpPort}`, '/outpost.goauthentik.io/ping')).status, 204);
    assert.equal((await viaOutpost(stack, `${APP}/private`, { jar })).status, 200);
  });

  test('a client trickling its headers is cut off by headersTimeout', async () => {
    // One header line every 300 ms, never the blank line. Node enforces headersTimeout when it
    // checks connections (connectionsCheckingInterval: the server sets it to a quarter of the
    // headers timeout; Node's default would be 30 s).
    const lines = ['GET / HTTP/1.1\r\n', 'Host: app.example.com\r\n', ...Array.from({ length: 200 }, (_, i) => `X-Slow-${i}: 1\r\n`)];
    const r = await raw(stack.httpPort, lines, 300, 45_000);
    assert.ok(r.data === '' || /^HTTP\/1\.1 408 /.test(r.data), r.data.slice(0, 100));
    // headersTimeout is 1 s here: cut well before Node's default 30 s check.
    assert.ok(r.closedAfterMs < 5_000, `closed after ${r.closedAfterMs} ms`);
    assert.equal((await viaOutpost(stack, `${APP}/private`, { jar })).status, 200);
  });

  test('an upstream resetting mid-body destroys the client connection: never a complete-looking 200', async () => {
    for (const path of ['/reset-length', '/reset-chunked']) {
      const res = await request(`http://127.0.0.1:${stack.httpPort}${path}`, { headers: { host: 'app.example.com', cookie: `${P1_COOKIE}=${validCookie}` } });
      assert.equal(res.statusCode, 200, path);
      await assert.rejects(res.body.text(), (err: Error & { code?: string }) => {
        assert.match(`${err.code ?? ''} ${err.message}`, /UND_ERR_SOCKET|other side closed|terminated|aborted|ECONNRESET|mismatch/i, path);
        return true;
      }, `${path}: the body ended cleanly`);
    }
    assert.equal((await viaOutpost(stack, `${APP}/private`, { jar })).status, 200);
  });

  /** A login up to the callback URL (the code not yet exchanged). */
  async function pendingCallback(): Promise<{ jar: Jar; callback: URL }> {
    const j = new Jar();
    const authorize = await toCore(stack, `${APP}/after`, j);
    return { jar: j, callback: new URL(await loginAtCore(stack.core, authorize, 'alice', 'alice-password', new Jar())) };
  }

  test('the core failing during a callback is 503, never 401 or 200, and creates no session', async () => {
    for (const fault of [{ failStatus: 503 }, { failStatus: 500 }, { garbage: true }]) {
      const { jar: j, callback } = await pendingCallback();
      const before = await stack.listener.sessionCount();
      stack.core.admin.setFaults({ pathPrefix: '/application/o/token/', ...fault });
      try {
        const r = await viaOutpost(stack, callback.href, { jar: j });
        assert.equal(r.status, 503, `${JSON.stringify(fault)}: ${r.status} ${r.body}`);
        assert.equal(r.headers['retry-after'], '5');
      } finally {
        stack.core.admin.clearFaults();
      }
      assert.equal(await stack.listener.sessionCount(), before, 'a session was created');
      assert.equal((await viaOutpost(stack, `${APP}/after`, { jar: j })).status, 302);
    }
  });

  test('the core down (connection refused) during a callback is 503 and creates no session; the process stays up', async () => {
    const { jar: j, callback } = await pendingCallback();
    const before = await stack.listener.sessionCount();
    await stack.core.close();
    coreClosed = true;
    const r = await viaOutpost(stack, callback.href, { jar: j });
    assert.equal(r.status, 503, `${r.status} ${r.body}`);
    assert.equal(await stack.listener.sessionCount(), before);
    assert.equal((await viaOutpost(stack, `${APP}/after`, { jar: j })).status, 302);
    // Sessions that exist keep working without the core.
    assert.equal((await viaOutpost(stack, `${APP}/private`, { jar })).status, 200);
  });
});
