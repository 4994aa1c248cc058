// A client talking to a real reverse proxy, configured as config/examples/, sends the forwarded
// headers that the example does not set itself. nginx passes every client header on to the
// `auth_request` subrequest, and the example sets only `X-Original-URL`: a client-sent
// `X-Original-URI` reaches the outpost from a trusted peer. It must not decide what is judged.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { call, Jar, loginAtCore } from '../support/client.ts';
import { Browser, startPeerStack, type PeerKind, type PeerStack } from './support.ts';

const SPOOFS: readonly Record<string, string>[] = [
  // The outpost's own path: "let through" for nginx.
  { 'x-original-uri': '/outpost.goauthentik.io/start' },
  // The provider's skip path.
  { 'x-original-uri': '/public/x' },
  { 'x-original-url': 'http://whoami.localhost/public/x' },
  { 'x-forwarded-uri': '/public/x', 'x-forwarded-proto': 'http' },
];

for (const kind of ['nginx', 'caddy'] as const satisfies readonly PeerKind[]) {
  describe(`${kind}: forwarded headers a client sends do not choose the URL the outpost judges`, () => {
    let stack: PeerStack;
    before(async () => {
      stack = await startPeerStack({ kind, authentikVersion: '2026.8' });
    });
    after(async () => {
      await stack?.close();
    });

    test('an unauthenticated request with spoofed X-Original-URI/-URL/X-Forwarded-Uri never reaches the upstream', async () => {
      for (const spoof of SPOOFS) {
        const before = stack.hits.length;
        const r = await new Browser(stack).get(`${stack.app}/secret/page`, spoof);
        assert.equal(r.status, 302, `${JSON.stringify(spoof)}: ${r.status} ${r.body.slice(0, 200)}`);
        assert.equal(stack.hits.length, before, `${JSON.stringify(spoof)}: the upstream was reached`);
      }
    });

    test('a path starting with // (nginx: $request_uri as sent) is a login redirect, not a 500', async () => {
      for (const path of ['//secret/page', '//evil.com/x']) {
        const before = stack.hits.length;
        const r = await new Browser(stack).get(`${stack.app}${path}`);
        assert.equal(r.status, 302, `${path}: ${r.status} ${r.body.slice(0, 200)}`);
        assert.equal(stack.hits.length, before, `${path}: the upstream was reached`);
      }
    });

    test('a session of another provider on the outpost, named by a spoofed X-Forwarded-Host, does not open this app', async () => {
      // Logged in to other.localhost (another application, another policy), at the outpost itself.
      const outpost = `http://127.0.0.1:${stack.ports.outpost}`;
      const otherHost = `other.localhost:${stack.ports.peer}`;
      const jar = new Jar();
      const start = await call(outpost, `/outpost.goauthentik.io/start?rd=${encodeURIComponent(`http://${otherHost}/`)}`, { host: otherHost, jar });
      assert.equal(start.status, 302, start.body);
      const callback = new URL(await loginAtCore(stack.core, start.location!, 'bob', 'bob-password', new Jar()));
      const done = await call(outpost, `${callback.pathname}${callback.search}`, { host: otherHost, jar });
      assert.equal(done.status, 302, done.body);
      assert.ok(jar.header()?.includes('authentik_proxy_PeerOthe='), jar.header());
      // That cookie, sent to this app through the reverse proxy, with the other app's host.
      const before = stack.hits.length;
      const r = await new Browser(stack).get(`${stack.app}/secret/page`, { cookie: jar.header()!, 'x-forwarded-host': otherHost });
      assert.notEqual(r.status, 200, `${r.status} ${r.body.slice(0, 200)}`);
      assert.equal(stack.hits.length, before, 'the upstream was reached with another provider\'s session');
    });
  });
}
