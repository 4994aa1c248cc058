import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRedirect } from '../../../src/proxy/protocol/redirect.ts';
import { prng } from '../../support/random.ts';
import { P1, P2, P3, provider } from './fixtures.ts';

/** Open-redirect payloads against app.example.com (P1/P2 style) and example.com (P3). */
const PAYLOADS: readonly string[] = [
  'https://evil.com',
  'https://evil.com/',
  'http://evil.com/?x=https://app.example.com',
  'https://evil.com/https://app.example.com',
  'https://evil.com#https://app.example.com',
  '//evil.com',
  '//evil.com/%2F..',
  '///evil.com',
  '////evil.com',
  '/\\evil.com',
  '\\\\evil.com',
  '/\\/evil.com',
  'https:evil.com',
  'https:/evil.com',
  'https:///evil.com',
  'https:\\\\evil.com',
  'https://app.example.com\\@evil.com',
  'https://app.example.com@evil.com',
  'https://app.example.com:443@evil.com',
  'https://user:pass@app.example.com/',
  'https://evil.com@app.example.com/',
  'https://evil.com%40app.example.com/',
  'https://app.example.com%2F@evil.com',
  'https://app.example.com%2eevil.com',
  'https://evil.com%2Fapp.example.com',
  'https://app.example.com.evil.com',
  'https://app.example.com%00.evil.com',
  'https://app.example.com%0d%0aSet-Cookie:x=1',
  'https://app.example.com\r\nLocation: https://evil.com',
  'https://app.example.com\t.evil.com',
  'java\nscript:alert(1)',
  'javascript:alert(1)',
  'JavaScript://app.example.com/%0aalert(1)',
  'javascript://app.example.com/%0Aalert(document.domain)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  'ftp://app.example.com/',
  'ws://app.example.com/',
  ' https://evil.com',
  'https://evil.com ',
  '\u0000https://app.example.com/',
  'https://app.example.com\u2028',
  'https://ａｐｐ.example.com/',
  'https://аpp.example.com/', // Cyrillic а
  'https://0x7f.1/',
  'https://2130706433/',
  'https://[::ffff:127.0.0.1]/',
  'https://badexample.com/',
  'https://example.com.evil.org/',
  'https://evilexample.com/',
  'http://app.example.com/', // downgrade
  'https://app.example.com:8443/',
  'https:app.example.com',
  '%2F%2Fevil.com',
  '',
  'a'.repeat(10000),
];

describe('checkRedirect: proxy / forward_single', () => {
  it('accepts URLs on the external host, and paths on it', () => {
    for (const p of [P1, P2]) {
      const host = new URL(p.external_host).host;
      assert.equal(checkRedirect(`https://${host}/some/path?x=1`, p)?.href, `https://${host}/some/path?x=1`);
      assert.equal(checkRedirect(`https://${host.toUpperCase()}`, p)?.href, `https://${host}/`);
      assert.equal(checkRedirect(`https://${host}:443/a`, p)?.href, `https://${host}/a`);
      assert.equal(checkRedirect('/some/path?x=1#f', p)?.href, `https://${host}/some/path?x=1#f`);
      assert.equal(checkRedirect(`https://${host}/a b`, p)?.href, `https://${host}/a%20b`);
    }
  });

  it(`rejects ${PAYLOADS.length} open-redirect payloads`, () => {
    for (const rd of PAYLOADS) {
      assert.equal(checkRedirect(rd, P1), undefined, JSON.stringify(rd));
      assert.equal(checkRedirect(rd, P2), undefined, JSON.stringify(rd));
    }
  });

  it('keeps encoded and punycode look-alikes on the app host or refuses them', () => {
    assert.equal(checkRedirect('/%2F/evil.com', P1)?.host, 'app.example.com');
    assert.equal(checkRedirect('/%5C/evil.com', P1)?.host, 'app.example.com');
    assert.equal(checkRedirect('https://xn--pp-6mc.example.com/', P1), undefined);
  });

  it('rejects non-strings', () => {
    for (const v of [undefined, null, 1, {}, ['https://app.example.com/']]) assert.equal(checkRedirect(v, P1), undefined);
  });

  it('allows http on an http external host, with its port', () => {
    const p = provider({ external_host: 'http://intranet.test:8080' });
    assert.equal(checkRedirect('http://intranet.test:8080/x', p)?.href, 'http://intranet.test:8080/x');
    assert.equal(checkRedirect('http://intranet.test/x', p), undefined);
    assert.equal(checkRedirect('https://intranet.test:8080/x', p)?.href, 'https://intranet.test:8080/x');
  });
});

describe('checkRedirect: forward_domain', () => {
  it('accepts the auth host, the cookie domain and hosts under it on a dot boundary', () => {
    assert.equal(checkRedirect('https://app2.example.com/a', P3)?.href, 'https://app2.example.com/a');
    assert.equal(checkRedirect('https://example.com/', P3)?.href, 'https://example.com/');
    assert.equal(checkRedirect('https://deep.a.example.com:8443/x?y', P3)?.href, 'https://deep.a.example.com:8443/x?y');
    assert.equal(checkRedirect('https://auth.example.com/', P3)?.href, 'https://auth.example.com/');
    assert.equal(checkRedirect('http://app2.example.com/', P3)?.href, 'http://app2.example.com/');
  });

  it('rejects relative paths, look-alike suffixes and every payload (checklist 44)', () => {
    assert.equal(checkRedirect('/a', P3), undefined);
    assert.equal(checkRedirect('https://evil.org/', P3), undefined);
    for (const rd of PAYLOADS.filter((p) => !p.startsWith('http://app.example.com') && !p.startsWith('https://app.example.com:8443'))) {
      assert.equal(checkRedirect(rd, P3), undefined, JSON.stringify(rd));
    }
  });

  it('with an empty cookie domain allows only the auth host (authentik allowed everything)', () => {
    const p = provider({ mode: 'forward_domain', cookie_domain: '', external_host: 'https://auth.example.com' });
    assert.equal(checkRedirect('https://evil.org/', p), undefined);
    assert.equal(checkRedirect('https://auth.example.com/x', p)?.href, 'https://auth.example.com/x');
  });
});

describe('checkRedirect fuzz', () => {
  it('never throws and never accepts a URL off the allowed hosts', () => {
    const rnd = prng(0xfeed);
    const alphabet = ['h', 't', 'p', 's', ':', '/', '/', '\\', '@', '.', '%', '2', 'F', 'e', 'v', 'i', 'l', '#', '?', '[', ']', ' ', '\t', '\n', 'a', 'x', '-'];
    const seeds = ['https://app.example.com/', 'https://app2.example.com/x', '/path', ...PAYLOADS.slice(0, 40)];
    for (let i = 0; i < 20000; i++) {
      let s = seeds[Math.floor(rnd() * seeds.length)]!;
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * (s.length + 1));
        const op = rnd();
        const ch = alphabet[Math.floor(rnd() * alphabet.length)]!;
        s = op < 0.4 ? s.slice(0, at) + ch + s.slice(at) : op < 0.7 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + ch + s.slice(at + 1);
      }
      for (const p of [P1, P3]) {
        const u = checkRedirect(s, p);
        if (u === undefined) continue;
        assert.ok(u.protocol === 'https:' || u.protocol === 'http:', s);
        assert.equal(u.username + u.password, '', s);
        if (p === P1) assert.equal(u.host, 'app.example.com', s);
        else assert.ok(u.hostname === 'example.com' || u.hostname.endsWith('.example.com'), s);
        // What a browser does with the Location must land on the same host.
        assert.equal(new URL(u.href, 'https://elsewhere.invalid/').host, u.host, s);
      }
    }
  });
});
