import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DnError,
  childDn,
  dnEquals,
  escapeDnValue,
  firstValueOfType,
  formatDn,
  isDescendantOf,
  isWithin,
  normalizeDn,
  parentDn,
  parseDn,
  rdnValue,
} from '../../../src/ldap/protocol/dn.ts';
import { prng } from './helpers.ts';

function avas(dn: string): [string, string][][] {
  return parseDn(dn).map((rdn) => rdn.map((a) => [a.type, a.value]));
}

describe('DN parsing: RFC 4514 examples', () => {
  it('simple', () => {
    assert.deepEqual(avas('UID=jsmith,DC=example,DC=net'), [[['UID', 'jsmith']], [['DC', 'example']], [['DC', 'net']]]);
  });
  it('multi-valued RDN', () => {
    assert.deepEqual(avas('OU=Sales+CN=J.  Smith,DC=example,DC=net'), [
      [
        ['OU', 'Sales'],
        ['CN', 'J.  Smith'],
      ],
      [['DC', 'example']],
      [['DC', 'net']],
    ]);
  });
  it('escaped quotes and comma', () => {
    assert.deepEqual(avas('CN=James \\"Jim\\" Smith\\, III,DC=example,DC=net')[0], [['CN', 'James "Jim" Smith, III']]);
  });
  it('hex-escaped carriage return', () => {
    assert.deepEqual(avas('CN=Before\\0dAfter,DC=example,DC=net')[0], [['CN', 'Before\rAfter']]);
  });
  it('#hex BER value with a numeric OID type', () => {
    const dn = parseDn('1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com');
    assert.equal(dn[0]![0]!.type, '1.3.6.1.4.1.1466.0');
    assert.equal(dn[0]![0]!.value, 'Hi');
    assert.deepEqual(dn[0]![0]!.raw, Buffer.from('04024869', 'hex'));
    assert.equal(formatDn(dn), '1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com');
  });
  it('UTF-8 via hex escapes', () => {
    assert.deepEqual(avas('CN=Lu\\C4\\8Di\\C4\\87')[0], [['CN', 'Lučić']]);
    assert.deepEqual(avas('cn=Lučić')[0], [['cn', 'Lučić']]);
  });
  it('all single-character escapes', () => {
    assert.deepEqual(avas('cn=\\,\\+\\"\\\\\\<\\>\\;\\=\\#\\ ')[0], [['cn', ',+"\\<>;=# ']]);
  });
  it('the root DN and an empty value', () => {
    assert.deepEqual(parseDn(''), []);
    assert.deepEqual(avas('cn=,dc=x'), [[['cn', '']], [['dc', 'x']]]);
  });
  it('unescaped = and # inside a value are fine', () => {
    assert.deepEqual(avas('cn=a=b#c'), [[['cn', 'a=b#c']]]);
  });
});

describe('DN parsing: spaces', () => {
  it('spaces around separators and = are insignificant (leniency)', () => {
    assert.deepEqual(avas(' cn = alice , ou=users,  dc=ldap '), [[['cn', 'alice']], [['ou', 'users']], [['dc', 'ldap']]]);
  });
  it('escaped leading/trailing spaces are kept', () => {
    assert.deepEqual(avas('cn=\\ lead,dc=x')[0], [['cn', ' lead']]);
    assert.deepEqual(avas('cn=trail\\ ,dc=x')[0], [['cn', 'trail ']]);
    assert.deepEqual(avas('cn=trail\\20 ,dc=x')[0], [['cn', 'trail ']]);
    assert.deepEqual(avas('cn=in  side')[0], [['cn', 'in  side']]);
  });
});

describe('DN parsing: malformed input gives DnError', () => {
  const bad = [
    'cn',
    'cn=a,',
    ',cn=a',
    'cn=a+',
    'cn=a;ou=b',
    'cn=a\\',
    'cn=a\\zz',
    'cn=a\\2',
    '=a',
    'c n=a',
    '1cn=a',
    '1.=a',
    'cn=#zz',
    'cn=#0',
    'cn=#0401',
    'cn=#0402616263',
    'cn="quoted"',
    'cn=a<b',
    'cn=a>b',
    'cn=a\0b',
    'cn=\\C3',
    'cn=a,,dc=b',
    'cn=a=b,=c',
  ];
  for (const s of bad) {
    it(JSON.stringify(s), () => assert.throws(() => parseDn(s), DnError));
  }
  it('length and component bounds', () => {
    assert.throws(() => parseDn(`cn=${'a'.repeat(20000)}`), /longer than/);
    assert.throws(() => parseDn(Array.from({ length: 200 }, (_, i) => `dc=d${i}`).join(',')), /RDNs/);
    assert.throws(() => parseDn(Array.from({ length: 40 }, (_, i) => `cn=c${i}`).join('+')), /values in one RDN/);
    assert.doesNotThrow(() => parseDn(Array.from({ length: 20 }, (_, i) => `dc=d${i}`).join(','), { maxRdns: 20 }));
  });
});

describe('DN escaping and formatting', () => {
  const cases: [string, string][] = [
    ['a,b', 'a\\,b'],
    ['#x', '\\#x'],
    ['x#', 'x#'],
    [' lead', '\\ lead'],
    ['trail ', 'trail\\ '],
    [' ', '\\ '],
    ['a+b=c', 'a\\+b=c'],
    ['"q";<>\\', '\\"q\\"\\;\\<\\>\\\\'],
    ['nul\0', 'nul\\00'],
    ['plain name', 'plain name'],
    ['', ''],
  ];
  for (const [v, e] of cases) {
    it(`escapes ${JSON.stringify(v)}`, () => {
      assert.equal(escapeDnValue(v), e);
      assert.equal(parseDn(`cn=${escapeDnValue(v)},ou=groups,dc=ldap`)[0]![0]!.value, v);
    });
  }

  it('childDn builds valid DNs from arbitrary group names', () => {
    const dn = childDn('cn', ' a,b+c#', 'ou=groups,dc=ldap');
    assert.equal(dn, 'cn=\\ a\\,b\\+c#,ou=groups,dc=ldap');
    assert.equal(rdnValue(dn, 0), ' a,b+c#');
    assert.equal(childDn('dc', 'x', ''), 'dc=x');
  });

  it('random values survive escape -> parse (property test)', () => {
    const rnd = prng(42);
    const alphabet = ['a', 'Z', '0', ' ', ',', '+', '"', '\\', '<', '>', ';', '=', '#', '\0', 'é', '中', '😀', '\n', '*', '('];
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 12);
      let v = '';
      for (let k = 0; k < len; k++) v += alphabet[Math.floor(rnd() * alphabet.length)]!;
      const dn = `cn=${escapeDnValue(v)}+uid=${escapeDnValue(v)},dc=x`;
      const parsed = parseDn(dn);
      assert.equal(parsed[0]![0]!.value, v, dn);
      assert.equal(parsed[0]![1]!.value, v, dn);
      assert.equal(formatDn(parsed), dn);
    }
  });
});

describe('DN normalisation and comparison', () => {
  it('case-insensitive types and values', () => {
    assert.ok(dnEquals('CN=Alice,OU=Users,DC=ldap', 'cn=alice,ou=users,dc=ldap'));
    assert.equal(normalizeDn('CN=Alice,OU=Users,DC=ldap'), 'cn=alice,ou=users,dc=ldap');
  });
  it('insignificant spaces', () => {
    assert.ok(dnEquals('cn=Alice  Smith,dc=x', 'cn=alice smith,dc=x'));
    assert.ok(dnEquals('cn=alice, dc=x', 'cn=alice,dc=x'));
    assert.ok(dnEquals('cn=\\ alice,dc=x', 'cn=alice,dc=x'));
  });
  it('OID and long-name types map to short names', () => {
    assert.ok(dnEquals('2.5.4.3=alice,0.9.2342.19200300.100.1.25=x', 'cn=alice,dc=x'));
    assert.ok(dnEquals('commonName=alice,domainComponent=x', 'CN=alice,DC=x'));
  });
  it('escape forms are equivalent', () => {
    assert.ok(dnEquals('cn=a\\,b,dc=x', 'cn=a\\2cb,dc=x'));
    assert.ok(dnEquals('cn=#04024869,dc=x', 'cn=hi,dc=x'));
  });
  it('multi-valued RDN order does not matter', () => {
    assert.ok(dnEquals('cn=a+uid=b,dc=x', 'UID=B+CN=A,dc=x'));
  });
  it('different DNs differ', () => {
    assert.ok(!dnEquals('cn=alice,dc=x', 'cn=alice,dc=y'));
    assert.ok(!dnEquals('cn=alice,dc=x', 'cn=alice,ou=x'));
    assert.ok(!dnEquals('cn=alice,dc=x', 'dc=x'));
    assert.ok(!dnEquals('cn=a\\,b,dc=x', 'cn=a,b=x,dc=x'));
  });
});

describe('DN hierarchy helpers', () => {
  const base = 'DC=ldap,DC=goauthentik,DC=io';
  it('isDescendantOf / isWithin', () => {
    assert.ok(isDescendantOf('cn=alice,ou=users,dc=ldap,dc=goauthentik,dc=io', base));
    assert.ok(isDescendantOf('ou=users,dc=ldap,dc=goauthentik,dc=io', base));
    assert.ok(!isDescendantOf(base, base));
    assert.ok(isWithin(base, 'dc=LDAP,dc=goauthentik,dc=io'));
    assert.ok(!isDescendantOf('cn=alice,dc=ldapx,dc=goauthentik,dc=io', base));
    // a plain string-suffix check would accept this one
    assert.ok(!isDescendantOf('cn=x,dc=notldap,dc=goauthentik,dc=io', 'dc=ldap,dc=goauthentik,dc=io'));
    assert.ok(!isDescendantOf('dc=io', base));
    assert.ok(isDescendantOf('dc=io', ''));
    assert.ok(!isDescendantOf('', ''));
    assert.ok(isWithin('', ''));
  });
  it('parentDn', () => {
    assert.equal(parentDn('cn=a\\,b,ou=groups,dc=x'), 'ou=groups,dc=x');
    assert.equal(parentDn('dc=x'), '');
    assert.equal(parentDn(''), undefined);
    assert.deepEqual(parentDn(parseDn('cn=a,dc=x')), parseDn('dc=x'));
  });
  it('rdnValue and firstValueOfType', () => {
    assert.equal(rdnValue('cn=alice,ou=users,dc=x', 0), 'alice');
    assert.equal(rdnValue('cn=alice,ou=users,dc=x', 1), 'users');
    assert.equal(rdnValue('cn=alice,ou=users,dc=x', 5), undefined);
    assert.equal(firstValueOfType('uid=x,CN=Alice,ou=users,dc=x', 'cn'), 'Alice');
    assert.equal(firstValueOfType('uid=x,ou=users,dc=x', 'cn'), undefined);
    assert.equal(firstValueOfType('2.5.4.3=bob,dc=x', 'CN'), 'bob');
  });
});
