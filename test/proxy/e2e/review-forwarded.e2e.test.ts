// Security review, second pass: what a client can make a trusted reverse proxy pass on to the
// outpost (nginx sends every client header to `auth_request` unless configured otherwise), and
// request targets that must be judged as the upstream reads them. The requests come from
// loopback, a trusted peer, as they would from nginx.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { browserLogin, call, Jar, loginAtCore, rawRequest, startProxyStack, viaOutpost, type ProxyStack } from './support.ts';

const APP = 'https://app.example.com';
const FS = 'https://fs.example.com';
const NGINX = '/outpost.goauthentik.io/auth/nginx';

describe('proxy security review: forwarded headers and request targets', () => {
  let stack: ProxyStack;
  let origin: string;
  /** Cookies of logged-in browsers: P1 (proxy mode), P2 (forward_single), P3 (forward_domain). */
  const p1 = new Jar();
  const p2 = new Jar();
  const p3 = new Jar();
  before(async () => {
    stack = await startProxyStack({ authentikVersion: '2026.8' });
    origin = `http://127.0.0.1:${stack.httpPort}`;
    assert.equal((await browserLogin(stack, `${APP}/private`, p1, new Jar())).status, 302);
    assert.equal((await browserLogin(stack, `${FS}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${FS}/x`)}`, p2, new Jar())).status, 302);
    assert.equal((await browserLogin(stack, 'https://auth.example.com/outpost.goauthentik.io/start?rd=https%3A%2F%2Fa.example.com%2F', p3, new Jar(), 'bob', 'bob-password')).status, 302);
    const p3ok = await call(origin, NGINX, { host: 'a.example.com', jar: p3, headers: { 'x-original-url': 'https://a.example.com/' } });
    assert.equal(p3ok.headers['x-authentik-username'], 'bob');
  });
  after(async () => {
    await stack?.close();
  });

  test('nginx: X-Original-URI and X-Original-URL naming different URLs is never a skip or an outpost path', async () => {
    for (const [uri, url] of [
      ['/outpost.goauthentik.io/start', `${FS}/secret`],
      ['/health', `${FS}/secret`],
      ['/secret', `${FS}/health`],
      ['/secret', `${FS}/outpost.goauthentik.io/start`],
    ] as const) {
      const r = await call(origin, NGINX, { host: 'fs.example.com', headers: { 'x-original-uri': uri, 'x-original-url': url } });
      assert.equal(r.status, 401, `${uri} / ${url}: ${r.status}`);
    }
    // Both set by the reverse proxy (ingress-nginx), agreeing: as before.
    const both = await call(origin, NGINX, { host: 'fs.example.com', headers: { 'x-original-uri': '/health', 'x-original-url': `${FS}/health` } });
    assert.equal(both.status, 200);
    // A logged-in user is still let in.
    const ok = await call(origin, NGINX, { host: 'fs.example.com', jar: p2, headers: { 'x-original-uri': '/health', 'x-original-url': `${FS}/secret` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-authentik-username'], 'alice');
  });

  test('forward auth: X-Forwarded-Host naming another provider does not judge this app\'s URL by that provider\'s session', async () => {
    // P3 (forward_domain, example.com) and P1 (proxy mode) are other providers than fs.example.com's.
    for (const xfh of ['open.example.com', 'auth.example.com', 'app.example.com']) {
      for (const jar of [p1, p2, p3, new Jar()]) {
        const hits = stack.upstream.hits.length;
        const r = await call(origin, NGINX, { host: 'fs.example.com', jar, headers: { 'x-forwarded-host': xfh, 'x-original-url': `${FS}/secret` } });
        assert.ok(r.status >= 400, `${xfh} ${jar.header()?.slice(0, 40) ?? 'no cookie'}: ${r.status}`);
        assert.equal(stack.upstream.hits.length, hits, `${xfh}: an upstream answered the auth request`);
        const t = await call(origin, '/outpost.goauthentik.io/auth/traefik', {
          host: 'outpost',
          jar,
          headers: { 'x-forwarded-host': xfh, 'x-forwarded-proto': 'https', 'x-forwarded-uri': '/secret', 'x-original-url': `${FS}/secret` },
        });
        assert.ok(t.status !== 200 || t.headers['x-authentik-meta-provider'] !== 'p2-single', `traefik ${xfh}: ${t.status}`);
      }
    }
    // Consistent hosts still work: the real app's session, the real app's host.
    const ok = await call(origin, NGINX, { host: 'fs.example.com', jar: p2, headers: { 'x-forwarded-host': 'fs.example.com', 'x-original-url': `${FS}/secret` } });
    assert.equal(ok.status, 200);
    // A URL host no provider serves: judged by the provider of the Host the proxy set, never by
    // one an X-Forwarded-Host named.
    const alias = await call(origin, NGINX, { host: 'fs.example.com', jar: p2, headers: { 'x-original-url': 'https://alias.test/secret' } });
    assert.equal(alias.status, 200);
    const aliasSpoofed = await call(origin, NGINX, { host: 'fs.example.com', jar: p3, headers: { 'x-forwarded-host': 'open.example.com', 'x-original-url': 'https://alias.test/secret' } });
    assert.equal(aliasSpoofed.status, 400);
    // forward_domain: the request's host and the URL's host both under the cookie domain.
    const fd = await call(origin, NGINX, { host: 'sub.example.com', headers: { 'x-original-url': 'https://sub.example.com/' } });
    assert.equal(fd.status, 401);
  });

  test('proxy mode: the outpost\'s forward-auth endpoints are not proxied to the upstream', async () => {
    for (const path of [NGINX, '/outpost.goauthentik.io/auth/traefik', '/outpost.goauthentik.io/auth/envoy/x']) {
      const hits = stack.upstream.hits.length;
      const r = await viaOutpost(stack, `${APP}${path}`, { jar: p1 });
      assert.equal(r.status, 404, `${path}: ${r.status}`);
      assert.equal(stack.upstream.hits.length, hits, `${path} reached the upstream`);
    }
    // Other paths of a logged-in user still are.
    assert.equal((await viaOutpost(stack, `${APP}/outpost.goauthentik.io/other`, { jar: p1 })).status, 200);
  });

  test('proxy mode: a dot segment with path parameters (`..;`, read as `..` by Tomcat) is not a skip path', async () => {
    for (const target of ['/public/..;/private', '/public/..;jsessionid=x/private', '/public/%2e%2e;/private']) {
      const hits = stack.upstream.hits.length;
      const r = await rawRequest(stack.httpPort, `GET ${target} HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 302, `${target}: ${r.data.slice(0, 200)}`);
      assert.equal(stack.upstream.hits.length, hits, `${target} reached the upstream without a session`);
    }
    const ok = await rawRequest(stack.httpPort, 'GET /public/a;v=1 HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n');
    assert.equal(ok.status, 200);
  });

  test('forward auth: a client\'s odd path (`//x`, a backslash) relayed by the proxy is judged like any path, never a 500 configuration error', async () => {
    const events = () => stack.core.admin.requests().filter((q) => q.path === '/api/v3/events/events/').length;
    const before = events();
    for (const path of ['//secret', '//evil.com/x', '/a\\b', '/public\\..\\health']) {
      const fwd = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': path };
      const t = await call(origin, '/outpost.goauthentik.io/auth/traefik', { host: 'fs.example.com', headers: fwd });
      assert.equal(t.status, 302, `traefik ${path}: ${t.status} ${t.body}`);
      const n = await call(origin, NGINX, { host: 'fs.example.com', headers: { 'x-original-url': `${FS}${path}` } });
      assert.equal(n.status, 401, `nginx ${path}: ${n.status} ${n.body}`);
      const logged = await call(origin, '/outpost.goauthentik.io/auth/traefik', { host: 'fs.example.com', jar: p2, headers: fwd });
      assert.equal(logged.status, 200, `traefik ${path} logged in: ${logged.status}`);
    }
    // The login started for `//evil.com/x` comes back to that path on the app's own host.
    const fwd = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '//evil.com/x' };
    const jar = new Jar();
    const start = await call(origin, '/outpost.goauthentik.io/auth/traefik', { host: 'fs.example.com', jar, headers: fwd });
    const callback = new URL(await loginAtCore(stack.core, start.location!, 'alice', 'alice-password', new Jar()));
    const done = await viaOutpost(stack, `${FS}${callback.pathname}${callback.search}`, { jar });
    assert.equal(done.status, 302);
    assert.equal(done.location, `${FS}//evil.com/x`);
    assert.equal(new URL(done.location!).host, 'fs.example.com');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(events(), before, 'a configuration_error event for a client\'s request');
  });

  test('envoy: an absolute-form request target (the path Envoy would judge) is a 400, not a 500 configuration error', async () => {
    const before = stack.core.admin.requests().filter((q) => q.path === '/api/v3/events/events/').length;
    const r = await rawRequest(stack.httpPort, 'GET http://fs.example.com/outpost.goauthentik.io/auth/envoy/health HTTP/1.1\r\nHost: fs.example.com\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 400, r.data.slice(0, 200));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(stack.core.admin.requests().filter((q) => q.path === '/api/v3/events/events/').length, before);
  });
});

describe('proxy login with a provider whose signing key is ECDSA (ES256 through the JWKS)', () => {
  let stack: ProxyStack;
  before(async () => {
    stack = await startProxyStack({
      authentikVersion: '2026.8',
      edit: (doc) => {
        (doc.certificates ??= []).push({ name: 'ec-signing', common_name: 'signing', key_type: 'ecdsa' } as never);
        for (const p of doc.providers ?? []) if (p.type === 'proxy' && p.name === 'p1-proxy') (p as { signing_key?: string }).signing_key = 'ec-signing';
      },
    });
  });
  after(async () => {
    await stack?.close();
  });

  test('the login completes and the upstream sees the user (not a 400 at every callback)', async () => {
    const jar = new Jar();
    const done = await browserLogin(stack, `${APP}/private`, jar, new Jar());
    assert.equal(done.status, 302, done.body);
    assert.equal(done.location, `${APP}/private`);
    const r = await viaOutpost(stack, `${APP}/private`, { jar });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-authentik-username'], 'alice');
  });
});
