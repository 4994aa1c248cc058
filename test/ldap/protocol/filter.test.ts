import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FilterParser as LdaptsFilterParser, BerWriter as LdaptsWriter } from 'ldapts';
import { BerError, BerWriter } from '../../../src/ldap/protocol/ber.ts';
import {
  FilterError,
  FilterResult,
  compileFilter,
  decodeFilter,
  escapeFilterValue,
  evaluateFilter,
  formatFilter,
  parseFilter,
  toFilterEntry,
  writeFilter,
  type Filter,
  type FilterEntry,
} from '../../../src/ldap/protocol/filter.ts';

function encode(f: Filter): Buffer {
  const w = new BerWriter();
  writeFilter(w, f);
  return w.toBuffer();
}

describe('filter strings: parse / format', () => {
  const roundTrips = [
    '(cn=alice)',
    '(objectClass=*)',
    '(&(objectClass=user)(|(uid=a)(!(mail=*))))',
    '(cn=al*i*ce)',
    '(cn=*lice)',
    '(cn=ali*)',
    '(cn=*l*i*)',
    '(uidNumber>=2000)',
    '(gidNumber<=3000)',
    '(cn~=alise)',
    '(cn:caseExactMatch:=Alice)',
    '(cn:dn:2.5.13.5:=x)',
    '(:dn:caseIgnoreMatch:=users)',
    '(:1.2.3:=x)',
    '(cn:=x)',
    '(cn;lang-en=Alice)',
    '(2.5.4.3=alice)',
    '(cn=a\\2ab\\28c\\29d\\5ce\\00)',
    '(description=café 中 😀)',
    '(&)',
    '(|)',
    '(cn=)',
  ];
  for (const s of roundTrips) {
    it(`round-trips ${s}`, () => {
      const f = parseFilter(s);
      assert.equal(formatFilter(f), s);
      assert.deepEqual(decodeFilter(encode(f)), f);
    });
  }

  it('decodes escapes into values and re-escapes the specials', () => {
    assert.deepEqual(parseFilter('(cn=a\\2Ab\\28\\29\\5c\\00)'), { type: 'equalityMatch', attribute: 'cn', value: 'a*b()\\\0' });
    assert.deepEqual(parseFilter('(cn=\\c3\\a9t\\C3\\A9)'), { type: 'equalityMatch', attribute: 'cn', value: 'été' });
    assert.equal(escapeFilterValue('a*b()\\\0'), 'a\\2ab\\28\\29\\5c\\00');
    assert.equal(formatFilter({ type: 'equalityMatch', attribute: 'cn', value: '*' }), '(cn=\\2a)');
    // a literal '*' value stays an equality, it does not become a presence test
    assert.deepEqual(parseFilter(formatFilter({ type: 'equalityMatch', attribute: 'cn', value: '*' })), {
      type: 'equalityMatch',
      attribute: 'cn',
      value: '*',
    });
    // RFC 2254 style single-character escapes are tolerated
    assert.deepEqual(parseFilter('(cn=a\\*b)'), { type: 'equalityMatch', attribute: 'cn', value: 'a*b' });
  });

  it('substrings structure', () => {
    assert.deepEqual(parseFilter('(cn=a*b*c*d)'), { type: 'substrings', attribute: 'cn', initial: 'a', any: ['b', 'c'], final: 'd' });
    assert.deepEqual(parseFilter('(cn=*b*)'), { type: 'substrings', attribute: 'cn', initial: undefined, any: ['b'], final: undefined });
    assert.deepEqual(parseFilter('(cn=a\\2a*)'), { type: 'substrings', attribute: 'cn', initial: 'a*', any: [], final: undefined });
  });

  it('extensible structure', () => {
    assert.deepEqual(parseFilter('(cn:dn:caseExactMatch:=X)'), {
      type: 'extensibleMatch',
      matchingRule: 'caseExactMatch',
      attribute: 'cn',
      value: 'X',
      dnAttributes: true,
    });
    assert.deepEqual(parseFilter('(:2.5.13.2:=x)'), {
      type: 'extensibleMatch',
      matchingRule: '2.5.13.2',
      attribute: undefined,
      value: 'x',
      dnAttributes: false,
    });
    // an attribute literally named "dn" with a rule
    assert.deepEqual(parseFilter('(dn:caseIgnoreMatch:=x)'), {
      type: 'extensibleMatch',
      matchingRule: 'caseIgnoreMatch',
      attribute: 'dn',
      value: 'x',
      dnAttributes: false,
    });
  });

  it('accepts a bare item and surrounding whitespace', () => {
    assert.deepEqual(parseFilter('cn=alice'), parseFilter('(cn=alice)'));
    assert.deepEqual(parseFilter('  (cn=alice) '), parseFilter('(cn=alice)'));
  });

  it('agrees with an independent parser (ldapts) on the BER encoding', () => {
    for (const s of ['(cn=alice)', '(&(a=1)(|(b=2)(!(c=*))))', '(cn=a*b*c)', '(x>=5)', '(x<=5)', '(x~=y)', '(cn=a\\2ab)']) {
      const lw = new LdaptsWriter();
      LdaptsFilterParser.parseString(s).write(lw);
      assert.deepEqual(decodeFilter(lw.buffer), parseFilter(s), s);
      assert.equal(encode(parseFilter(s)).toString('hex'), lw.buffer.toString('hex'), s);
    }
  });

  const bad = [
    '',
    '(',
    ')',
    '(cn=a',
    '(cn=a))',
    '(&(cn=a)',
    '(cn=a(b)',
    '(cn>=a*)',
    '(cn~=*)',
    '(!(a=b)(c=d))',
    '(1a=b)',
    '(cn=a\\zz)',
    '(cn=a\\2)',
    '(cn=a**b)',
    '(=a)',
    '(cn)',
    '(cn:=)x',
    '(:=x)',
    '(:dn:=x)',
    '(cn:bad rule:=x)',
    '(cn=a)(cn=b)',
    '(c n=a)',
  ];
  for (const s of bad) {
    it(`rejects ${JSON.stringify(s)}`, () => assert.throws(() => parseFilter(s), FilterError));
  }

  it('bounds nesting depth', () => {
    const deep = (n: number): string => `${'(!'.repeat(n)}(a=b)${')'.repeat(n)}`;
    assert.doesNotThrow(() => parseFilter(deep(32)));
    assert.throws(() => parseFilter(deep(33)), FilterError);
    assert.throws(() => parseFilter(deep(10000)), FilterError);
    assert.throws(() => decodeFilter(encode(parseFilter(deep(32))), 10), BerError);
  });
});

describe('filter BER: invalid structures are BerErrors', () => {
  const cases: [string, string][] = [
    ['a4 0b 04 02 636e 30 05 81 01 61 80 00', 'initial after any'],
    ['a4 0d 04 02 636e 30 07 82 01 61 82 02 6263', 'two finals'],
    ['a4 0b 04 02 636e 30 05 82 01 61 81 00', 'any after final'],
    ['a4 06 04 02 636e 30 00', 'no substrings'],
    ['a4 09 04 02 636e 30 03 83 01 61', 'unknown substring choice'],
    ['a9 03 83 01 61', 'extensible without rule or type'],
    ['aa 00', 'unknown choice'],
    ['a2 00', 'empty not'],
    ['a2 04 87 01 61 87 00', 'not with two filters'],
    ['a3 03 04 01 61', 'equality without value'],
  ];
  for (const [h, what] of cases) {
    it(what, () => assert.throws(() => decodeFilter(Buffer.from(h.replace(/ /g, ''), 'hex')), BerError));
  }
});

describe('filter evaluation', () => {
  const alice = toFilterEntry(
    {
      cn: ['Alice'],
      sn: ['Smith'],
      uid: ['abc123'],
      sAMAccountName: ['alice'],
      mail: ['alice@example.com'],
      objectClass: ['user', 'organizationalPerson', 'inetOrgPerson', 'goauthentik.io/ldap/user', 'posixAccount'],
      uidNumber: ['2007'],
      gidNumber: ['2007'],
      memberOf: ['cn=staff,ou=groups,dc=ldap', 'cn=admins,ou=groups,dc=ldap'],
      displayName: ['Alice  Liddell'],
      'ak-active': ['true'],
      description: [],
      homeDirectory: ['/home/alice'],
    },
    'cn=alice,ou=users,dc=ldap',
  );
  const { TRUE: T, FALSE: F, UNDEFINED: U } = FilterResult;
  const table: [string, FilterResult][] = [
    // equality, case rules, options
    ['(cn=alice)', T],
    ['(cn=ALICE)', T],
    ['(CN=alice)', T],
    ['(cn;lang-en=alice)', T],
    ['(cn= alice )', T],
    ['(cn=bob)', F],
    ['(nonexistent=x)', F],
    ['(samaccountname=ALICE)', T],
    ['(objectClass=goauthentik.io/ldap/user)', T],
    ['(objectclass=POSIXACCOUNT)', T],
    ['(objectClass=person)', F],
    ['(memberOf=CN=Staff,OU=Groups,DC=ldap)', T],
    ['(displayName=alice liddell)', T],
    // presence
    ['(cn=*)', T],
    ['(nonexistent=*)', F],
    ['(description=*)', T],
    // substrings: every component, in order, without overlap
    ['(cn=al*)', T],
    ['(cn=AL*)', T],
    ['(cn=*ice)', T],
    ['(cn=*lic*)', T],
    ['(cn=a*i*e)', T],
    ['(cn=al*i*ce)', T],
    ['(cn=al*x*ce)', F],
    ['(cn=a*c*i*e)', F],
    ['(cn=ali*lice)', F],
    ['(cn=alice*alice)', F],
    ['(cn=*l*i*c*e*)', T],
    ['(cn=*e*l*)', F],
    ['(cn=al*bob)', F],
    // anchored: an initial component matches at the start only, a final one at the end only
    ['(cn=li*)', F],
    ['(cn=*lic)', F],
    ['(cn=lic*)', F],
    ['(cn=*lic*e)', T],
    ['(displayName=Alice*Liddell)', T],
    ['(displayName=*e l*)', T],
    ['(mail=*@example.com)', T],
    ['(uidNumber=20*)', T],
    // ordering: numeric for integer attributes, case-insensitive strings otherwise
    ['(uidNumber>=2000)', T],
    ['(uidNumber>=2007)', T],
    ['(uidNumber>=2008)', F],
    ['(uidNumber<=2007)', T],
    ['(uidNumber<=999)', F],
    ['(uidNumber>=10000)', F],
    ['(uidNumber<=10000)', T],
    ['(uidNumber=02007)', T],
    ['(uidNumber=2007.0)', U],
    ['(uidNumber>=abc)', U],
    ['(cn>=b)', F],
    ['(cn<=B)', T],
    ['(cn>=ALICE)', T],
    ['(cn<=alice)', T],
    // approx
    ['(cn~=ALICE)', T],
    ['(cn~=alicia)', F],
    ['(uidNumber~=2007)', T],
    // extensible
    ['(cn:caseExactMatch:=Alice)', T],
    ['(cn:caseExactMatch:=alice)', F],
    ['(cn:2.5.13.5:=Alice)', T],
    ['(cn:2.5.13.2:=ALICE)', T],
    ['(cn:caseIgnoreIA5Match:=ALICE)', T],
    ['(cn:octetStringMatch:=Alice)', T],
    ['(uidNumber:integerMatch:=2007)', T],
    ['(cn:unknownRule:=x)', U],
    ['(cn:1.2.3.4:=x)', U],
    ['(cn:=alice)', T],
    ['(:caseIgnoreMatch:=smith)', T],
    ['(:caseExactMatch:=smith)', F],
    ['(ou:=users)', F],
    ['(ou:dn:=users)', T],
    ['(:dn:caseIgnoreMatch:=USERS)', T],
    ['(ou:dn:caseExactMatch:=USERS)', F],
    // three-valued logic
    ['(!(cn=bob))', T],
    ['(!(cn=alice))', F],
    ['(!(uidNumber>=abc))', U],
    ['(|(uidNumber>=abc)(cn=alice))', T],
    ['(|(uidNumber>=abc)(cn=bob))', U],
    ['(&(uidNumber>=abc)(cn=alice))', U],
    ['(&(uidNumber>=abc)(cn=bob))', F],
    ['(!(&(uidNumber>=abc)(cn=bob)))', T],
    ['(&)', T],
    ['(|)', F],
    ['(&(objectClass=user)(|(cn=a*)(uid=zzz))(!(ak-active=false)))', T],
    // every name and the OID of a declared attribute type name that type (RFC 4512 §2.5)
    ['(commonName=alice)', T],
    ['(COMMONNAME=bob)', F],
    ['(2.5.4.3=alice)', T],
    ['(commonName=al*)', T],
    ['(commonName=*lic)', F],
    ['(commonName=*)', T],
    ['(rfc822Mailbox=alice@example.com)', T],
    ['(0.9.2342.19200300.100.1.3=*@example.com)', T],
    ['(userid=abc123)', T],
    ['(surname=smith)', T],
    ['(1.3.6.1.1.1.1.0>=2000)', T],
    ['(commonName:caseExactMatch:=Alice)', T],
    ['(commonName:dn:=alice)', T],
  ];
  for (const [s, expected] of table) {
    it(`${s} -> ${['FALSE', 'TRUE', 'UNDEFINED'][expected]}`, () => {
      const c = compileFilter(parseFilter(s));
      assert.equal(c.evaluate(alice), expected);
      assert.equal(c.matches(alice), expected === T);
      // BER round trip evaluates identically
      assert.equal(compileFilter(decodeFilter(encode(parseFilter(s)))).evaluate(alice), expected);
    });
  }

  it('caseExact attributes by configuration', () => {
    const rules = { caseExact: new Set(['uid']), integer: new Set(['uidnumber']) };
    assert.equal(evaluateFilter(parseFilter('(uid=ABC123)'), alice, rules), F);
    assert.equal(evaluateFilter(parseFilter('(uid=abc123)'), alice, rules), T);
    assert.equal(evaluateFilter(parseFilter('(uid=ABC*)'), alice, rules), F);
    assert.equal(evaluateFilter(parseFilter('(uid=ABC123)'), alice), T);
    // gidNumber not configured as integer here: string ordering ('2007' >= '10000')
    assert.equal(evaluateFilter(parseFilter('(gidNumber>=10000)'), alice, rules), T);
  });

  it('entries as a Map, as a plain record (any key case) or a custom FilterEntry', () => {
    const f = parseFilter('(&(sAMAccountName=alice)(uidNumber>=2000))');
    const map = new Map<string, readonly string[]>([
      ['samaccountname', ['alice']],
      ['uidnumber', ['2001']],
    ]);
    assert.equal(evaluateFilter(f, map), T);
    assert.equal(evaluateFilter(f, { SAMACCOUNTNAME: ['Alice'], uidNumber: ['2001'] }), T);
    const calls: string[] = [];
    const custom: FilterEntry = {
      get: (a) => {
        calls.push(a);
        return a === 'samaccountname' ? ['alice'] : a === 'uidnumber' ? ['1999'] : undefined;
      },
    };
    assert.equal(evaluateFilter(f, custom), F);
    assert.deepEqual(calls, ['samaccountname', 'uidnumber']);
    // extensible match without a type needs keys(): UNDEFINED when absent
    assert.equal(evaluateFilter(parseFilter('(:caseIgnoreMatch:=alice)'), custom), U);
  });

  it('toFilterEntry merges attribute options and case variants', () => {
    const e = toFilterEntry({ cn: ['a'], 'CN;lang-de': ['b'] });
    assert.deepEqual(e.get('cn'), ['a', 'b']);
  });

  it("authentik's non-descr name of ak-active (sent in BER; RFC 4515 strings cannot spell it) names ak-active", () => {
    assert.equal(compileFilter({ type: 'equalityMatch', attribute: 'goauthentik.io/ldap/active', value: 'TRUE' }).evaluate(alice), T);
  });

  it('toFilterEntry keys other names of a type under its primary name', () => {
    const e = toFilterEntry({ commonName: ['users'], rfc822Mailbox: ['x@example.com'] });
    assert.deepEqual(e.get('cn'), ['users']);
    assert.deepEqual(e.get('mail'), ['x@example.com']);
    assert.equal(evaluateFilter(parseFilter('(cn=users)'), e), T);
  });

  it('is fast: one compiled filter over 20,000 entries', () => {
    const entries = Array.from({ length: 20_000 }, (_, i) =>
      toFilterEntry({
        cn: [`user${i}`],
        objectClass: ['user', 'posixAccount'],
        uidNumber: [String(2000 + i)],
        memberOf: [`cn=group${i % 10},ou=groups,dc=ldap`],
      }),
    );
    const c = compileFilter(parseFilter('(&(objectClass=user)(|(cn=user1*9)(memberOf=cn=group3,ou=groups,dc=ldap))(uidNumber>=5000)(!(cn=*x*)))'));
    const t0 = performance.now();
    let n = 0;
    for (const e of entries) if (c.matches(e)) n++;
    const ms = performance.now() - t0;
    assert.ok(n > 0);
    assert.ok(ms < 1000, `took ${ms} ms`);
  });
});
