// Entry contents (ldap.md §4.4–§4.7, checklist §10 items 1–10): DN layout, attribute sets and
// spellings, numbers, custom attributes, `%s`, escaping of odd names, root DSE and subschema.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ControlOid, DnError, dnEquals, ExtendedOid, parseDn } from '../../../src/ldap/protocol/index.ts';
import {
  canonicalDnValue,
  formatPlainNumber,
  goSprintfUsername,
  makeLayout,
  renderAttributeValues,
  renderCustomAttributes,
  sanitizeAttributeKey,
} from '../../../src/ldap/directory/entries.ts';
import { rootDse, subschemaEntry } from '../../../src/ldap/directory/index.ts';
import { AUTHENTIK_VERSION } from '../../../src/version.ts';
import { apiGroup, apiUser, attrs, B, BASE, data, dns, fullView, layout, numPkReference, treeSearch } from './helpers.ts';

const USER_KEYS = ['cn', 'sAMAccountName', 'uid', 'name', 'displayName', 'sn', 'mail', 'objectClass', 'memberOf', 'uidNumber', 'gidNumber', 'homeDirectory', 'ak-active', 'ak-superuser'];

function fixture() {
  const staff = apiGroup('staff', { attributes: { department: 'engineering' } });
  const admins = apiGroup('authentik Admins', { is_superuser: true });
  const alice = apiUser(7, 'alice', [staff], { name: 'Alice Example' });
  const akadmin = apiUser(1, 'akadmin', [admins], { is_superuser: true, name: 'authentik Default Admin' });
  const d = data([staff, admins], [akadmin, alice]);
  return { staff, admins, d, view: fullView(d) };
}

function one(view: ReturnType<typeof fullView>, dn: string) {
  const r = treeSearch(view, dn, 0, '(objectClass=*)');
  assert.equal(r.resultCode, 0, `${dn}: ${r.diagnosticMessage}`);
  assert.equal(r.entries.length, 1, dn);
  return r.entries[0]!;
}

describe('layout', () => {
  it('lower-cases the base for every DN below it and keeps the configured case on the base entry', () => {
    const l = layout();
    assert.equal(l.base, B);
    assert.equal(l.baseEntryDn, BASE);
    assert.equal(l.usersDn, `ou=users,${B}`);
    assert.equal(l.groupsDn, `ou=groups,${B}`);
    assert.equal(l.virtualGroupsDn, `ou=virtual-groups,${B}`);
  });
  it('formats a base DN with spaces canonically', () => {
    const l = makeLayout({ base_dn: 'DC=Example, DC=Com', uid_start_number: 2000, gid_start_number: 4000 });
    assert.equal(l.base, 'dc=example,dc=com');
    assert.equal(l.baseEntryDn, 'DC=Example,DC=Com');
  });
  it('rejects a base DN that does not parse', () => {
    assert.throws(() => makeLayout({ base_dn: 'not a dn', uid_start_number: 0, gid_start_number: 0 }), DnError);
  });
});

describe('user entries', () => {
  it('have authentik\'s attribute set, spellings and values (§10 items 1 and 5)', () => {
    const { view } = fixture();
    const e = one(view, `cn=alice,ou=users,${B}`);
    assert.equal(e.dn, `cn=alice,ou=users,${B}`);
    const a = attrs(e);
    assert.deepEqual(Object.keys(a).sort(), [...USER_KEYS].sort());
    assert.deepEqual(a['cn'], ['alice']);
    assert.deepEqual(a['sAMAccountName'], ['alice']);
    assert.deepEqual(a['uid'], ['uid-7']);
    assert.deepEqual(a['name'], ['Alice Example']);
    assert.deepEqual(a['displayName'], ['Alice Example']);
    assert.deepEqual(a['sn'], ['Alice Example']);
    assert.deepEqual(a['mail'], ['alice@example.com']);
    assert.deepEqual(a['objectClass'], ['user', 'organizationalPerson', 'inetOrgPerson', 'goauthentik.io/ldap/user', 'posixAccount']);
    assert.deepEqual(a['memberOf'], [`cn=staff,ou=groups,${B}`]);
    assert.deepEqual(a['uidNumber'], ['2007']);
    assert.deepEqual(a['gidNumber'], ['2007']);
    assert.deepEqual(a['homeDirectory'], ['/home/alice']);
    assert.deepEqual(a['ak-active'], ['true']);
    assert.deepEqual(a['ak-superuser'], ['false']);
  });

  it('mark entryDN and subschemaSubentry operational', () => {
    const { view } = fixture();
    const e = one(view, `cn=alice,ou=users,${B}`);
    const op = e.attributes.filter((x) => x.operational).map((x) => [x.type, x.values]);
    assert.deepEqual(op, [
      ['entryDN', [`cn=alice,ou=users,${B}`]],
      ['subschemaSubentry', ['cn=subschema']],
    ]);
  });

  it('agree between get() (filters) and attributes (wire)', () => {
    const { view } = fixture();
    const e = one(view, `cn=akadmin,ou=users,${B}`);
    for (const a of e.attributes) assert.deepEqual(e.get(a.type.toLowerCase()), a.values, a.type);
    assert.equal(e.get('nosuchattribute'), undefined);
    assert.deepEqual(attrs(e)['ak-superuser'], ['true']);
  });

  it('use uid_start_number + pk, or the uidNumber attribute when it is a string', () => {
    const d = data([], [apiUser(5, 'num', [], { attributes: { uidNumber: '12345' } })]);
    const v = fullView(d, { layout: layout({ uid_start_number: 10000 }) });
    const s = attrs(one(v, `cn=num,ou=users,${B}`));
    assert.deepEqual(s['uidNumber'], ['12345']);
    assert.deepEqual(s['gidNumber'], ['12345'], 'no gidNumber attribute: gidNumber follows uidNumber');
    assert.deepEqual(attrs(one(v, `cn=num,ou=virtual-groups,${B}`))['gidNumber'], ['12345']);
  });

  // authentik 2025.x+ (internal/outpost/ldap/utils.go getAttributeString, GetUserUidNumber,
  // GetUserGidNumber; group/group.go FromAPIUser): a JSON number counts as well as a string,
  // and the user's gidNumber attribute sets the gidNumber of the user and of its virtual group.
  const idCases: [string, Record<string, unknown>, string, string][] = [
    ['numbers', { uidNumber: 5000, gidNumber: 6000 }, '5000', '6000'],
    ['strings', { uidNumber: '7000', gidNumber: '7100' }, '7000', '7100'],
    ['none', {}, '10008', '10008'],
    ['uid-number-only', { uidNumber: 5100 }, '5100', '5100'],
    ['gid-string-only', { gidNumber: '6100' }, '10010', '6100'],
    // FormatFloat(v, 'f', -1, 64): no integer or range check in authentik.
    ['odd-numbers', { uidNumber: 5000.5, gidNumber: 1e21 }, '5000.5', '1000000000000000000000'],
    // Not a string or number: no override of the numbers (the custom attribute still replaces uidNumber).
    ['not-a-number', { uidNumber: true }, 'true', '10012'],
  ];
  it('take uidNumber and gidNumber attributes that are strings or JSON numbers, on the user and its virtual group', () => {
    const d = data([], idCases.map(([name, attributes], i) => apiUser(6 + i, name, [], { attributes })));
    for (const indexed of [false, true]) {
      const v = fullView(d, { layout: layout({ uid_start_number: 10000 }), indexed });
      for (const [name, , uid, gid] of idCases) {
        const u = one(v, `cn=${name},ou=users,${B}`);
        assert.deepEqual(attrs(u)['uidNumber'], [uid], `${name} uidNumber`);
        assert.deepEqual(attrs(u)['gidNumber'], [gid], `${name} gidNumber`);
        assert.deepEqual(u.get('uidnumber'), [uid], `${name} get(uidnumber)`);
        assert.deepEqual(u.get('gidnumber'), [gid], `${name} get(gidnumber)`);
        const g = one(v, `cn=${name},ou=virtual-groups,${B}`);
        assert.deepEqual(attrs(g)['gidNumber'], [gid], `${name} virtual group gidNumber`);
        assert.deepEqual(g.get('gidnumber'), [gid], `${name} virtual group get(gidnumber)`);
      }
      // Filters (and the index, when on) see the same numbers.
      const found = treeSearch(v, BASE, 2, '(gidNumber=6000)');
      assert.deepEqual(found.entries.map((e) => e.dn).sort(), [`cn=numbers,ou=users,${B}`, `cn=numbers,ou=virtual-groups,${B}`], `indexed=${indexed}`);
    }
  });

  it('render a missing email as one empty value and a missing is_active as false', () => {
    const d = data([], [apiUser(3, 'noemail', [], { email: null, is_active: null })]);
    const a = attrs(one(fullView(d), `cn=noemail,ou=users,${B}`));
    assert.deepEqual(a['mail'], ['']);
    assert.deepEqual(a['ak-active'], ['false']);
  });

  it('apply custom attributes over built-ins, with %s replaced (§10 item 9)', () => {
    const d = data([], [apiUser(7, 'alice', [], { attributes: { loginShell: '/bin/zsh', homeDirectory: '/srv/%s', mail: 'other@example.com' } })]);
    const a = attrs(one(fullView(d), `cn=alice,ou=users,${B}`));
    assert.deepEqual(a['loginShell'], ['/bin/zsh']);
    assert.deepEqual(a['homeDirectory'], ['/srv/alice']);
    assert.deepEqual(a['mail'], ['other@example.com']);
  });

  it('ignore custom values for the attributes that define the entry (objectClass, cn, memberOf)', () => {
    const staff = apiGroup('staff');
    const d = data([staff], [apiUser(7, 'alice', [staff], { attributes: { objectClass: ['person'], cn: 'mallory', memberOf: 'cn=admins,ou=groups,dc=x', sAMAccountName: 'ALICE' } })]);
    const a = attrs(one(fullView(d), `cn=alice,ou=users,${B}`));
    assert.deepEqual(a['objectClass'], ['user', 'organizationalPerson', 'inetOrgPerson', 'goauthentik.io/ldap/user', 'posixAccount']);
    assert.deepEqual(a['cn'], ['alice']);
    assert.deepEqual(a['memberOf'], [`cn=staff,ou=groups,${B}`]);
    assert.deepEqual(a['sAMAccountName'], ['ALICE'], 'other built-ins stay overridable');
  });

  it('treat a custom attribute under another name of a type as that type (commonName is cn, rfc822Mailbox is mail)', () => {
    const d = data([], [apiUser(7, 'alice', [], { attributes: { commonName: 'mallory', rfc822Mailbox: 'other@example.com' } })]);
    const e = one(fullView(d), `cn=alice,ou=users,${B}`);
    const a = attrs(e);
    assert.deepEqual(a['cn'], ['alice']);
    assert.equal(a['commonName'], undefined, 'cn defines the entry: another name of it cannot add a value');
    assert.deepEqual(a['rfc822Mailbox'], ['other@example.com']);
    assert.equal(a['mail'], undefined, 'the custom value replaces the built-in mail, not beside it');
    assert.deepEqual(e.get('mail'), ['other@example.com']);
  });

  it('sanitise keys and render values (§10 item 10)', () => {
    const d = data([], [apiUser(7, 'alice', [], {
      attributes: { 'goauthentik.io/user/sources': ['ldap', null, 'saml'], flag: true, off: false, three: 3, half: 1.5, big: 1e21, empty: null, obj: { b: 1, a: 'x' }, nested: [['a', 'b'], { k: 'v' }] },
    })]);
    const a = attrs(one(fullView(d), `cn=alice,ou=users,${B}`));
    assert.deepEqual(a['goauthentikio-user-sources'], ['ldap', 'saml']);
    assert.deepEqual(a['flag'], ['true']);
    assert.deepEqual(a['off'], ['false']);
    assert.deepEqual(a['three'], ['3']);
    assert.deepEqual(a['half'], ['1.5']);
    assert.deepEqual(a['big'], ['1000000000000000000000']);
    assert.deepEqual(a['empty'], [], 'null: present with no values');
    assert.deepEqual(a['obj'], ['map[a:x b:%!s(float64=1)]']);
    assert.deepEqual(a['nested'], ['[a b]', 'map[k:v]']);
  });

  it('escape odd usernames in DNs and keep them findable', () => {
    const odd = ['a,b', 'x+y', ' lead', 'trail ', '#hash', 'q"uote', 'back\\slash', 'semi;colon', '<angle>', 'eq=ual'];
    const d = data([], odd.map((n, i) => apiUser(100 + i, n)));
    const v = fullView(d);
    const r = treeSearch(v, `ou=users,${B}`, 1, '(objectClass=*)');
    assert.equal(r.entries.length, odd.length);
    for (const e of r.entries) {
      const parsed = parseDn(e.dn);
      const name = e.get('cn')![0]!;
      assert.equal(parsed[0]![0]!.value, name, `${e.dn} parses back to its name`);
      assert.equal(parsed.length, 1 + parseDn(`ou=users,${B}`).length);
      const back = treeSearch(v, e.dn, 0, '(objectClass=*)');
      assert.deepEqual(back.entries.map((x) => x.dn), [e.dn], `base search of ${e.dn}`);
    }
    assert.ok(r.entries.some((e) => e.dn === `cn=a\\,b,ou=users,${B}`));
  });
});

describe('group entries', () => {
  it('have authentik\'s attributes; gidNumber = gid_start_number + first five UUID digits (§10 items 6, 8)', () => {
    const { view, staff } = fixture();
    const e = one(view, `cn=staff,ou=groups,${B}`);
    const a = attrs(e);
    assert.deepEqual(Object.keys(a).sort(), ['cn', 'sAMAccountName', 'uid', 'gidNumber', 'member', 'objectClass', 'ak-superuser', 'department'].sort());
    assert.deepEqual(a['uid'], [staff.pk]);
    assert.deepEqual(a['gidNumber'], [String(4000 + numPkReference(staff.pk))]);
    assert.deepEqual(a['member'], [`cn=alice,ou=users,${B}`]);
    assert.deepEqual(a['objectClass'], ['group', 'groupOfUniqueNames', 'groupOfNames', 'goauthentik.io/ldap/group', 'posixGroup']);
    assert.deepEqual(a['ak-superuser'], ['false']);
    assert.deepEqual(a['department'], ['engineering']);
    assert.equal(a['memberOf'], undefined);
  });

  it('list users, then direct child groups, as member, and direct parents as memberOf (authentik 2025.8+)', () => {
    const root = apiGroup('root');
    const vpn = apiGroup('vpn', { parents: [root.pk] });
    const kid = apiGroup('vpn-contractors', { parent: vpn.pk, attributes: { memberOf: 'cn=admins,ou=groups,dc=x' } });
    const v = fullView(data([root, vpn, kid], [apiUser(2, 'bob', [vpn]), apiUser(3, 'ivan', [kid])]));
    assert.deepEqual(attrs(one(v, `cn=vpn,ou=groups,${B}`))['member'], [`cn=bob,ou=users,${B}`, `cn=vpn-contractors,ou=groups,${B}`]);
    assert.deepEqual(attrs(one(v, `cn=root,ou=groups,${B}`))['member'], [`cn=vpn,ou=groups,${B}`], 'a group with only a child group');
    assert.deepEqual(attrs(one(v, `cn=vpn,ou=groups,${B}`))['memberOf'], [`cn=root,ou=groups,${B}`]);
    // Direct parents only, and a custom memberOf attribute cannot override it.
    assert.deepEqual(attrs(one(v, `cn=vpn-contractors,ou=groups,${B}`))['memberOf'], [`cn=vpn,ou=groups,${B}`]);
    assert.equal(attrs(one(v, `cn=root,ou=groups,${B}`))['memberOf'], undefined);
    assert.deepEqual(dns(treeSearch(v, BASE, 2, `(member=cn=vpn-contractors,ou=groups,${B})`).entries), [`cn=vpn,ou=groups,${B}`]);
    assert.deepEqual(dns(treeSearch(v, BASE, 2, `(memberOf=cn=root,ou=groups,${B})`).entries), [`cn=vpn,ou=groups,${B}`]);
  });

  it('take the children from the core\'s `children` as well as from the parents', () => {
    const vpn = apiGroup('vpn');
    const kid = apiGroup('kid');
    const withChildren = { ...vpn, children: [kid.pk.toUpperCase()] } as typeof vpn;
    const v = fullView(data([withChildren, kid], []));
    assert.deepEqual(attrs(one(v, `cn=vpn,ou=groups,${B}`))['member'], [`cn=kid,ou=groups,${B}`]);
  });

  it('are groupOfNames and groupOfUniqueNames only with a member (RFC 4519), and filters see that per group', () => {
    const empty = apiGroup('empty');
    const full = apiGroup('full');
    const v = fullView(data([empty, full], [apiUser(2, 'bob', [full])]));
    assert.deepEqual(attrs(one(v, `cn=empty,ou=groups,${B}`))['objectClass'], ['group', 'goauthentik.io/ldap/group', 'posixGroup']);
    assert.deepEqual(attrs(one(v, `cn=full,ou=groups,${B}`))['objectClass'], ['group', 'groupOfUniqueNames', 'groupOfNames', 'goauthentik.io/ldap/group', 'posixGroup']);
    const groups = `ou=groups,${B}`;
    assert.deepEqual(dns(treeSearch(v, groups, 1, '(objectClass=groupOfNames)').entries), [`cn=full,ou=groups,${B}`]);
    assert.deepEqual(dns(treeSearch(v, groups, 1, '(!(objectClass=groupOfUniqueNames))').entries), [`cn=empty,ou=groups,${B}`]);
    assert.deepEqual(dns(treeSearch(v, groups, 1, '(objectClass=posixGroup)').entries), [`cn=empty,ou=groups,${B}`, `cn=full,ou=groups,${B}`]);
    // Virtual groups always have their user as member.
    assert.ok(attrs(one(v, `cn=bob,ou=virtual-groups,${B}`))['objectClass']!.includes('groupOfNames'));
  });

  it('use num_pk from the API when present, and a string or number gidNumber attribute over it', () => {
    const g1 = apiGroup('g1', { num_pk: 12345 });
    const g2 = apiGroup('g2', { attributes: { gidNumber: '777' } });
    const g3 = apiGroup('g3', { num_pk: 1, attributes: { gidNumber: 778 } });
    const v = fullView(data([g1, g2, g3], []), { layout: layout({ gid_start_number: 5000 }) });
    assert.deepEqual(attrs(one(v, `cn=g1,ou=groups,${B}`))['gidNumber'], ['17345']);
    assert.deepEqual(attrs(one(v, `cn=g2,ou=groups,${B}`))['gidNumber'], ['777']);
    assert.deepEqual(attrs(one(v, `cn=g3,ou=groups,${B}`))['gidNumber'], ['778']);
  });

  it('escape group names with DN specials', () => {
    const g = apiGroup('sales, EMEA');
    const v = fullView(data([g], [apiUser(2, 'bob', [g])]));
    const e = one(v, `cn=sales\\2C EMEA,ou=groups,${B}`);
    assert.equal(e.dn, `cn=sales\\, EMEA,ou=groups,${B}`);
    assert.deepEqual(attrs(one(v, `cn=bob,ou=users,${B}`))['memberOf'], [`cn=sales\\, EMEA,ou=groups,${B}`]);
  });
});

describe('virtual groups, containers, base entry', () => {
  it('virtual group: gidNumber = the user\'s (here its uidNumber), member = the user, virtual-group class (§10 item 7)', () => {
    const { view } = fixture();
    const a = attrs(one(view, `cn=alice,ou=virtual-groups,${B}`));
    assert.deepEqual(a, {
      cn: ['alice'],
      sAMAccountName: ['alice'],
      uid: ['uid-7'],
      gidNumber: ['2007'],
      member: [`cn=alice,ou=users,${B}`],
      objectClass: ['group', 'groupOfUniqueNames', 'groupOfNames', 'goauthentik.io/ldap/group', 'posixGroup', 'goauthentik.io/ldap/virtual-group'],
      'ak-superuser': ['false'],
    });
  });

  it('containers: ou (their RDN), distinguishedName, top/nsContainer, commonName', () => {
    const { view } = fixture();
    for (const ou of ['users', 'groups', 'virtual-groups']) {
      const e = one(view, `ou=${ou},${B}`);
      assert.deepEqual(attrs(e), { ou: [ou], distinguishedName: [`ou=${ou},${B}`], objectClass: ['top', 'nsContainer'], commonName: [ou] });
    }
  });

  it('base entry: configured DN, objectClass top, namingContexts lower-cased (§10 item 22)', () => {
    const { view } = fixture();
    const e = one(view, BASE);
    assert.equal(e.dn, BASE);
    const a = attrs(e);
    assert.deepEqual(a['objectClass'], ['top']);
    assert.deepEqual(a['DC'], ['ldap']);
    assert.deepEqual(a['namingContexts'], [B]);
    assert.deepEqual(a['supportedLDAPVersion'], ['3']);
    assert.deepEqual(a['vendorName'], ['goauthentik.io']);
  });
});

describe('root DSE and subschema', () => {
  it('root DSE lists every provider base and what the server supports', () => {
    const e = rootDse([{ base_dn: BASE }, { base_dn: 'ou=App,DC=Example,DC=com' }, { base_dn: 'dc=ldap,dc=goauthentik,dc=io' }]);
    assert.equal(e.dn, '');
    const a = attrs(e);
    assert.deepEqual(a['objectClass'], ['top']);
    assert.deepEqual(a['namingContexts'], [B, 'ou=app,dc=example,dc=com']);
    assert.deepEqual(a['rootDomainNamingContext'], [B]);
    assert.deepEqual(a['supportedLDAPVersion'], ['3']);
    assert.deepEqual(a['supportedControl'], [ControlOid.pagedResults]);
    assert.deepEqual(a['supportedExtension'], [ExtendedOid.startTls, ExtendedOid.whoAmI]);
    assert.deepEqual(a['vendorName'], ['goauthentik.io']);
    assert.deepEqual(a['vendorVersion'], [`authentik LDAP Outpost Version ${AUTHENTIK_VERSION}`]);
    assert.deepEqual(a['subschemaSubentry'], ['cn=subschema']);
    assert.deepEqual(attrs(e, { operational: true })['entryDN'], ['']);
    assert.equal(a['entryDN'], undefined, 'entryDN is operational');
  });

  it('subschema entry carries the schema definitions', () => {
    const e = subschemaEntry();
    assert.equal(e.dn, 'cn=subschema');
    const a = attrs(e);
    assert.deepEqual(a['objectClass'], ['top', 'subSchema']);
    assert.ok(a['attributeTypes']!.some((v) => v.includes("'ak-active'")));
    assert.ok(a['objectClasses']!.some((v) => v.includes('posixAccount')));
  });
});

describe('rendering helpers', () => {
  it('sanitises keys like authentik', () => {
    assert.equal(sanitizeAttributeKey('goauthentik.io/user/service-account'), 'goauthentikio-user-service-account');
    assert.equal(sanitizeAttributeKey('a.b.c/d'), 'abc-d');
  });
  it('formats numbers without exponents', () => {
    assert.equal(formatPlainNumber(42), '42');
    assert.equal(formatPlainNumber(-1.25), '-1.25');
    assert.equal(formatPlainNumber(1e-7), '0.0000001');
    assert.equal(formatPlainNumber(1.5e22), '15000000000000000000000');
  });
  it('renders list elements and nested values like Go', () => {
    assert.deepEqual(renderAttributeValues([1, 'a', true, null, [2, 'b'], { x: null, y: 1e6 }]), ['1', 'a', 'true', '[%!s(float64=2) b]', 'map[x:%!s(<nil>) y:%!s(float64=1e+06)]']);
  });
  it('applies Go printf semantics to %s values', () => {
    assert.equal(goSprintfUsername('/home/%s', 'alice'), '/home/alice');
    assert.equal(goSprintfUsername('100%% %s', 'alice'), '100% alice');
    assert.equal(goSprintfUsername('%s and %s', 'alice'), 'alice and %!s(MISSING)');
    assert.equal(goSprintfUsername('%d-%s', 'alice'), '%!d(string=alice)-%!s(MISSING)');
  });
  it('merges keys that sanitise to the same name', () => {
    const r = renderCustomAttributes({ 'a.b': 'x', ab: ['y'] }, 'group', undefined);
    assert.deepEqual(r.map((a) => [a.type, a.values]), [['ab', ['x', 'y']]]);
  });
  it('canonicalises DN-valued assertions', () => {
    assert.equal(canonicalDnValue('CN=Staff, OU=groups, DC=ldap,DC=goauthentik,DC=io'), 'cn=Staff,ou=groups,dc=ldap,dc=goauthentik,dc=io');
    assert.equal(canonicalDnValue('2.5.4.3=a\\2cb,ou=x'), 'cn=a\\,b,ou=x');
    assert.equal(canonicalDnValue('not a dn'), undefined);
    assert.ok(dnEquals(canonicalDnValue('cn=a\\,b,ou=x')!, 'CN=A\\2CB,OU=X'));
  });
});
