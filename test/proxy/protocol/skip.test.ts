import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSkip, isCanonicalPath } from '../../../src/proxy/protocol/skip.ts';
import { P1, P2, P3, provider } from './fixtures.ts';

const u = (s: string) => new URL(s);

describe('compileSkip', () => {
  it('matches the path in proxy and forward_single mode, not the query (checklist 15, 16, 38)', () => {
    const s1 = compileSkip(P1);
    assert.equal(s1.matches(u('https://app.example.com/public/readme')), true);
    assert.equal(s1.matches(u('https://app.example.com/x?p=/public/')), false);
    const s2 = compileSkip(P2);
    assert.equal(s2.matches(u('https://fs.example.com/health')), true);
    assert.equal(s2.matches(u('https://fs.example.com/health?x=1')), true);
    assert.equal(s2.matches(u('https://fs.example.com/healthz')), false);
  });

  it('matches the full URL in forward_domain (checklist 45)', () => {
    const s = compileSkip(P3);
    assert.equal(s.matches(u('https://open.example.com/x')), true);
    assert.equal(s.matches(u('https://closed.example.com/x')), false);
  });

  it('does not disable authentication for a trailing newline or blank lines (spec §10.9 fixed)', () => {
    for (const regex of ['^/public/\n', '\n', '^/public/\r\n\r\n', '  \n\t\n', '(?i)']) {
      const s = compileSkip(provider({ skip_path_regex: regex }));
      assert.equal(s.matches(u('https://app.example.com/admin')), false, JSON.stringify(regex));
    }
    assert.equal(compileSkip(provider({ skip_path_regex: '' })).matches(u('https://app.example.com/')), false);
  });

  it('strips the CR of CRLF lines and is unanchored', () => {
    const s = compileSkip(provider({ skip_path_regex: '^/a$\r\nstatic' }));
    assert.equal(s.matches(u('https://app.example.com/a')), true);
    assert.equal(s.matches(u('https://app.example.com/x/static/y.css')), true);
  });

  it('supports RE2 leading inline flags', () => {
    const s = compileSkip(provider({ skip_path_regex: '(?i)^/PUBLIC/' }));
    assert.equal(s.matches(u('https://app.example.com/public/x')), true);
  });

  it('reports invalid lines and keeps the valid ones', () => {
    const s = compileSkip(provider({ skip_path_regex: '^/ok/\n([unclosed\n^/also/' }));
    assert.equal(s.patterns.length, 2);
    assert.deepEqual(s.invalid.map((i) => i.line), [2]);
    assert.equal(s.matches(u('https://app.example.com/also/1')), true);
  });

  it('refuses lookarounds and backreferences (not RE2: authentik cannot compile them)', () => {
    const s = compileSkip(provider({ skip_path_regex: '^/(?!admin)\n^/(a)\\1\n^/(?<=x)y\n^/(?<n>a)\\k<n>\n^/ok/' }));
    assert.deepEqual(s.invalid.map((i) => i.line), [1, 2, 3, 4]);
    assert.equal(s.patterns.length, 1);
    // A named group alone is fine.
    assert.equal(compileSkip(provider({ skip_path_regex: '^/(?<part>api)/' })).invalid.length, 0);
  });

  it('a pattern that backtracks exponentially is matched in linear time, with the same answers', () => {
    // Without the linear fallback this path takes V8 hours; the test's own timeout is the bound.
    const s = compileSkip(provider({ skip_path_regex: '^/api/(\\w+/?)+$' }));
    assert.equal(s.matches(u(`https://app.example.com/api/${'a'.repeat(40)}!`)), false);
    assert.equal(s.matches(u(`https://app.example.com/api/${'a'.repeat(30_000)}!`)), false);
    assert.equal(s.matches(u('https://app.example.com/api/a/b/c')), true);
  });

  it('matches the encoded, dot-normalized path, so encoded traversal stays authenticated', () => {
    const s = compileSkip(P1);
    assert.equal(s.matches(u('https://app.example.com/public%2F..%2Fadmin')), false);
    assert.equal(s.matches(u('https://app.example.com/public/../admin')), false);
    assert.equal(s.matches(u('https://app.example.com/public/%2e%2e/admin')), false);
  });

  it('a dot segment with path parameters (Tomcat, Jetty, Spring read `..;x` as `..`) is never a skip path', () => {
    // WHATWG keeps `..;` as a name, so the URL says /public/..;/admin; Tomcat serves /admin.
    const s = compileSkip(P1);
    for (const raw of ['/public/..;/admin', '/public/..;jsessionid=1/admin', '/public/.;/../admin', '/public/%2e%2e;/admin', '/public/.%2E;x/admin', '/public/..%3b/admin', '/public/..%3B/admin']) {
      const url = u(`https://app.example.com${raw}`);
      assert.equal(s.matches(url, raw), false, raw);
      assert.equal(isCanonicalPath(raw, url), false, raw);
    }
    // Parameters elsewhere, and names that merely start with dots, are not dot segments.
    for (const raw of ['/public/a;jsessionid=1', '/public/x;/y', '/public/...;/y', '/public/..x;/y', '/public/.well-known;x']) {
      assert.equal(s.matches(u(`https://app.example.com${raw}`), raw), true, raw);
    }
  });
});
