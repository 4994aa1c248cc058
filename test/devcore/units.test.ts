// Primitives of the development core: TOTP (RFC 6238 vectors), Django-style query strings,
// password hashes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parseEncodedHash, verifyPassword } from '../../src/devcore/password.ts';
import { parseQs, quotePlus, unquotePlus, urlencodeQueryDict } from '../../src/devcore/querystring.ts';
import { base32Encode, totpCode, verifyTotp, type TotpState } from '../../src/devcore/totp.ts';

describe('TOTP', () => {
  const secret = base32Encode(Buffer.from('12345678901234567890'));

  it('matches the RFC 6238 SHA-1 test vectors', () => {
    for (const [t, code] of [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ] as const) {
      assert.equal(totpCode(secret, { time: t * 1000, digits: 8 }), code);
    }
  });

  it('verifies within ±1 step, refuses replays, syncs drift, parses the code as an integer', () => {
    const state: TotpState = { key: Buffer.from('12345678901234567890'), digits: 6, step: 30, lastT: -1, drift: 0 };
    const now = 1_700_000_000_000;
    const prev = totpCode(secret, { time: now - 30_000 });
    assert.equal(verifyTotp(state, prev, { time: now }), true);
    assert.equal(state.drift, -1, 'django-otp keeps the offset as drift');
    assert.equal(verifyTotp(state, prev, { time: now }), false, 'same step again');
    assert.equal(verifyTotp(state, ` ${totpCode(secret, { time: now })} `, { time: now }), true);
    assert.equal(state.drift, 0, 'and re-syncs');
    assert.equal(verifyTotp(state, totpCode(secret, { time: now + 90_000 }), { time: now }), false, 'outside the window');
    assert.equal(verifyTotp(state, 'abcdef', { time: now }), false);
  });
});

describe('Django query strings', () => {
  it('quote_plus like Python', () => {
    assert.equal(quotePlus("a b/c=d&e%f~g_h.i-j!k'l(m)n*o"), 'a+b%2Fc%3Dd%26e%25f~g_h.i-j%21k%27l%28m%29n%2Ao');
    assert.equal(quotePlus('é'), '%C3%A9');
  });

  it('parses like parse_qsl(keep_blank_values=True) and re-encodes like QueryDict.urlencode', () => {
    assert.deepEqual(parseQs('a=1&b=&c&a=2&d=x+y%2Fz'), [['a', '1'], ['b', ''], ['c', ''], ['a', '2'], ['d', 'x y/z']]);
    assert.equal(urlencodeQueryDict(parseQs('a=1&b=2&a=3')), 'a=1&a=3&b=2');
    assert.equal(unquotePlus('%zz%41'), '%zzA');
    const q = 'query=goauthentik.io%252Foutpost%252Fldap%3Dtrue';
    assert.equal(urlencodeQueryDict(parseQs(q)), q, 'the Go outpost query survives a round trip');
  });
});

describe('password hashes', () => {
  it('stores Django pbkdf2_sha256 hashes and verifies them', () => {
    const h = hashPassword('s3cret', 1000);
    assert.match(h.encoded, /^pbkdf2_sha256\$1000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]+=*$/);
    assert.equal(verifyPassword(h, 's3cret'), true);
    assert.equal(verifyPassword(h, 's3cret '), false);
    assert.equal(verifyPassword(null, ''), false);
    // PBKDF2-SHA256("password", "seasalt", 1000) as Django would store it (computed with Python's hashlib).
    const django = parseEncodedHash('pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=');
    assert.equal(verifyPassword(django, 'password'), true);
    assert.equal(verifyPassword(django, 'Password'), false);
  });
});
