// The Authorization header of header auth, parsed into one canonical form: every spelling of one
// credential gives the same credentials (and so one cache entry and one session), and anything
// Go's outpost would not read as Bearer or Basic (`r.BasicAuth()`: strict padded base64) is no
// credential at all.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { canonicalAuthorization, parseAuthorization } from '../../../src/proxy/protocol/index.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('Bearer', () => {
  test('scheme case, spaces and tabs around the token: the same credentials, and the same canonical form', () => {
    for (const v of ['Bearer tok', 'bearer tok', 'BEARER tok', 'bEaReR tok', 'Bearer   tok', 'Bearer\ttok', 'Bearer \t tok', 'Bearer tok ', 'Bearer tok\t', ' Bearer tok']) {
      const c = parseAuthorization(v);
      assert.deepEqual(c, { kind: 'bearer', token: 'tok' }, JSON.stringify(v));
      assert.equal(canonicalAuthorization(c!), 'Bearer tok');
    }
  });

  test('a token is kept as sent otherwise (case, token68 characters, a JWT)', () => {
    assert.deepEqual(parseAuthorization('Bearer AbC.d-e_f~g+h/i=='), { kind: 'bearer', token: 'AbC.d-e_f~g+h/i==' });
    assert.notEqual(canonicalAuthorization(parseAuthorization('Bearer abc')!), canonicalAuthorization(parseAuthorization('Bearer ABC')!));
  });

  test('an empty token, or one with whitespace or non-ASCII inside, is no credential', () => {
    for (const v of ['Bearer', 'Bearer ', 'Bearer \t ', 'Bearer a b', 'Bearer a\tb', 'Bearer tök', 'Bearer a\u00a0b', 'Bearer tok\u00a0', 'Bearertok', '\u00a0Bearer tok']) {
      assert.equal(parseAuthorization(v), undefined, JSON.stringify(v));
    }
  });
});

describe('Basic', () => {
  test('decoded and split at the first colon; scheme case and whitespace do not matter', () => {
    const cred = b64('bob:pa:ss');
    for (const v of [`Basic ${cred}`, `basic ${cred}`, `BASIC ${cred}`, `Basic   ${cred}`, `Basic\t${cred}`, `Basic ${cred}  `]) {
      const c = parseAuthorization(v);
      assert.deepEqual(c, { kind: 'basic', username: 'bob', password: 'pa:ss' }, JSON.stringify(v));
      assert.equal(canonicalAuthorization(c!), `Basic ${cred}`);
    }
    assert.deepEqual(parseAuthorization(`Basic ${b64(':')}`), { kind: 'basic', username: '', password: '' });
    assert.deepEqual(parseAuthorization(`Basic ${b64('jörg:pässwort')}`), { kind: 'basic', username: 'jörg', password: 'pässwort' });
  });

  test('only the canonical base64 spelling: what Go refuses, and other spellings of the same bytes, are no credential', () => {
    assert.ok(parseAuthorization('Basic dXNlcjpwYXNz'));
    for (const v of [
      'Basic dXNlcjpwYXNz!!!', // Node would skip the invalid characters
      'Basic dXNl!cjpwYXNz',
      'Basic dXNlcjpwYXM', // "user:pas" without its padding
      'Basic dXNlcjpwYXN=', // non-zero bits after the last byte: "user:pas" again
      'Basic dXNlcjpwYXM==', // too much padding
      'Basic dXNlcjpw YXNz', // whitespace inside
      'Basic dXNlcjpwYXNz====',
      `Basic ${Buffer.from('u?:>p').toString('base64url')}`, // base64url alphabet
    ]) {
      assert.equal(parseAuthorization(v), undefined, v);
    }
    // The padded spelling of "user:pas" is the one accepted.
    assert.deepEqual(parseAuthorization('Basic dXNlcjpwYXM='), { kind: 'basic', username: 'user', password: 'pas' });
  });

  test('no colon, bytes that are not UTF-8, or nothing at all: no credential', () => {
    for (const v of [`Basic ${b64('nocolon')}`, `Basic ${Buffer.from([0x62, 0x3a, 0xff, 0xfe]).toString('base64')}`, 'Basic', 'Basic ', 'Basic =']) {
      assert.equal(parseAuthorization(v), undefined, v);
    }
  });

  test('a leading BOM is kept (another credential, not stripped into the same one)', () => {
    const c = parseAuthorization(`Basic ${b64('\ufeffbob:pw')}`);
    assert.deepEqual(c, { kind: 'basic', username: '\ufeffbob', password: 'pw' });
    assert.notEqual(canonicalAuthorization(c!), `Basic ${b64('bob:pw')}`);
  });
});

describe('other values', () => {
  test('other schemes, no scheme, nothing: undefined', () => {
    for (const v of [undefined, '', ' ', 'Digest x', 'Negotiate abc', 'tok', 'Bearer: tok', 'Basic: dXNlcjpwYXNz']) {
      assert.equal(parseAuthorization(v), undefined, JSON.stringify(v));
    }
  });

  test('the canonical form parses back to the same credentials', () => {
    for (const c of [
      { kind: 'bearer', token: 'x.y.z' },
      { kind: 'basic', username: 'a', password: 'b:c' },
      { kind: 'basic', username: 'ü', password: '' },
    ] as const) {
      assert.deepEqual(parseAuthorization(canonicalAuthorization(c)), c);
    }
  });
});
