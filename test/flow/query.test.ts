import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFlowQuery, encodeFlowQuery, encodeParams, parseQuery, quotePlus, unquotePlus } from '../../src/flow/query.ts';

// Expected values were produced with CPython 3: urlencode({'query': urlencode(params)}).
const GOLDEN: [Record<string, string>, string][] = [
  [{ 'goauthentik.io/outpost/ldap': 'true' }, 'query=goauthentik.io%252Foutpost%252Fldap%3Dtrue'],
  [{ 'goauthentik.io/outpost/radius': 'true' }, 'query=goauthentik.io%252Foutpost%252Fradius%3Dtrue'],
  [{ 'goauthentik.io/outpost/ldap-warmup': 'true' }, 'query=goauthentik.io%252Foutpost%252Fldap-warmup%3Dtrue'],
  [{ x: "!'()*" }, 'query=x%3D%2521%2527%2528%2529%252A'],
  [{ 'a b': 'c d' }, 'query=a%2Bb%3Dc%2Bd'],
  [{ k: 'ü€😀' }, 'query=k%3D%25C3%25BC%25E2%2582%25AC%25F0%259F%2598%2580'],
  [{ p: '100%' }, 'query=p%3D100%2525'],
  [{ next: '/if/user/?a=1&b=2#frag' }, 'query=next%3D%252Fif%252Fuser%252F%253Fa%253D1%2526b%253D2%2523frag'],
  [{ t: '~_.-' }, 'query=t%3D~_.-'],
  [{ plus: 'a+b' }, 'query=plus%3Da%252Bb'],
  [{}, 'query='],
];

test('encodeFlowQuery matches Python urlencode applied twice', () => {
  for (const [params, expected] of GOLDEN) assert.equal(encodeFlowQuery(params), expected, JSON.stringify(params));
});

test('quotePlus: safe set is exactly A-Za-z0-9_.-~, space is +, upper-case hex', () => {
  assert.equal(quotePlus('AZaz09_.-~'), 'AZaz09_.-~');
  assert.equal(quotePlus(' '), '+');
  assert.equal(quotePlus("!'()*"), '%21%27%28%29%2A');
  assert.equal(quotePlus('/?=&#+%;:@$,'), '%2F%3F%3D%26%23%2B%25%3B%3A%40%24%2C');
  assert.equal(quotePlus('\u00ff'), '%C3%BF');
  assert.equal(quotePlus('\n\t'), '%0A%09');
  // A lone surrogate is not UTF-8; it becomes U+FFFD, as Django re-encodes it.
  assert.equal(quotePlus('\ud800'), '%EF%BF%BD');
});

test('JavaScript built-ins differ from quote_plus (why they are not used to encode)', () => {
  assert.equal(encodeURIComponent("!'()* "), "!'()*%20");
  assert.equal(new URLSearchParams({ k: '*~ ' }).toString(), 'k=*%7E+');
  assert.equal(quotePlus('*~ '), '%2A~+');
});

test('encodeParams sorts keys like Go and repeats list values', () => {
  assert.equal(encodeParams({ b: '2', a: '1' }), 'a=1&b=2');
  assert.equal(encodeParams({ a: ['1', '2'] }), 'a=1&a=2');
  assert.equal(encodeParams({ a: [] }), '');
});

test('decode round-trip: our own inverse', () => {
  for (const [params] of GOLDEN) {
    const decoded = decodeFlowQuery(encodeFlowQuery(params));
    const expected = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v]]));
    assert.deepEqual(decoded, expected);
  }
  assert.deepEqual(decodeFlowQuery('?query=a%3D1%26a%3D2%26b'), { a: ['1', '2'], b: [''] });
  assert.deepEqual(decodeFlowQuery('other=1'), {});
});

test('decode round-trip: URLSearchParams parsing agrees with Python parse_qsl', () => {
  for (const [params] of GOLDEN) {
    const outer = new URLSearchParams(encodeFlowQuery(params));
    const inner = new URLSearchParams(outer.get('query') ?? '');
    assert.deepEqual(Object.fromEntries(inner), params);
  }
});

test('re-encoding what the core decoded gives the identical string (the 302 depends on it)', () => {
  for (const [params, expected] of GOLDEN) {
    const value = parseQuery(expected)[0]?.[1] ?? '';
    assert.equal(`query=${quotePlus(value)}`, expected);
  }
});

test('unquotePlus: + is space, bad escapes are kept, bad UTF-8 is U+FFFD', () => {
  assert.equal(unquotePlus('a+b%20c'), 'a b c');
  assert.equal(unquotePlus('%zz%4'), '%zz%4');
  assert.equal(unquotePlus('%ff'), '\ufffd');
  assert.equal(unquotePlus('%C3%BC'), 'ü');
});
