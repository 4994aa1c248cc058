import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, parseHost } from '../../../src/proxy/protocol/routing.ts';
import { P1, P2, P3, provider } from './fixtures.ts';

describe('parseHost', () => {
  it('accepts names, ports and bracketed IPv6, lower-cased, trailing dot dropped', () => {
    assert.deepEqual(parseHost('App.Example.com'), { hostname: 'app.example.com', port: undefined });
    assert.deepEqual(parseHost('app.example.com.:8443'), { hostname: 'app.example.com', port: '8443' });
    assert.deepEqual(parseHost('[::1]:9000'), { hostname: '::1', port: '9000' });
    assert.deepEqual(parseHost('my_service'), { hostname: 'my_service', port: undefined });
  });
  it('refuses anything that is not a host', () => {
    for (const bad of ['', 'a b', 'evil.com/x', 'u@evil.com', 'a..b', 'host:99999', 'host:', '[::1', '[zz]:1', 'a:b:c', '-', 'x\r\ny']) {
      assert.equal(parseHost(bad), undefined, bad);
    }
  });
});

describe('compileRoutes', () => {
  const router = compileRoutes([P1, P2, P3]);

  it('routes by exact external host, case-insensitively', () => {
    assert.equal(router.route('app.example.com'), P1);
    assert.equal(router.route('FS.example.com'), P2);
    assert.equal(router.match('auth.example.com')?.by, 'exact');
  });

  it('treats a default port on the request as the bare host, but not other ports', () => {
    assert.equal(router.route('app.example.com:443'), P1);
    assert.equal(router.route('app.example.com:80'), P1);
    // Not exact, and not under any cookie domain → no app.
    assert.equal(compileRoutes([P1, P2]).route('app.example.com:9000'), undefined);
  });

  it('matches an external host with an explicit port only with that port', () => {
    const p = provider({ pk: 7, name: 'ported', external_host: 'https://port.test:8443' });
    const r = compileRoutes([p, P2]);
    assert.equal(r.route('port.test:8443'), p);
    assert.equal(r.route('port.test'), undefined);
  });

  it('routes forward_domain by cookie domain on a dot boundary (checklist 5)', () => {
    assert.equal(router.route('sub.example.com'), P3);
    assert.equal(router.route('a.b.example.com:9000'), P3);
    assert.equal(router.route('example.com'), P3);
    assert.equal(router.match('sub.example.com')?.by, 'cookie_domain');
    assert.equal(router.route('badexample.com'), undefined);
    assert.equal(router.route('example.com.evil.org'), undefined);
  });

  it('prefers the longest cookie domain, then the name, whatever the input order', () => {
    const wide = provider({ pk: 10, name: 'wide', external_host: 'https://a1.example.com', mode: 'forward_domain', cookie_domain: '.example.com' });
    const narrow = provider({ pk: 11, name: 'narrow', external_host: 'https://a2.example.com', mode: 'forward_domain', cookie_domain: 'dev.example.com' });
    const twinA = provider({ pk: 13, name: 'a-twin', external_host: 'https://a3.example.com', mode: 'forward_domain', cookie_domain: 'x.example.com' });
    const twinB = provider({ pk: 12, name: 'b-twin', external_host: 'https://a4.example.com', mode: 'forward_domain', cookie_domain: 'x.example.com' });
    for (const order of [
      [wide, narrow, twinA, twinB],
      [twinB, twinA, narrow, wide],
    ]) {
      const r = compileRoutes(order);
      assert.equal(r.route('app.dev.example.com'), narrow);
      assert.equal(r.route('other.example.com'), wide);
      assert.equal(r.route('y.x.example.com'), twinA);
    }
  });

  it('ignores cookie_domain on proxy and forward_single providers', () => {
    const p = provider({ pk: 20, name: 'single', mode: 'forward_single', cookie_domain: 'example.com', external_host: 'https://s.example.com' });
    assert.equal(compileRoutes([p, P1]).route('other.example.com'), undefined);
  });

  it('sends every host to the only provider (single-app fallback, checklist 3)', () => {
    const r = compileRoutes([P1]);
    assert.equal(r.route('nothing.invalid'), P1);
    assert.equal(r.match('nothing.invalid')?.by, 'single_app');
    assert.equal(r.route(''), P1);
    assert.equal(r.route('garbage host'), P1);
  });

  it('has no app for an unknown host when several are configured (checklist 2)', () => {
    assert.equal(router.route('nothing.invalid'), undefined);
    assert.equal(router.route(''), undefined);
  });

  it('skips unusable providers and says why', () => {
    const broken = provider({ pk: 30, name: 'broken', external_host: 'not a url' });
    const noSecret = provider({ pk: 31, name: 'nosecret', external_host: 'https://ns.example.com', cookie_secret: '' });
    const noDomain = provider({ pk: 32, name: 'nodomain', external_host: 'https://nd.example.com', mode: 'forward_domain', cookie_domain: '' });
    const dup = provider({ pk: 33, name: 'zz-dup', external_host: 'https://APP.example.com/' });
    const r = compileRoutes([broken, noSecret, noDomain, dup, P1]);
    assert.deepEqual(
      r.skipped.map((s) => s.name),
      ['broken', 'nodomain', 'nosecret', 'zz-dup'],
    );
    assert.match(r.skipped.find((s) => s.name === 'zz-dup')!.reason, /P1/);
    assert.equal(r.route('app.example.com'), P1);
    assert.deepEqual(r.providers, [P1]);
    // Only one usable provider left: the fallback applies.
    assert.equal(r.route('ns.example.com'), P1);
  });

  it('with no providers routes nothing', () => {
    assert.equal(compileRoutes([]).route('app.example.com'), undefined);
  });
});
