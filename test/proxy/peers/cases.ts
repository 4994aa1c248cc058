// The cases every reverse proxy must pass in front of the outpost, run by nginx.test.ts and
// caddy.test.ts against config/examples/ rendered with the test's ports.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { Browser, startPeerStack, upstreamSaw, type PeerKind, type PeerStack } from './support.ts';

export function peerSuite(kind: PeerKind): void {
  for (const version of AUTHENTIK_VERSIONS) {
    describe(`${kind} in front of the outpost (config/examples, authentik ${version})`, () => {
      let stack: PeerStack;
      before(async () => {
        stack = await startPeerStack({ kind, authentikVersion: version });
      });
      after(async () => {
        await stack?.close();
      });

      /** The login the unauthenticated browser is sent to: nginx via the outpost's /start, Caddy straight to authorize. */
      function assertSentToLogin(hops: string[], url: string, what: string): void {
        const authorize = `${stack.core.url}/application/o/authorize/?`;
        if (kind === 'nginx') {
          assert.equal(hops[1], `${stack.app}/outpost.goauthentik.io/start?rd=${url}`, `${what}: ${hops.join(' → ')}`);
          assert.ok(hops[2]?.startsWith(authorize), `${what}: ${hops.join(' → ')}`);
        } else {
          assert.ok(hops[1]?.startsWith(authorize), `${what}: ${hops.join(' → ')}`);
        }
        const q = new URL(hops.find((h) => h.startsWith(authorize))!).searchParams;
        assert.equal(q.get('redirect_uri'), `${stack.app}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`);
        assert.equal(q.get('client_id'), 'PeerWhoami01client', 'the provider of whoami.localhost:<port>, not the other one');
      }

      test('unauthenticated: redirected to the login, the upstream sees nothing', async () => {
        const before = stack.hits.length;
        const b = new Browser(stack);
        const url = `${stack.app}/app/page?q=1`;
        const r = await b.follow(url);
        assertSentToLogin(r.hops, url, 'unauthenticated');
        assert.equal(stack.hits.length, before, 'no request reached the upstream');
      });

      test('full login: start → authorize → login at the core → callback → the original URL with its query; identity headers reach the upstream', async () => {
        const b = new Browser(stack);
        const url = `${stack.app}/app/page?q=1`;
        const { reply, hops } = await b.login(url);
        assertSentToLogin(hops, url, 'login');
        assert.ok(hops.some((h) => h.startsWith(`${stack.app}/outpost.goauthentik.io/callback?`)), hops.join(' → '));
        const saw = upstreamSaw(reply);
        assert.equal(saw.url, '/app/page?q=1');
        assert.equal(saw.headers['x-authentik-username'], 'alice');
        assert.equal(saw.headers['x-authentik-groups'], 'g1|g2');
        assert.equal(saw.headers['x-authentik-email'], 'a@x');
        assert.equal(saw.headers['x-authentik-name'], 'Alice');
        assert.match(String(saw.headers['x-authentik-uid']), /^[0-9a-f]{64}$/);
        assert.equal(String(saw.headers['x-authentik-jwt']).split('.').length, 3);
        assert.equal(saw.headers['host'], `whoami.localhost:${stack.ports.peer}`);
        for (const [k, v] of Object.entries(saw.headers)) assert.doesNotMatch(String(v), /\{http\./, `${k}: an unreplaced placeholder`);
        // The session holds: another page, no redirect.
        const again = await b.get(`${stack.app}/other?x=2`);
        assert.equal(again.status, 200);
        assert.equal(upstreamSaw(again).headers['x-authentik-username'], 'alice');
        // Bob in another browser is Bob.
        const bob = new Browser(stack);
        const br = await bob.login(`${stack.app}/b`, 'bob', 'bob-password');
        assert.equal(upstreamSaw(br.reply).headers['x-authentik-username'], 'bob');
        assert.equal(upstreamSaw(br.reply).headers['x-authentik-groups'], 'g2');
      });

      test('a client-sent X-authentik-username never reaches the upstream as such', async () => {
        const forged = { 'x-authentik-username': 'admin', 'x-authentik-groups': 'admins', 'x-authentik-email': 'root@evil', 'x-authentik-uid': 'forged' };
        // Logged in: overwritten with the session's identity.
        const b = new Browser(stack);
        await b.login(`${stack.app}/f`);
        const r = await b.get(`${stack.app}/f`, forged);
        assert.equal(r.status, 200);
        const saw = upstreamSaw(r).headers;
        assert.equal(saw['x-authentik-username'], 'alice');
        assert.equal(saw['x-authentik-groups'], 'g1|g2');
        assert.equal(saw['x-authentik-email'], 'a@x');
        assert.notEqual(saw['x-authentik-uid'], 'forged');
        // Not logged in: no request reaches the upstream at all.
        const before = stack.hits.length;
        const anon = await new Browser(stack).get(`${stack.app}/f`, forged);
        assert.equal(anon.status, 302);
        assert.equal(stack.hits.length, before);
        // On the skip path (no login, the outpost answers 200 without identity): stripped.
        const skip = await new Browser(stack).get(`${stack.app}/public/x`, forged);
        assert.equal(skip.status, 200);
        const s = upstreamSaw(skip).headers;
        for (const name of Object.keys(forged)) assert.equal(s[name] ?? '', '', `${name} on the skip path: ${String(s[name])}`);
      });

      test('the skip path (skip_path_regex ^/public/) reaches the upstream without a login', async () => {
        const r = await new Browser(stack).get(`${stack.app}/public/readme.txt?v=3`);
        assert.equal(r.status, 200, r.body);
        const saw = upstreamSaw(r);
        assert.equal(saw.url, '/public/readme.txt?v=3');
        // No identity at all (Caddy ≤ 2.6 would set the literal placeholder text without the example's cleanup).
        for (const [k, v] of Object.entries(saw.headers)) if (k.startsWith('x-authentik-')) assert.equal(v, '', `${k} on the skip path: ${String(v)}`);
        // Only that prefix.
        assert.equal((await new Browser(stack).get(`${stack.app}/publicx`)).status, 302);
      });

      test('sign-out ends the session: the next request goes to the login again', async () => {
        const b = new Browser(stack);
        await b.login(`${stack.app}/before`);
        const kept = b.app.clone();
        const out = await b.get(`${stack.app}/outpost.goauthentik.io/sign_out`);
        assert.equal(out.status, 302);
        assert.ok(out.location!.startsWith(`${stack.core.url}/application/o/whoami-peer/end-session/?id_token_hint=`), out.location);
        // The browser follows to the core, which ends its own session too.
        const end = await b.follow(out.location!);
        assert.ok(end.reply.status < 500, `end-session: ${end.reply.status}`);
        const url = `${stack.app}/after?z=9`;
        const next = await b.follow(url);
        assertSentToLogin(next.hops, url, 'after sign-out');
        // The old cookie, replayed by someone who kept it: the session is gone server-side.
        const replay = await b.get(`${stack.app}/after`, { cookie: kept.header()! });
        assert.equal(replay.status, 302);
        // Logging in again works (the core asks for the password again).
        const again = await b.login(url);
        assert.equal(upstreamSaw(again.reply).headers['x-authentik-username'], 'alice');
      });
    });
  }
}
