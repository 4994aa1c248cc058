// Forward auth against the development core, both API generations. Test names carry the
// proxy.md §12 case numbers they cover.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { browserLogin, call, Jar, loginAtCore, rawExchange, startProxyStack, until, viaOutpost, type ProxyStack } from './support.ts';

const FS = 'https://fs.example.com';

for (const version of AUTHENTIK_VERSIONS) {
  describe(`proxy forward auth against authentik ${version}`, () => {
    let stack: ProxyStack;
    let origin: string;
    before(async () => {
      stack = await startProxyStack({ authentikVersion: version });
      origin = `http://127.0.0.1:${stack.httpPort}`;
    });
    after(async () => {
      await stack?.close();
    });

    /** A logged-in jar for P2 (forward_single), through traefik's 302 and the callback. */
    async function loggedInFs(user = 'alice', password = 'alice-password'): Promise<Jar> {
      const jar = new Jar();
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x?y=1' } });
      assert.equal(r.status, 302);
      const cb = await loginAtCore(stack.core, r.location!, user, password, new Jar());
      const done = await viaOutpost(stack, cb, { jar });
      assert.equal(done.status, 302, done.body);
      return jar;
    }

    test('#1 ping answers 204 for any host', async () => {
      const r = await call(origin, '/outpost.goauthentik.io/ping', { host: 'nothing.invalid' });
      assert.equal(r.status, 204);
      assert.equal(r.body, '');
    });

    test('#2 an unknown host with several apps gets authentik\'s JSON 400', async () => {
      const r = await call(origin, '/', { host: 'nothing.invalid' });
      assert.equal(r.status, 400);
      assert.match(String(r.headers['content-type']), /application\/json/);
      assert.deepEqual(JSON.parse(r.body), { Message: 'no app for hostname', Host: 'nothing.invalid', Detail: "Check the outpost settings and make sure 'nothing.invalid' is included." });
    });

    test('#5 a host under the cookie domain is routed to the forward_domain app (401, not 400)', async () => {
      const r = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'sub.example.com', headers: { 'x-original-url': 'https://sub.example.com/' } });
      assert.equal(r.status, 401);
    });

    test('#7 static assets: the outpost\'s own stylesheet and logo on any host, cached by ETag', async () => {
      const STATIC = '/outpost.goauthentik.io/static/dist';
      for (const [file, type] of [
        ['patternfly.min.css', /^text\/css/],
        ['authentik.css', /^text\/css/],
        ['custom.css', /^text\/css/],
        ['assets/icons/icon_left_brand.svg', /^image\/svg\+xml$/],
      ] as const) {
        const r = await call(origin, `${STATIC}/${file}`, { host: 'nothing.invalid' });
        assert.equal(r.status, 200, file);
        assert.match(String(r.headers['content-type']), type);
        assert.equal(r.headers['x-content-type-options'], 'nosniff');
        assert.match(String(r.headers['cache-control']), /max-age=\d+/);
        const etag = String(r.headers['etag']);
        assert.match(etag, /^"[\w-]+"$/, 'a strong ETag');
        const again = await call(origin, `${STATIC}/${file}?v=2`, { host: 'app.example.com', headers: { 'if-none-match': `"other", W/${etag}` } });
        assert.equal(again.status, 304);
        assert.equal(again.body, '');
        assert.equal(again.headers['etag'], etag);
      }
      const css = await call(origin, `${STATIC}/patternfly.min.css`, { host: 'nothing.invalid' });
      assert.match(css.body, /assets\/icons\/icon_left_brand\.svg/, 'the sheet shows the logo');
      const head = await call(origin, `${STATIC}/patternfly.min.css`, { method: 'HEAD', host: 'nothing.invalid' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal(Number(head.headers['content-length']), Buffer.byteLength(css.body));
      const post = await call(origin, `${STATIC}/custom.css`, { method: 'POST', host: 'nothing.invalid', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers['allow'], 'GET, HEAD');
    });

    test('#7 static: directories, unknown files and every spelling of a traversal are 404', async () => {
      const STATIC = '/outpost.goauthentik.io/static/dist';
      for (const path of [
        `${STATIC}/`,
        `${STATIC}/assets/icons/`,
        `${STATIC}/assets/icons/icon.png`,
        `${STATIC}/assets/images/flow_background.jpg`,
        `${STATIC}/nope.css`,
        `${STATIC}/custom.css/`,
        `${STATIC}/./custom.css`,
        `${STATIC}/../dist/custom.css`,
        `${STATIC}/assets/../custom.css`,
        `${STATIC}/%2e%2e/dist/custom.css`,
        `${STATIC}/assets%2Ficons%2Ficon_left_brand.svg`,
        `${STATIC}/assets\\icons\\icon_left_brand.svg`,
        `${STATIC}/%63ustom.css`,
        '/outpost.goauthentik.io/static/custom.css',
        '/outpost.goauthentik.io/static/dist/../../../package.json',
      ]) {
        const r = await rawExchange(stack.httpPort, [`GET ${path} HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n`]);
        assert.match(r, /^HTTP\/1\.1 404 /, path);
        assert.match(r, /\r\n\r\n404 page not found\n$/, path);
      }
    });

    test('#29 nginx without X-Original-URL/URI is a 500 configuration error, and one configuration_error event a minute', async () => {
      stack.core.admin.clearEvents();
      const headers = { cookie: 'authentik_proxy_x=secret', 'x-forwarded-uri': '/a?code=secret' };
      const r = await call(origin, '/outpost.goauthentik.io/auth/nginx?code=secret', { host: 'fs.example.com', headers });
      assert.equal(r.status, 500);
      assert.equal(r.body, 'configuration error\n');
      await until('the configuration_error event', () => stack.core.admin.events().length > 0);
      const [event] = stack.core.admin.events();
      assert.equal(event!.action, 'configuration_error');
      assert.equal(event!.app, 'authentik.providers.proxy');
      assert.equal(event!.client_ip, '127.0.0.1');
      const context = event!.context as { message: string; provider: string; outpost: string; url: string; headers: Record<string, string> };
      assert.equal(context.message, 'Outpost test-outpost (Provider p2-single) failed to detect a forward URL from nginx');
      assert.equal(context.provider, 'p2-single');
      assert.equal(context.outpost, 'test-outpost');
      assert.equal(context.url, '/outpost.goauthentik.io/auth/nginx');
      assert.equal(context.headers['host'], 'fs.example.com');
      // No credential and no query reaches authentik's event log.
      assert.equal(context.headers['cookie'], '[redacted]');
      assert.equal(context.headers['x-forwarded-uri'], '/a');
      assert.doesNotMatch(JSON.stringify(event), /secret/);

      // A misconfigured nginx asks on every request: the same provider gets no second event
      // within the minute, and the answer is the same.
      const again = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com' });
      assert.equal(again.status, 500);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(stack.core.admin.events().length, 1);
      assert.equal(stack.core.admin.requests().filter((q) => q.path === '/api/v3/events/events/').length, 1);
    });

    test('#30 nginx unauthenticated is 401 "unauthorized request" with Set-Cookie', async () => {
      const r = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-url': `${FS}/x` } });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'unauthorized request\n');
      assert.ok(r.setCookies.some((c) => c.startsWith('authentik_proxy_FwdSngl0=')));
    });

    test('#32 #33 #34 nginx: skip path and the outpost\'s own paths pass, X-Original-URI alone is judged', async () => {
      assert.equal((await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-url': `${FS}/health` } })).status, 200);
      assert.equal((await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-url': `${FS}/outpost.goauthentik.io/callback?x=1` } })).status, 200);
      assert.equal((await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-uri': '/x' } })).status, 401);
    });

    test('#35 traefik without X-Forwarded-Proto is a 500', async () => {
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { headers: { 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x?y=1' } });
      assert.equal(r.status, 500);
    });

    test('#36 #37 #31 traefik: 302 straight to authorize, login returns to the original URL with its query, then 200 with identity headers (nginx too)', async () => {
      const jar = new Jar();
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x?y=1' } });
      assert.equal(r.status, 302);
      assert.ok(r.location!.startsWith(`${stack.core.url}/application/o/authorize/?`), r.location);
      const q = new URL(r.location!).searchParams;
      assert.equal(q.get('redirect_uri'), `${FS}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`);
      assert.equal(q.get('response_type'), 'code');
      // scopes_to_request as the core lists them (2026.8 adds entitlements).
      const scopes = new Set(q.get('scope')!.split(' '));
      for (const scope of ['openid', 'profile', 'email', 'ak_proxy']) assert.ok(scopes.has(scope), scope);
      assert.ok(q.get('state'));
      assert.equal(q.get('nonce'), null);
      assert.ok(r.setCookies.length > 0);
      const cb = await loginAtCore(stack.core, r.location!, 'alice', 'alice-password', new Jar());
      const done = await viaOutpost(stack, cb, { jar });
      assert.equal(done.status, 302);
      assert.equal(done.location, `${FS}/x?y=1`);
      const cookie = done.setCookies.find((c) => c.startsWith('authentik_proxy_FwdSngl0='))!;
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /Secure/);
      assert.match(cookie, /SameSite=Lax/);
      const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
      assert.ok(maxAge > 280 && maxAge <= 300, `Max-Age ${maxAge}`);

      const ok = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x', 'user-agent': 'ua-test' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.body, '');
      assert.equal(ok.headers['x-authentik-username'], 'alice');
      assert.equal(ok.headers['x-authentik-email'], 'a@x');
      assert.equal(ok.headers['x-authentik-name'], 'Alice');
      assert.equal(ok.headers['x-authentik-groups'], 'g1|g2');
      assert.equal(ok.headers['x-authentik-meta-outpost'], 'test-outpost');
      assert.equal(ok.headers['x-authentik-meta-provider'], 'p2-single');
      assert.equal(ok.headers['x-authentik-meta-app'], 'fs');
      assert.match(String(ok.headers['x-authentik-meta-version']), /^goauthentik\.io\/outpost\//);
      assert.ok(String(ok.headers['x-authentik-jwt']).split('.').length === 3);
      assert.equal(ok.headers['user-agent'], 'ua-test');

      const nginx = await call(origin, '/outpost.goauthentik.io/auth/nginx', { jar, host: 'fs.example.com', headers: { 'x-original-url': `${FS}/x`, 'user-agent': 'ua-nginx' } });
      assert.equal(nginx.status, 200);
      assert.equal(nginx.headers['x-authentik-username'], 'alice');
      assert.equal(nginx.headers['user-agent'], 'ua-nginx');
    });

    test('#38 #40 traefik and caddy: the skip path passes without a cookie', async () => {
      for (const kind of ['traefik', 'caddy']) {
        const r = await call(origin, `/outpost.goauthentik.io/auth/${kind}`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/health' } });
        assert.equal(r.status, 200, kind);
        assert.equal(r.headers['x-authentik-username'], undefined);
      }
    });

    test('#39 #40 the callback through caddy forward auth exchanges the code and sets the session', async () => {
      const jar = new Jar();
      const fwd = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com' };
      const r = await call(origin, '/outpost.goauthentik.io/auth/caddy', { jar, headers: { ...fwd, 'x-forwarded-uri': '/page' } });
      assert.equal(r.status, 302);
      const cb = new URL(await loginAtCore(stack.core, r.location!, 'alice', 'alice-password', new Jar()));
      const done = await call(origin, '/outpost.goauthentik.io/auth/caddy', { jar, headers: { ...fwd, 'x-forwarded-uri': `${cb.pathname}${cb.search}` } });
      assert.equal(done.status, 302);
      assert.equal(done.location, `${FS}/page`);
      assert.ok(done.setCookies.some((c) => /Max-Age=[1-9]/.test(c)));
      const ok = await call(origin, '/outpost.goauthentik.io/auth/caddy', { jar, headers: { ...fwd, 'x-forwarded-uri': '/page' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-authentik-username'], 'alice');
    });

    test('#41 #42 envoy: 302 without a cookie, 200 with one; the skip path passes', async () => {
      const none = await call(origin, '/outpost.goauthentik.io/auth/envoy/app/page?z=1', { host: 'fs.example.com' });
      assert.equal(none.status, 302);
      assert.ok(none.location!.startsWith(`${stack.core.url}/application/o/authorize/`));
      const jar = await loggedInFs();
      const ok = await call(origin, '/outpost.goauthentik.io/auth/envoy/app/page?z=1', { host: 'fs.example.com', jar });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-authentik-username'], 'alice');
      assert.equal((await call(origin, '/outpost.goauthentik.io/auth/envoy/health', { host: 'fs.example.com' })).status, 200);
    });

    test('#11 a tampered state is 400 and leaves no session', async () => {
      const jar = new Jar();
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x' } });
      const cb = new URL(await loginAtCore(stack.core, r.location!, 'alice', 'alice-password', new Jar()));
      const state = cb.searchParams.get('state')!;
      cb.searchParams.set('state', `${state.slice(0, -2)}xx`);
      const bad = await viaOutpost(stack, cb.href, { jar });
      assert.equal(bad.status, 400);
      const after = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x' } });
      assert.equal(after.status, 302);
    });

    test('a callback replayed in another browser (no matching cookie) is 400', async () => {
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar: new Jar(), headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x' } });
      const cb = await loginAtCore(stack.core, r.location!, 'alice', 'alice-password', new Jar());
      assert.equal((await viaOutpost(stack, cb, { jar: new Jar() })).status, 400);
    });

    test('forged, malformed and other-provider cookies are unauthenticated, never 200 (CVE-2026-25748)', async () => {
      const good = await loggedInFs();
      const value = [...good.cookies].find(([k]) => k.startsWith('authentik_proxy_FwdSngl0'))![1];
      const fwd = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x' };
      const cookies = [
        `authentik_proxy_FwdSngl0=${value.slice(0, -3)}AAA`,
        'authentik_proxy_FwdSngl0=garbage',
        'authentik_proxy_FwdSngl0=',
        `authentik_proxy_FwdSngl0=${'A'.repeat(43)}.${'A'.repeat(43)}`,
        'authentik_proxy_FwdSngl0=%00%ff;;;==',
        // P2's cookie value under P3's name: signed with another secret.
        `authentik_proxy_FwdDomn0=${value}`,
      ];
      for (const cookie of cookies) {
        const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { headers: { ...fwd, cookie } });
        assert.equal(r.status, 302, cookie);
        const n = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-url': `${FS}/x`, cookie } });
        assert.equal(n.status, 401, cookie);
      }
      // P3's own traefik check with P2's session: a different cookie name, so no session.
      const other = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar: good, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app2.example.com', 'x-forwarded-uri': '/' } });
      assert.equal(other.status, 302);
    });

    test('a spoofed X-Forwarded-Uri from an untrusted peer changes nothing', async () => {
      // Only 127.0.0.1 can reach the test outpost; trust nobody for this stack by config instead.
      const s2 = await startProxyStack({ authentikVersion: version, env: { AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: '192.0.2.0/24' } });
      try {
        const o2 = `http://127.0.0.1:${s2.httpPort}`;
        // The skip path named in headers must not let an unauthenticated request through.
        const r = await call(o2, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-url': `${FS}/health`, 'x-original-uri': '/health' } });
        assert.equal(r.status, 401);
        const t = await call(o2, '/outpost.goauthentik.io/auth/traefik', { host: 'fs.example.com', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/health' } });
        assert.notEqual(t.status, 200);
      } finally {
        await s2.close();
      }
    });

    test('#21 #23 sign-out deletes the session and redirects to end-session; without a session it goes to /start', async () => {
      const jar = await loggedInFs();
      const out = await call(origin, '/outpost.goauthentik.io/sign_out', { host: 'fs.example.com', jar: jar.clone() });
      assert.equal(out.status, 302);
      assert.ok(out.location!.startsWith(`${stack.core.url}/application/o/fs/end-session/?id_token_hint=`), out.location);
      // Replaying the old cookie: the session is gone server-side.
      const replay = await call(origin, '/outpost.goauthentik.io/auth/nginx', { jar, host: 'fs.example.com', headers: { 'x-original-url': `${FS}/x` } });
      assert.equal(replay.status, 401);
      const anon = await call(origin, '/outpost.goauthentik.io/sign_out', { host: 'fs.example.com' });
      assert.equal(anon.status, 302);
      assert.equal(anon.location, `${FS}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${FS}/outpost.goauthentik.io/sign_out`)}`);
    });

    test('#22 signing out in one browser ends the same user\'s other sessions', async () => {
      const a = await loggedInFs();
      const b = await loggedInFs();
      await call(origin, '/outpost.goauthentik.io/sign_out', { host: 'fs.example.com', jar: a });
      const r = await call(origin, '/outpost.goauthentik.io/auth/nginx', { jar: b, host: 'fs.example.com', headers: { 'x-original-url': `${FS}/x` } });
      assert.equal(r.status, 401);
    });

    test('#24 the core ending its session (logout / SESSION_END) ends the proxy sessions made from it', async () => {
      const coreJar = new Jar();
      const jar = new Jar();
      const other = await loggedInFs('bob', 'bob-password');
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x' } });
      const cb = await loginAtCore(stack.core, r.location!, 'alice', 'alice-password', coreJar);
      assert.equal((await viaOutpost(stack, cb, { jar })).status, 302);
      const check = (j: Jar) => call(origin, '/outpost.goauthentik.io/auth/nginx', { jar: j, host: 'fs.example.com', headers: { 'x-original-url': `${FS}/x` } });
      assert.equal((await check(jar)).status, 200);
      // Log out at the core (end-session with the core cookie): the outpost is told over the websocket.
      const end = await call(stack.core.url, '/application/o/fs/end-session/', { jar: coreJar });
      assert.ok(end.status < 500);
      let status = 200;
      for (let i = 0; i < 50 && status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await check(jar)).status;
      }
      assert.equal(status, 401);
      // Another user's session (another core session) is untouched.
      assert.equal((await check(other)).status, 200);
    });

    test('#43 #44 forward_domain: an app under the cookie domain logs in on the auth host and returns; rd to another domain is refused', async () => {
      const jar = new Jar();
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app2.example.com', 'x-forwarded-uri': '/a?b=1' } });
      assert.equal(r.status, 302);
      assert.equal(new URL(r.location!).searchParams.get('redirect_uri'), 'https://auth.example.com/outpost.goauthentik.io/callback?X-authentik-auth-callback=true');
      assert.ok(r.setCookies.some((c) => /Domain=example\.com/.test(c)));
      const cb = await loginAtCore(stack.core, r.location!, 'alice', 'alice-password', new Jar());
      const done = await viaOutpost(stack, cb, { jar });
      assert.equal(done.status, 302);
      assert.equal(done.location, 'https://app2.example.com/a?b=1');
      const ok = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app3.example.com', 'x-forwarded-uri': '/' } });
      assert.equal(ok.status, 200);

      const evil = await browserLogin(stack, 'https://auth.example.com/outpost.goauthentik.io/start?rd=https%3A%2F%2Fevil.org%2F', new Jar(), new Jar());
      assert.equal(evil.status, 302);
      assert.ok(!evil.location!.includes('evil.org'), evil.location);
      const good = await browserLogin(stack, 'https://auth.example.com/outpost.goauthentik.io/start?rd=https%3A%2F%2Fapp2.example.com%2Fa', new Jar(), new Jar());
      assert.equal(good.location, 'https://app2.example.com/a');
    });

    test('#45 forward_domain skip regex matches the full URL', async () => {
      const r = await call(origin, '/outpost.goauthentik.io/auth/traefik', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'open.example.com', 'x-forwarded-uri': '/x' } });
      assert.equal(r.status, 200);
    });

    test('#47 the cookie name is authentik_proxy_ + the first 8 characters of client_id', async () => {
      const r = await call(origin, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', headers: { 'x-original-url': `${FS}/x` } });
      assert.ok(r.setCookies.some((c) => /^authentik_proxy_FwdSngl0=/.test(c)));
    });

    test('parallel logins in one browser each return to their own URL', async () => {
      const jar = new Jar();
      const fwd = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com' };
      const first = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { ...fwd, 'x-forwarded-uri': '/one' } });
      const second = await call(origin, '/outpost.goauthentik.io/auth/traefik', { jar, headers: { ...fwd, 'x-forwarded-uri': '/two' } });
      const core = new Jar();
      const cb2 = await loginAtCore(stack.core, second.location!, 'alice', 'alice-password', core);
      const cb1 = await loginAtCore(stack.core, first.location!, 'alice', 'alice-password', core);
      assert.equal((await viaOutpost(stack, cb1, { jar: jar.clone() })).location, `${FS}/one`);
      assert.equal((await viaOutpost(stack, cb2, { jar: jar.clone() })).location, `${FS}/two`);
    });
  });
}
