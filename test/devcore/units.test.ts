// Primitives of the development core: TOTP (RFC 6238 vectors), Django-style query strings,
// password hashes, RADIUS attribute encoding, permission keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parseEncodedHash, verifyPassword } from '../../src/devcore/password.ts';
import { globalKey, objectKey } from '../../src/devcore/permissions.ts';
import { encodeAttribute, radiusPacket } from '../../src/devcore/radius-attributes.ts';
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

describe('RADIUS attributes', () => {
  const hex = (a: Parameters<typeof encodeAttribute>[0]) => encodeAttribute(a).toString('hex');

  it('encodes strings, integers (or their names), addresses, raw types', () => {
    assert.equal(hex({ name: 'Reply-Message', value: 'hi' }), '12046869');
    assert.equal(hex({ name: 'Session-Timeout', value: 3600 }), '1b0600000e10');
    assert.equal(hex({ name: 'Session-Timeout', value: '60' }), '1b060000003c');
    assert.equal(hex({ name: 'Service-Type', value: 'Framed-User' }), '060600000002');
    assert.equal(hex({ name: 'Framed-IP-Address', value: '192.0.2.1' }), '0806c0000201');
    assert.equal(hex({ name: 'Tunnel-Private-Group-Id', value: 42 }), '51043432');
    assert.equal(hex({ type: 250, hex: 'DEADBEEF' }), 'fa06deadbeef');
  });

  it('RFC 2868 tags: always on tagged integers (0 by default), on strings only when given', () => {
    assert.equal(hex({ name: 'Tunnel-Type', value: 'VLAN' }), '40060000000d');
    assert.equal(hex({ name: 'Tunnel-Medium-Type', value: 'IEEE-802', tag: 1 }), '410601000006');
    assert.equal(hex({ name: 'Tunnel-Private-Group-Id', value: '42', tag: 0 }), '5105003432');
  });

  it('Vendor-Specific: vendor id, then one sub-attribute (string or 32-bit integer)', () => {
    assert.equal(hex({ vendor: 14122, vendor_type: 1, value: 'ab' }), '1a0a0000372a01046162');
    assert.equal(hex({ vendor: 9, vendor_type: 250, value: 1 }), '1a0c00000009fa0600000001');
  });

  it('refuses what RADIUS cannot carry', () => {
    assert.throws(() => encodeAttribute({ name: 'Reply-Message', value: '' }), /0 octets/);
    assert.throws(() => encodeAttribute({ name: 'Session-Timeout', value: -1 }), /not a whole number/);
    assert.throws(() => encodeAttribute({ name: 'Session-Timeout', value: 2 ** 32 }), /not a whole number from 0 to 4294967295/);
    assert.throws(() => encodeAttribute({ name: 'Framed-IP-Address', value: '::1' }), /not an IPv4 address/);
    assert.throws(() => encodeAttribute({ vendor: 1, vendor_type: 1, value: 'x'.repeat(248) }), /allows 1 to 247/);
  });

  it('a packet: code 1, identifier 0, length, the authenticator, the attributes', () => {
    const auth = Buffer.alloc(16, 0xab);
    const p = radiusPacket([encodeAttribute({ name: 'Reply-Message', value: 'hi' })], auth);
    assert.equal(p.toString('hex'), `01000018${'ab'.repeat(16)}12046869`);
    assert.equal(radiusPacket([]).length, 20);
  });
});

describe('permission keys', () => {
  const ldap = { type: 'ldap' as const, pk: 7, name: 'l' };

  it('object grants with or without the app label are the same grant; another app is refused', () => {
    assert.equal(objectKey('search_full_directory', ldap), 'authentik_providers_ldap.search_full_directory@7');
    assert.equal(objectKey('authentik_providers_ldap.search_full_directory', ldap), 'authentik_providers_ldap.search_full_directory@7');
    assert.throws(() => objectKey('authentik_core.search_full_directory', ldap), /not of authentik_providers_ldap/);
    assert.throws(() => objectKey('Search Full', ldap), /"codename" or "app_label\.codename"/);
  });

  it('global grants need the app label', () => {
    assert.equal(globalKey('authentik_providers_ldap.search_full_directory'), 'authentik_providers_ldap.search_full_directory');
    assert.throws(() => globalKey('search_full_directory'), /app_label\.codename/);
  });
});
