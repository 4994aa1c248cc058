import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  clearSessionCookie,
  isSessionId,
  newSessionId,
  readCookies,
  sessionCookie,
  sessionCookieName,
  sessionCookieNameSha256,
  signSessionId,
  verifySessionId,
} from '../../../src/proxy/protocol/cookie.ts';
import { P1 } from './fixtures.ts';

describe('cookie name', () => {
  it('is authentik_proxy_ + the first 8 characters of client_id (checklist 47)', () => {
    assert.equal(sessionCookieName(P1.client_id), 'authentik_proxy_AbCdEfGh');
    assert.match(sessionCookieName(P1.client_id), /^authentik_proxy_[A-Za-z0-9]{8}$/);
  });
  it('falls back to the sha256 form for short or odd client IDs', () => {
    assert.equal(sessionCookieName('short'), sessionCookieNameSha256('short'));
    assert.match(sessionCookieName('a;b=c d e f g'), /^authentik_proxy_[0-9a-f]{8}$/);
    // sha256("abc") = ba7816bf…
    assert.equal(sessionCookieNameSha256('abc'), 'authentik_proxy_ba7816bf');
  });
});

describe('signed session IDs', () => {
  const secret = P1.cookie_secret;

  it('round-trips and rejects another secret', () => {
    const id = newSessionId();
    assert.ok(isSessionId(id));
    const v = signSessionId(id, secret);
    assert.equal(verifySessionId(v, secret), id);
    assert.equal(verifySessionId(v, secret + 'x'), undefined);
    assert.equal(verifySessionId(v, ''), undefined);
  });

  it('mints different IDs', () => {
    assert.notEqual(newSessionId(), newSessionId());
  });

  it('rejects malformed values without throwing', () => {
    const v = signSessionId(newSessionId(), secret);
    for (const bad of [undefined, null, 42, {}, '', '.', v + 'x', v.slice(1), v.replace('.', '|'), `${v.slice(0, 43)}.`, `${v.slice(0, 44)}${'A'.repeat(43)}`, 'a'.repeat(100000), `${v.slice(0, 43)}.${v.slice(0, 43)}`]) {
      assert.equal(verifySessionId(bad, secret), undefined, String(bad).slice(0, 100));
    }
  });

  it('refuses to sign a malformed ID or with an empty secret', () => {
    assert.throws(() => signSessionId('short', secret));
    assert.throws(() => signSessionId(newSessionId(), ''));
  });
});

describe('Set-Cookie strings', () => {
  it('HttpOnly, SameSite=Lax, Path=/, Secure on https (checklist 48)', () => {
    assert.equal(
      sessionCookie({ name: 'authentik_proxy_AbCdEfGh', value: 'v', secure: true, maxAge: 299.7 }),
      'authentik_proxy_AbCdEfGh=v; Path=/; Max-Age=299; HttpOnly; Secure; SameSite=Lax',
    );
    assert.equal(sessionCookie({ name: 'n', value: 'v', secure: false }), 'n=v; Path=/; HttpOnly; SameSite=Lax');
  });
  it('sets Domain for forward_domain, without the leading dot', () => {
    assert.equal(sessionCookie({ name: 'n', value: 'v', secure: true, domain: '.example.com' }), 'n=v; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax');
  });
  it('clears with Max-Age=0 and an old Expires', () => {
    assert.equal(
      clearSessionCookie({ name: 'n', secure: true, domain: 'example.com' }),
      'n=; Path=/; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
  });
  it('refuses names, values and domains that would corrupt the header', () => {
    assert.throws(() => sessionCookie({ name: 'a b', value: 'v', secure: true }));
    assert.throws(() => sessionCookie({ name: 'n', value: 'v; Domain=evil.com', secure: true }));
    assert.throws(() => sessionCookie({ name: 'n', value: 'v\r\nX: y', secure: true }));
    assert.throws(() => sessionCookie({ name: 'n', value: 'v', secure: true, domain: 'example.com; Secure' }));
    assert.throws(() => sessionCookie({ name: 'n', value: 'v', secure: true, maxAge: Number.NaN }));
  });
});

describe('readCookies', () => {
  it('returns every value of the name, in order', () => {
    assert.deepEqual(readCookies('a=1; authentik_proxy_x=two; b=3; authentik_proxy_x="three"', 'authentik_proxy_x'), ['two', 'three']);
    assert.deepEqual(readCookies(['a=1', 'authentik_proxy_x=4'], 'authentik_proxy_x'), ['4']);
    assert.deepEqual(readCookies(undefined, 'x'), []);
    assert.deepEqual(readCookies('garbage;;==;x', 'x'), []);
  });
});
