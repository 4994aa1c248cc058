// The README's ready configurations, config/examples/nginx-demo.conf and Caddyfile.demo, in
// front of the demo as `npm run demo` seeds it (config/demo.yaml: provider whoami-provider for
// whoami.localhost:9080, the demo's upstream app, its login flow), with the test's own ports in
// place of 9080, 9000 and 9901. Also: a missing nginx or Caddy fails with the apt-get line.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { INSTALL_HINT, requireBinary } from '../../support/reverse-proxy.ts';
import { Browser, renderExample, startPeerStack, upstreamSaw, type PeerKind, type PeerStack } from './support.ts';

test('a missing nginx or caddy is a failure naming `apt-get install nginx caddy`, never a skip', () => {
  assert.equal(INSTALL_HINT, 'apt-get install nginx caddy');
  for (const name of ['nginx', 'caddy'] as const) {
    assert.throws(() => requireBinary(name, ['/nonexistent-dir']), (err: Error) => err.message.includes('apt-get install nginx caddy') && err.message.includes(name));
    assert.ok(requireBinary(name).endsWith(`/${name}`));
  }
});

test('the examples render with every fixed port replaced', () => {
  for (const kind of ['nginx', 'caddy'] as const) {
    const text = renderExample(kind, { peer: 41001, outpost: 41002, upstream: 41003 });
    assert.match(text, /41001/);
    assert.match(text, /127\.0\.0\.1:41002/);
    assert.match(text, /127\.0\.0\.1:41003/);
  }
});

for (const kind of ['nginx', 'caddy'] as const satisfies readonly PeerKind[]) {
  describe(`README: ${kind} in front of the demo (config/demo.yaml, whoami-provider)`, () => {
    let stack: PeerStack;
    before(async () => {
      stack = await startPeerStack({ kind, authentikVersion: '2026.8', seed: 'demo' });
    });
    after(async () => {
      await stack?.close();
    });

    test('anonymous → login; alice logs in and the demo app greets her; sign-out ends it', async () => {
      const b = new Browser(stack);
      const url = `${stack.app}/?from=readme`;
      const anon = await b.follow(url);
      assert.ok(anon.url.startsWith(`${stack.core.url}/application/o/authorize/?`), anon.hops.join(' → '));
      assert.equal(new URL(anon.url).searchParams.get('redirect_uri'), `${stack.app}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`);

      const { reply } = await b.login(url);
      const saw = upstreamSaw(reply);
      assert.equal(saw.url, '/?from=readme');
      assert.equal(saw.headers['x-authentik-username'], 'alice');
      assert.deepEqual(String(saw.headers['x-authentik-groups']).split('|').sort(), ['staff', 'vpn']);
      assert.equal(saw.headers['x-authentik-email'], 'alice@example.com');
      assert.equal(saw.headers['x-authentik-name'], 'Alice Example');
      // The demo app's HTML page says hello to her too.
      const html = await b.get(`${stack.app}/`, { accept: 'text/html' });
      assert.match(html.body, /Hello, alice/);
      // A forged identity is replaced.
      assert.equal(upstreamSaw(await b.get(`${stack.app}/`, { 'x-authentik-username': 'akadmin' })).headers['x-authentik-username'], 'alice');

      const out = await b.get(`${stack.app}/outpost.goauthentik.io/sign_out`);
      assert.equal(out.status, 302);
      assert.ok(out.location!.startsWith(`${stack.core.url}/application/o/whoami/end-session/`), out.location);
      await b.follow(out.location!);
      const next = await b.follow(url);
      assert.ok(next.url.startsWith(`${stack.core.url}/application/o/authorize/?`), next.hops.join(' → '));
    });
  });
}
