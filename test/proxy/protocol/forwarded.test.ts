import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_TRUSTED_PROXY_CIDRS,
  originalUrl,
  requestHost,
  trustedClient,
  trustedProxies,
  type ForwardKind,
  type HeaderMap,
} from '../../../src/proxy/protocol/forwarded.ts';
import { isCanonicalPath } from '../../../src/proxy/protocol/skip.ts';

const trusted = trustedProxies();

function req(kind: ForwardKind, remote: string, headers: HeaderMap, url: string, host = 'outpost:9000', secure = false) {
  const client = trustedClient(remote, headers, trusted);
  return originalUrl(kind, { url, host, secure, client });
}

describe('trustedClient', () => {
  it('defaults to loopback and private ranges, as authentik', () => {
    assert.deepEqual([...DEFAULT_TRUSTED_PROXY_CIDRS], ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fe80::/10', '::1/128']);
    for (const a of ['127.0.0.1', '10.1.2.3', '172.31.255.255', '192.168.1.1', '::1', '::ffff:10.0.0.1', 'fe80::1']) assert.ok(trusted.has(a), a);
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:db8::1', '100.64.0.1']) assert.ok(!trusted.has(a), a);
  });

  it('ignores every forwarded header from an untrusted peer, and lists them', () => {
    const c = trustedClient('203.0.113.9', { 'x-forwarded-for': '1.1.1.1', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/public/' }, trusted);
    assert.equal(c.peerTrusted, false);
    assert.equal(c.address, '203.0.113.9');
    assert.deepEqual(c.forwarded, {});
    assert.deepEqual(c.ignored, ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-uri']);
    assert.equal(requestHost('evil.example', c), 'evil.example');
  });

  it('takes the rightmost untrusted X-Forwarded-For address from a trusted peer', () => {
    const c = trustedClient('::ffff:10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.9' }, trusted);
    assert.equal(c.peerTrusted, true);
    assert.equal(c.address, '198.51.100.7');
    assert.equal(trustedClient('127.0.0.1', { 'x-forwarded-for': ['6.6.6.6', '198.51.100.7:4711'] }, trusted).address, '198.51.100.7');
    assert.equal(trustedClient('127.0.0.1', { 'x-forwarded-for': '[2001:db8::5]:443' }, trusted).address, '2001:db8::5');
  });

  it('falls back to the nearest trusted hop when X-Forwarded-For is garbage or absent', () => {
    assert.equal(trustedClient('10.0.0.2', { 'x-forwarded-for': 'unknown, 10.0.0.3' }, trusted).address, '10.0.0.3');
    assert.equal(trustedClient('10.0.0.2', {}, trusted).address, '10.0.0.2');
    assert.equal(trustedClient('10.0.0.2', { 'x-forwarded-for': '10.0.0.4, 10.0.0.3' }, trusted).address, '10.0.0.4');
  });

  it('trusts nobody with an empty list, and handles a missing or odd peer address', () => {
    const none = trustedProxies([]);
    assert.equal(trustedClient('127.0.0.1', { 'x-forwarded-host': 'x' }, none).peerTrusted, false);
    assert.equal(trustedClient(undefined, { 'x-forwarded-host': 'x' }, trusted).peerTrusted, false);
    assert.equal(trustedClient('not-an-ip', {}, trusted).address, 'not-an-ip');
  });

  it('uses the trusted X-Forwarded-Host for routing (checklist 4), the last of a list', () => {
    const c = trustedClient('127.0.0.1', { 'x-forwarded-host': 'evil.example, app.example.com', 'x-forwarded-proto': 'HTTPS' }, trusted);
    assert.equal(requestHost('outpost:9000', c), 'app.example.com');
    assert.equal(c.forwarded.proto, 'https');
  });
});

describe('originalUrl: traefik and caddy', () => {
  for (const kind of ['traefik', 'caddy'] as const) {
    it(`${kind}: proto://host+uri from a trusted proxy`, () => {
      const r = req(kind, '10.0.0.2', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x?y=1' }, '/outpost.goauthentik.io/auth/' + kind);
      assert.ok(r.ok);
      assert.equal(r.url.href, 'https://fs.example.com/x?y=1');
      assert.equal(r.source, 'headers');
    });

    it(`${kind}: missing X-Forwarded-Proto is a configuration error (checklist 35)`, () => {
      const r = req(kind, '10.0.0.2', { 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/x?y=1' }, '/outpost.goauthentik.io/auth/' + kind);
      assert.deepEqual(r.ok ? 'ok' : r.code, 'forward_url_invalid');
    });

    it(`${kind}: a spoofed X-Forwarded-Uri from an untrusted peer never changes the judged URL`, () => {
      const r = req(kind, '203.0.113.9', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': '/health' }, '/outpost.goauthentik.io/auth/' + kind, 'fs.example.com');
      assert.ok(r.ok);
      assert.equal(r.url.href, `http://fs.example.com/outpost.goauthentik.io/auth/${kind}`);
      assert.equal(r.source, 'request');
    });
  }

  it('refuses a forwarded host or URI that would change the URL’s meaning: the client\'s request (400), not a configuration error', () => {
    for (const [host, uri] of [
      ['evil.com/x', '/'],
      ['a@evil.com', '/'],
      ['fs.example.com', 'x'],
      ['fs.example.com', '/a\r\nb'],
      ['fs.example.com:99999', '/'],
    ] as const) {
      const r = req('traefik', '10.0.0.2', { 'x-forwarded-proto': 'https', 'x-forwarded-host': host, 'x-forwarded-uri': uri }, '/');
      assert.deepEqual(r.ok ? 'ok' : r.code, 'bad_request', `${host} ${uri}`);
    }
    const r = req('traefik', '10.0.0.2', { 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'fs.example.com' }, '/');
    assert.deepEqual(r.ok ? 'ok' : r.code, 'forward_url_invalid');
  });

  it('a URI starting with // or holding a backslash stays a path of the forwarded host (as Go parses it), never a canonical one with a backslash', () => {
    for (const [uri, path] of [
      ['//evil.com/', '//evil.com/'],
      ['//evil.com\\@x/', '//evil.com/@x/'],
      ['/\\evil.com', '//evil.com'],
    ] as const) {
      const r = req('traefik', '10.0.0.2', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fs.example.com', 'x-forwarded-uri': uri }, '/');
      assert.ok(r.ok, uri);
      assert.equal(r.url.host, 'fs.example.com', uri);
      assert.equal(r.url.pathname, path, uri);
      assert.equal(r.rawPath, uri);
      assert.equal(isCanonicalPath(r.rawPath, r.url), !uri.includes('\\'), uri);
    }
  });

  it('defaults the URI to / and the host to Host', () => {
    const r = req('traefik', '10.0.0.2', { 'x-forwarded-proto': 'https' }, '/outpost.goauthentik.io/auth/traefik', 'fs.example.com');
    assert.ok(r.ok);
    assert.equal(r.url.href, 'https://fs.example.com/');
  });
});

describe('originalUrl: nginx', () => {
  it('uses X-Original-URL (absolute)', () => {
    const r = req('nginx', '127.0.0.1', { 'x-original-url': 'https://fs.example.com/x?a=b' }, '/outpost.goauthentik.io/auth/nginx', 'fs.example.com');
    assert.ok(r.ok);
    assert.equal(r.url.href, 'https://fs.example.com/x?a=b');
  });

  it('prefers X-Original-URI, a path on the request Host in the external scheme', () => {
    const client = trustedClient('127.0.0.1', { 'x-original-uri': '/x?q=1' }, trusted);
    const r = originalUrl('nginx', { url: '/outpost.goauthentik.io/auth/nginx', host: 'fs.example.com', secure: false, client, defaultScheme: 'https' });
    assert.ok(r.ok);
    assert.equal(r.url.href, 'https://fs.example.com/x?q=1');
    assert.equal(r.ambiguous, undefined);
  });

  it('both headers naming the same target (ingress-nginx sends both): X-Original-URI, not ambiguous', () => {
    const client = trustedClient('127.0.0.1', { 'x-original-uri': '/x?q=1', 'x-original-url': 'https://fs.example.com/x?q=1' }, trusted);
    const r = originalUrl('nginx', { url: '/outpost.goauthentik.io/auth/nginx', host: 'fs.example.com', secure: false, client, defaultScheme: 'https' });
    assert.ok(r.ok);
    assert.equal(r.url.href, 'https://fs.example.com/x?q=1');
    assert.equal(r.ambiguous, undefined);
  });

  it('both headers naming different targets: ambiguous (nginx passes the client\'s headers on to auth_request, so one is the client\'s)', () => {
    for (const [uri, url] of [
      ['/outpost.goauthentik.io/start', 'http://fs.example.com/secret'],
      ['/health', 'http://fs.example.com/secret'],
      ['/secret', 'http://fs.example.com/health'],
      ['/x?q=1', 'https://other.example.com/'],
      ['/x', 'not a url'],
    ]) {
      const client = trustedClient('127.0.0.1', { 'x-original-uri': uri, 'x-original-url': url }, trusted);
      const r = originalUrl('nginx', { url: '/outpost.goauthentik.io/auth/nginx', host: 'fs.example.com', secure: false, client, defaultScheme: 'https' });
      assert.ok(r.ok, `${uri} ${url}`);
      assert.equal(r.ambiguous, true, `${uri} ${url}`);
    }
  });

  it('is a configuration error with neither header (checklist 29), or with a relative X-Original-URL', () => {
    const r = req('nginx', '127.0.0.1', {}, '/outpost.goauthentik.io/auth/nginx', 'fs.example.com');
    assert.deepEqual(r.ok ? 'ok' : r.code, 'forward_url_missing');
    const r2 = req('nginx', '127.0.0.1', { 'x-original-url': '/x' }, '/outpost.goauthentik.io/auth/nginx', 'fs.example.com');
    assert.deepEqual(r2.ok ? 'ok' : r2.code, 'forward_url_invalid');
  });

  it('judges the auth request itself when the peer is not trusted', () => {
    const r = req('nginx', '8.8.8.8', { 'x-original-url': 'https://fs.example.com/health' }, '/outpost.goauthentik.io/auth/nginx', 'fs.example.com');
    assert.ok(r.ok);
    assert.equal(r.url.pathname, '/outpost.goauthentik.io/auth/nginx');
  });
});

describe('originalUrl: envoy and proxy', () => {
  it('envoy: strips the prefix, keeps the query, uses Host (checklist 41/42)', () => {
    const client = trustedClient('10.0.0.2', {}, trusted);
    const r = originalUrl('envoy', { url: '/outpost.goauthentik.io/auth/envoy/app/page?z=1', host: 'fs.example.com', secure: false, client, defaultScheme: 'https' });
    assert.ok(r.ok);
    assert.equal(r.url.href, 'https://fs.example.com/app/page?z=1');
    const bare = originalUrl('envoy', { url: '/outpost.goauthentik.io/auth/envoy?z=1', host: 'fs.example.com', secure: false, client });
    assert.ok(bare.ok);
    assert.equal(bare.url.href, 'http://fs.example.com/?z=1');
  });

  it('proxy: the request itself, with trusted forwarded host and proto', () => {
    const r = req('proxy', '10.0.0.2', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' }, '/api?q=1');
    assert.ok(r.ok);
    assert.equal(r.url.href, 'https://app.example.com/api?q=1');
    const direct = req('proxy', '203.0.113.1', { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example' }, '/api', 'app.example.com', true);
    assert.ok(direct.ok);
    assert.equal(direct.url.href, 'https://app.example.com/api');
  });
});
