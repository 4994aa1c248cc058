// Proxy mode against the development core and a local echo upstream, both API generations.
// Test names carry the proxy.md §12 case numbers they cover.
import { strict as assert } from 'node:assert';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { browserLogin, call, Jar, startProxyStack, viaOutpost, type ProxyStack } from './support.ts';

const APP = 'https://app.example.com';

function peerCertificate(port: number, servername: string | undefined): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

for (const version of AUTHENTIK_VERSIONS) {
  describe(`proxy mode against authentik ${version}`, () => {
    let stack: ProxyStack;
    let origin: string;
    let jar: Jar;
    before(async () => {
      stack = await startProxyStack({ authentikVersion: version });
      origin = `http://127.0.0.1:${stack.httpPort}`;
      jar = new Jar();
      const done = await browserLogin(stack, `${APP}/some/path?x=1`, jar, new Jar());
      assert.equal(done.status, 302, done.body);
    });
    after(async () => {
      await stack?.close();
    });

    test('#8 an unauthenticated request goes to /start with the whole URL (query kept, unlike 2024.x) and no upstream hit', async () => {
      const hits = stack.upstream.hits.length;
      const r = await viaOutpost(stack, `${APP}/some/path?x=1`);
      assert.equal(r.status, 302);
      assert.equal(r.location, `${APP}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${APP}/some/path?x=1`)}`);
      assert.equal(stack.upstream.hits.length, hits);
    });

    test('#8 a path starting with // stays a path of the app: /start comes back to it, never to another host', async () => {
      for (const path of ['//', '//evil.example/x?y=1', '//?x=1']) {
        const r = await call(origin, path, { host: 'app.example.com' });
        assert.equal(r.status, 302, `${path}: ${r.status} ${r.body.slice(0, 100)}`);
        assert.equal(r.location, `${APP}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${APP}${path}`)}`, path);
      }
    });

    test('#4 X-Forwarded-Host from a trusted peer routes to P1', async () => {
      const r = await call(origin, '/', { host: 'outpost:9000', headers: { 'x-forwarded-host': 'app.example.com' } });
      assert.equal(r.status, 302);
      assert.ok(r.location!.startsWith(`${APP}/outpost.goauthentik.io/start?rd=`));
    });

    test('#9 /start redirects to authorize with the callback URI, the scopes and a state, and sets the cookie', async () => {
      const r = await viaOutpost(stack, `${APP}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${APP}/some/path`)}`);
      assert.equal(r.status, 302);
      const u = new URL(r.location!);
      assert.equal(u.pathname, '/application/o/authorize/');
      assert.deepEqual([...u.searchParams.keys()], ['client_id', 'redirect_uri', 'response_type', 'scope', 'state']);
      assert.equal(u.searchParams.get('redirect_uri'), `${APP}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`);
      assert.ok(r.setCookies.some((c) => c.startsWith('authentik_proxy_AbCdEfGh=')));
    });

    test('#10 #48 the login returns to the original URL with its query; the cookie is HttpOnly, Secure, Lax, Max-Age within the token validity', async () => {
      const j = new Jar();
      const done = await browserLogin(stack, `${APP}/some/path?x=1`, j, new Jar());
      assert.equal(done.status, 302);
      assert.equal(done.location, `${APP}/some/path?x=1`);
      const cookie = done.setCookies.find((c) => c.startsWith('authentik_proxy_AbCdEfGh='))!;
      assert.match(cookie, /; HttpOnly/);
      assert.match(cookie, /; Secure/);
      assert.match(cookie, /SameSite=Lax/);
      const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
      assert.ok(maxAge >= 290 && maxAge <= 300, `Max-Age ${maxAge}`);
    });

    test('#13 #14 #28 an authenticated request reaches the upstream with the identity headers, spoofed ones replaced', async () => {
      const r = await viaOutpost(stack, `${APP}/api?q=1`, { jar, headers: { 'x-authentik-username': 'mallory', x_authentik_username: 'mallory' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-powered-by'], 'goauthentik.io');
      const hit = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
      assert.equal(hit.url, '/api?q=1');
      const h = hit.headers;
      assert.equal(h['host'], 'app.example.com');
      assert.equal(h['x-forwarded-host'], 'app.example.com');
      assert.equal(h['x-authentik-username'], 'alice');
      assert.equal(h['x_authentik_username'], undefined);
      assert.equal(h['x-authentik-groups'], 'g1|g2');
      assert.equal(h['x-authentik-email'], 'a@x');
      assert.equal(h['x-authentik-name'], 'Alice');
      assert.ok(h['x-authentik-uid']);
      assert.equal(h['x-authentik-jwt']!.split('.').length, 3);
      assert.equal(h['x-authentik-meta-outpost'], 'test-outpost');
      assert.equal(h['x-authentik-meta-provider'], 'p1-proxy');
      assert.equal(h['x-authentik-meta-app'], 'app1');
      assert.match(h['x-authentik-meta-version']!, /^goauthentik\.io\/outpost\//);
      assert.equal(h['x-extra'], 'v');
      // authentik sends '' for JSON numbers; protocol/headers.ts sends the decimal text (a fix).
      assert.equal(h['x-num'], '5');
      assert.match(h['x-forwarded-for']!, /127\.0\.0\.1$/);
    });

    test('#15 #16 the skip path is proxied without identity headers; a query naming it is not a skip', async () => {
      const r = await viaOutpost(stack, `${APP}/public/readme`, { headers: { 'x-authentik-username': 'mallory' } });
      assert.equal(r.status, 200);
      const hit = JSON.parse(r.body) as { headers: Record<string, string> };
      assert.equal(hit.headers['x-authentik-username'], undefined);
      const q = await viaOutpost(stack, `${APP}/x?p=/public/`);
      assert.equal(q.status, 302);
    });

    test('#19 an Authorization header that does not authenticate is 401 with the header-auth page', async () => {
      const r = await viaOutpost(stack, `${APP}/x`, { headers: { authorization: 'Bearer garbage' } });
      assert.equal(r.status, 401);
      assert.match(String(r.headers['content-type']), /text\/html/);
      assert.match(r.body, /Receive header authentication/);
    });

    test('#20 ?X-authentik-logout=true on any path signs out without reaching the upstream', async () => {
      const j = new Jar();
      await browserLogin(stack, `${APP}/`, j, new Jar());
      const hits = stack.upstream.hits.length;
      const r = await viaOutpost(stack, `${APP}/anything?X-authentik-logout=true`, { jar: j });
      assert.equal(r.status, 302);
      assert.ok(r.location!.startsWith(`${stack.core.url}/application/o/app1/end-session/?id_token_hint=`));
      assert.equal(stack.upstream.hits.length, hits);
      assert.equal((await viaOutpost(stack, `${APP}/`, { jar: j })).status, 302);
    });

    test('#25 #26 header auth: Bearer by introspection, Basic by client_credentials; saved into a session; Authorization not forwarded', async () => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'AbCdEfGh1234proxyclient', username: 'alice', password: 'alice-password', scope: 'openid profile email ak_proxy' });
      const tok = await call(stack.core.url, '/application/o/token/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      assert.equal(tok.status, 200, tok.body);
      const { access_token: accessToken, id_token: idToken } = JSON.parse(tok.body) as { access_token: string; id_token: string };
      const bearer = await viaOutpost(stack, `${APP}/api`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(bearer.status, 200, bearer.body);
      const hit = JSON.parse(bearer.body) as { headers: Record<string, string> };
      assert.equal(hit.headers['x-authentik-username'], 'alice');
      assert.equal(hit.headers['authorization'], undefined);
      assert.ok(bearer.setCookies.some((c) => c.startsWith('authentik_proxy_AbCdEfGh=')));
      // Cached for 60 s under the header: the same header again, without the cookie, still passes.
      assert.equal((await viaOutpost(stack, `${APP}/api`, { headers: { authorization: `Bearer ${accessToken}` } })).status, 200);

      const basic = await viaOutpost(stack, `${APP}/api`, { headers: { authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}` } });
      assert.equal(basic.status, 200, basic.body);
      const bh = (JSON.parse(basic.body) as { headers: Record<string, string> }).headers;
      assert.equal(bh['x-authentik-username'], 'alice');
      assert.equal(bh['x-authentik-jwt']!.split('.').length, 3);
      assert.ok(idToken);
      const wrong = await viaOutpost(stack, `${APP}/api`, { headers: { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } });
      assert.equal(wrong.status, 401);
    });

    test('#18 websocket: an authenticated upgrade is piped to the upstream; without a cookie it is a 302', async () => {
      const j = new Jar();
      await browserLogin(stack, `${APP}/`, j, new Jar());
      const url = `ws://127.0.0.1:${stack.httpPort}/ws`;
      const ws = new WebSocket(url, { headers: { host: 'app.example.com', cookie: j.header()! } });
      const echoed = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send('hello'));
        ws.once('message', (data) => resolve(String(data)));
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
      });
      ws.close();
      assert.equal(echoed, 'alice:hello');
      const anon = new WebSocket(url, { headers: { host: 'app.example.com' } });
      const status = await new Promise<number>((resolve, reject) => {
        anon.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
        });
        anon.once('open', () => reject(new Error('upgraded without a session')));
        anon.once('error', () => {});
      });
      anon.terminate();
      assert.equal(status, 302);
    });

    test('#6 TLS: SNI of the provider gets its certificate; another name or none gets the default', async () => {
      const app = await peerCertificate(stack.httpsPort, 'app.example.com');
      assert.equal(app.subject.CN, 'app.example.com');
      const other = await peerCertificate(stack.httpsPort, 'other.test');
      assert.equal(other.subject.CN, 'authentik default certificate');
      const none = await peerCertificate(stack.httpsPort, undefined);
      assert.equal(none.subject.CN, 'authentik default certificate');
    });

    test('#46 metrics: request and upstream histograms with authentik\'s names and labels', async () => {
      const text = await (await fetch(`${stack.outpost.metricsUrl}/metrics`)).text();
      assert.match(text, /authentik_outpost_proxy_request_duration_seconds_bucket\{[^}]*outpost_name="test-outpost"[^}]*method="GET"[^}]*host="app\.example\.com"[^}]*type="app"/);
      assert.match(text, new RegExp(`authentik_outpost_proxy_upstream_response_duration_seconds_count\\{[^}]*upstream_host="127\\.0\\.0\\.1:${stack.upstream.port}"`));
    });

    test('log lines carry no cookie, token, code or secret', () => {
      const lines = stack.outpost.logs.lines.map((l) => JSON.stringify(l));
      const cookieValue = [...jar.cookies.values()][0]!;
      for (const line of lines) {
        assert.ok(!line.includes(cookieValue), line);
        assert.ok(!line.includes('S1-secret'), line);
        assert.ok(!line.includes('C1-cookie-secret'), line);
        assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(line), line);
        assert.ok(!/[?&](code|state)=/.test(line), line);
      }
    });

    test('#17 upstream down: 502 Bad Gateway page', async () => {
      // #20 signed alice out everywhere (sign-out ends the user's sessions): log in again.
      const j = new Jar();
      await browserLogin(stack, `${APP}/`, j, new Jar());
      await stack.upstream.close();
      const r = await viaOutpost(stack, `${APP}/down`, { jar: j });
      assert.equal(r.status, 502);
      assert.match(String(r.headers['content-type']), /text\/html/);
      assert.match(r.body, /Bad Gateway/);
    });
  });
}

describe('proxy mode with a single app', () => {
  test('#3 with only one provider every host goes to it', async () => {
    const stack = await startProxyStack({
      authentikVersion: '2026.8',
      edit: (doc) => {
        doc.outposts = (doc.outposts ?? []).map((o) => ({ ...o, providers: ['p1-proxy'] }));
      },
    });
    try {
      const r = await call(`http://127.0.0.1:${stack.httpPort}`, '/x', { host: 'nothing.invalid' });
      assert.equal(r.status, 302);
      assert.ok(r.location!.startsWith(`${APP}/outpost.goauthentik.io/start?rd=`));
    } finally {
      await stack.close();
    }
  });
});
