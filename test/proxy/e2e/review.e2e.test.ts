// Security review of src/proxy: each test pins a way an unauthenticated request could reach the
// upstream (or get a 2xx from a forward-auth endpoint), or an authenticated user be refused,
// found in review. The request targets are written raw (no client-side normalization).
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { browserLogin, call, Jar, loginAtCore, rawRequest, startProxyStack, viaOutpost, type ProxyStack } from './support.ts';

const APP = 'https://app.example.com';
const FS = 'https://fs.example.com';
const NAME = 'Zoë 日本語 \u{1F600}';

describe('proxy security review', () => {
  let stack: ProxyStack;
  let origin: string;
  before(async () => {
    stack = await startProxyStack({
      authentikVersion: '2026.8',
      edit: (doc) => {
        // A landing page left public next to the seed's /public/ (a common configuration).
        for (const p of doc.providers ?? []) if (p.type === 'proxy' && p.name === 'p1-proxy') p.skip_path_regex = '^/public/\n^/$';
        (doc.users ??= []).push({ username: 'zoe', name: NAME, email: 'z@x', password: 'zoe-password', groups: ['g2'] } as never);
      },
    });
    origin = `http://127.0.0.1:${stack.httpPort}`;
  });
  after(async () => {
    await stack?.close();
  });

  /** A raw proxy-mode request without a session: it must be sent to /start, the upstream untouched. */
  async function refusedRaw(target: string): Promise<void> {
    const hits = stack.upstream.hits.length;
    const r = await rawRequest(stack.httpPort, `GET ${target} HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n`);
    assert.equal(stack.upstream.hits.slice(hits).map((h) => h.url).join(' '), '', `${target}: the upstream was contacted without a session`);
    assert.equal(r.status, 302, `${target}: ${r.data.slice(0, 200)}`);
  }

  test('proxy mode: a dot segment that only our URL parser resolves does not make a skip path', async () => {
    // Judged as /public/x, but the upstream (which need not normalize) would get /private/../public/x.
    await refusedRaw('/private/../public/x');
    await refusedRaw('/private/%2e%2e/public/x');
  });

  test('proxy mode: an encoded slash or dot after a skip prefix is not a skip path', async () => {
    // Matches ^/public/ as written; an upstream that decodes %2F serves /private.
    await refusedRaw('/public/..%2Fprivate');
    await refusedRaw('/public/..%5cprivate');
    await refusedRaw('/public/%2E%2E%2Fprivate');
  });

  test('proxy mode: an absolute-form request target is judged by its own path, not "/"', async () => {
    await refusedRaw('http://app.example.com/private');
    await refusedRaw('https://app.example.com/private?x=1');
  });

  test('proxy mode: the real skip paths still pass', async () => {
    const hits = stack.upstream.hits.length;
    const r = await rawRequest(stack.httpPort, 'GET /public/a.css HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200, r.data.slice(0, 200));
    const root = await rawRequest(stack.httpPort, 'GET / HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n');
    assert.equal(root.status, 200, root.data.slice(0, 200));
    assert.deepEqual(
      stack.upstream.hits.slice(hits).map((h) => h.url),
      ['/public/a.css', '/'],
    );
  });

  test('nginx: an encoded path that nginx routes to the app is not "the outpost\'s own path"', async () => {
    // nginx decodes %2F and resolves the dot segment ($uri = /private, the protected location),
    // but $request_uri (X-Original-URI) still starts with /outpost.goauthentik.io.
    for (const uri of ['/outpost.goauthentik.io%2F..%2Fprivate', '/outpost.goauthentik.io/..%2Fprivate', '/outpost.goauthentik.io/%2e%2e%2fprivate', '/outpost.goauthentik.io.evil/x']) {
      const r = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-uri': uri } });
      assert.equal(r.status, 401, `${uri}: ${r.status}`);
    }
    // The outpost's real paths still pass (server-level auth_request).
    const ok = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-uri': '/outpost.goauthentik.io/start?rd=x' } });
    assert.equal(ok.status, 200);
  });

  test('traefik, caddy, nginx, envoy: a non-canonical path is never a skip path', async () => {
    const fwd = (uri: string) => ({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': uri });
    for (const uri of ['/private/../health', '/private/%2e%2e/health', '/x/..%2F..%2Fhealth']) {
      for (const kind of ['traefik', 'caddy']) {
        const r = await call(origin, `/outpost.goauthentik.io/auth/${kind}`, { host: 'fs.example.com', headers: fwd(uri) });
        assert.equal(r.status, 302, `${kind} ${uri}: ${r.status}`);
      }
      const n = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-uri': uri } });
      assert.equal(n.status, 401, `nginx ${uri}: ${n.status}`);
    }
    const e = await rawRequest(stack.httpPort, 'GET /outpost.goauthentik.io/auth/envoy/private/../health HTTP/1.1\r\nHost: fs.example.com\r\nConnection: close\r\n\r\n');
    assert.equal(e.status, 302, e.data.slice(0, 200));
    // The skip path itself still passes.
    assert.equal((await call(origin, '/outpost.goauthentik.io/auth/traefik', { host: 'fs.example.com', headers: fwd('/health') })).status, 200);
  });

  test('a display name outside Latin-1 reaches the upstream as UTF-8 (not a 502 for that user)', async () => {
    const jar = new Jar();
    const done = await browserLogin(stack, `${APP}/private`, jar, new Jar(), 'zoe', 'zoe-password');
    assert.equal(done.status, 302, done.body);
    const hits = stack.upstream.hits.length;
    const r = await viaOutpost(stack, `${APP}/private`, { jar });
    assert.equal(r.status, 200, r.body.slice(0, 200));
    const hit = stack.upstream.hits[hits]!;
    assert.equal(Buffer.from(String(hit.headers['x-authentik-name']), 'latin1').toString('utf8'), NAME);
  });

  test('forward auth: a display name outside Latin-1 is a 200 with the name as UTF-8 (not a 500)', async () => {
    const jar = new Jar();
    const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x' } });
    assert.equal(r.status, 302);
    const cb = await loginAtCore(stack.core, r.location!, 'zoe', 'zoe-password', new Jar());
    assert.equal((await viaOutpost(stack, cb, { jar })).status, 302);
    const ok = await call(origin, '/outpost.goauthentik.io/auth/nginx', { jar, host: 'fs.example.com', headers: { 'x-original-uri': '/x' } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(Buffer.from(String(ok.headers['x-authentik-name']), 'latin1').toString('utf8'), NAME);
  });

  test('header auth without a cookie does not mint a stored session per request (no LRU eviction of other users)', async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'AbCdEfGh1234proxyclient', username: 'alice', password: 'alice-password', scope: 'openid profile email ak_proxy' });
    const tok = await call(stack.core.url, '/application/o/token/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    assert.equal(tok.status, 200, tok.body);
    const { access_token: token } = JSON.parse(tok.body) as { access_token: string };
    const before = await stack.listener.sessionCount();
    let cookie: string | undefined;
    for (let i = 0; i < 30; i++) {
      const r = await viaOutpost(stack, `${APP}/api/${i}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200, r.body.slice(0, 200));
      cookie ??= r.setCookies.find((c) => c.startsWith('authentik_proxy_AbCdEfGh='))?.split(';')[0];
    }
    assert.ok((await stack.listener.sessionCount()) - before <= 1, `${(await stack.listener.sessionCount()) - before} sessions for one bearer token`);
    // The session the header saved still authenticates on its own.
    assert.ok(cookie);
    const r = await viaOutpost(stack, `${APP}/private`, { headers: { cookie } });
    assert.equal(r.status, 200);
  });
});
