// Checklist #27 (HTTP Basic injected from the user's attributes when `basic_auth_enabled`) in
// proxy mode and forward auth, and #29's configuration error (nginx without the URL headers),
// against the development core.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { browserLogin, call, Jar, startProxyStack, viaOutpost, type ProxyStack } from './support.ts';

const APP = 'https://app.example.com';
const FS = 'https://fs.example.com';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

for (const version of AUTHENTIK_VERSIONS) {
  describe(`Basic injection and configuration errors against authentik ${version}`, () => {
    let stack: ProxyStack;
    before(async () => {
      stack = await startProxyStack({
        authentikVersion: version,
        edit: (doc) => {
          for (const p of doc.providers ?? []) {
            if (p.name !== 'p1-proxy' && p.name !== 'p2-single') continue;
            Object.assign(p, { basic_auth_enabled: true, basic_auth_user_attribute: 'u', basic_auth_password_attribute: 'p' });
          }
          for (const u of doc.users ?? []) {
            if (u.username === 'alice') u.attributes = { u: 'bob', p: 'pw' };
            if (u.username === 'bob') u.attributes = { p: 'pw' };
          }
        },
      });
    });
    after(async () => {
      await stack?.close();
    });

    test('#27 proxy mode: the upstream gets Basic user:password from the attributes, overwriting the client\'s Authorization', async () => {
      const jar = new Jar();
      assert.equal((await browserLogin(stack, `${APP}/`, jar, new Jar())).status, 302);
      const r = await viaOutpost(stack, `${APP}/api`, { jar, headers: { authorization: basic('mallory', 'x') } });
      assert.equal(r.status, 200, r.body);
      const hit = JSON.parse(r.body) as { headers: Record<string, string> };
      assert.equal(hit.headers['authorization'], 'Basic Ym9iOnB3');
      assert.equal(hit.headers['x-authentik-username'], 'alice');
    });

    test('#27 without the user attribute the user name is the email', async () => {
      const jar = new Jar();
      assert.equal((await browserLogin(stack, `${APP}/`, jar, new Jar(), 'bob', 'bob-password')).status, 302);
      const r = await viaOutpost(stack, `${APP}/api`, { jar });
      assert.equal(r.status, 200, r.body);
      assert.equal((JSON.parse(r.body) as { headers: Record<string, string> }).headers['authorization'], basic('b@x', 'pw'));
    });

    test('#27 forward auth: the 200 carries the Authorization for the reverse proxy to copy', async () => {
      const jar = new Jar();
      const done = await browserLogin(stack, `${FS}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${FS}/x`)}`, jar, new Jar());
      assert.equal(done.status, 302, done.body);
      const r = await call(`http://127.0.0.1:${stack.httpPort}`, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', jar, headers: { 'x-original-url': `${FS}/x` } });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers['authorization'], 'Basic Ym9iOnB3');
    });

    test('#29 nginx without X-Original-URL/URI: 500 "configuration error" and an error line naming the missing headers', async () => {
      const r = await call(`http://127.0.0.1:${stack.httpPort}`, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com' });
      assert.equal(r.status, 500);
      assert.equal(r.body, 'configuration error\n');
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.setCookies.length, 0);
      const line = stack.outpost.logs.lines.find((l) => l['action'] === 'configuration_error');
      assert.ok(line, 'no configuration_error line');
      assert.equal(line['level'], 'error');
      const message = String((line['err'] as { message?: string } | undefined)?.message ?? '');
      assert.match(message, /Outpost test-outpost \(Provider p2-single\) failed to detect a forward URL from nginx/);
      assert.match(message, /X-Original-URI/);
      assert.match(message, /X-Original-URL/);
      assert.equal(line['app'], 'authentik.providers.proxy');
    });

    test('#29 traefik without X-Forwarded-Proto: 500 and the error line names it', async () => {
      const r = await call(`http://127.0.0.1:${stack.httpPort}`, '/outpost.goauthentik.io/auth/traefik', { host: 'fs.example.com', headers: { 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x' } });
      assert.equal(r.status, 500);
      const line = stack.outpost.logs.lines.findLast((l) => l['action'] === 'configuration_error');
      assert.match(String((line?.['err'] as { message?: string } | undefined)?.message ?? ''), /from Traefik: X-Forwarded-Proto is missing/);
    });
  });
}
