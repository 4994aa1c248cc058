// Search over the virtual tree without a core: scopes, full filter evaluation, visibility,
// nested memberOf, limits, noSuchObject, the kind analysis and the index planner, routing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, ResultCode } from '../../../src/ldap/protocol/index.ts';
import { kindMayMatch, planCandidates, prepareFilter } from '../../../src/ldap/directory/analysis.ts';
import { routeSearch } from '../../../src/ldap/directory/index.ts';
import { apiGroup, apiUser, B, BASE, data, dns, fullView, selfView, treeSearch } from './helpers.ts';

const U = (n: string) => `cn=${n},ou=users,${B}`;
const G = (n: string) => `cn=${n},ou=groups,${B}`;
const V = (n: string) => `cn=${n},ou=virtual-groups,${B}`;
const C = { users: `ou=users,${B}`, groups: `ou=groups,${B}`, vgroups: `ou=virtual-groups,${B}` };

function fixture(opts: { nested?: boolean } = {}) {
  const admins = apiGroup('admins', { is_superuser: true });
  const staff = apiGroup('staff');
  const vpn = apiGroup('vpn');
  const contractors = apiGroup('vpn-contractors', { parent: vpn.pk });
  const users = [
    apiUser(1, 'akadmin', [admins]),
    apiUser(7, 'alice', [staff], { attributes: { loginShell: '/bin/zsh' } }),
    apiUser(8, 'bob', [staff, vpn]),
    apiUser(9, 'carol', [contractors], { is_active: false }),
  ];
  const d = data([admins, staff, vpn, contractors], users);
  return { d, view: fullView(d, opts) };
}

const ALL_USERS = [U('akadmin'), U('alice'), U('bob'), U('carol')];
const ALL_GROUPS = [G('admins'), G('staff'), G('vpn'), G('vpn-contractors')];
const ALL_VGROUPS = [V('akadmin'), V('alice'), V('bob'), V('carol')];

describe('scope semantics', () => {
  const { view } = fixture();
  const cases: [string, string, number, string[]][] = [
    ['base, base scope', BASE, 0, [BASE]],
    ['base, one level', BASE, 1, [C.users, C.groups, C.vgroups]],
    ['base, subtree', BASE, 2, [BASE, C.users, ...ALL_USERS, C.groups, ...ALL_GROUPS, C.vgroups, ...ALL_VGROUPS]],
    ['base, children', BASE, 3, [C.users, ...ALL_USERS, C.groups, ...ALL_GROUPS, C.vgroups, ...ALL_VGROUPS]],
    ['users container, base', C.users, 0, [C.users]],
    ['users container, one', C.users, 1, ALL_USERS],
    ['users container, subtree', C.users, 2, [C.users, ...ALL_USERS]],
    ['users container, children', C.users, 3, ALL_USERS],
    ['groups container, one', C.groups, 1, ALL_GROUPS],
    ['virtual groups container, subtree', C.vgroups, 2, [C.vgroups, ...ALL_VGROUPS]],
    ['a user, base', U('alice'), 0, [U('alice')]],
    ['a user, subtree', U('alice'), 2, [U('alice')]],
    ['a user, one level', U('alice'), 1, []],
    ['a user, children', U('alice'), 3, []],
    ['a group, base', G('staff'), 0, [G('staff')]],
    ['a virtual group, base', V('bob'), 0, [V('bob')]],
    ['base DN in another spelling', 'dc=LDAP, dc=goauthentik, dc=IO', 0, [BASE]],
    ['user DN in upper case', 'CN=ALICE,OU=Users,DC=ldap,DC=goauthentik,DC=io', 0, [U('alice')]],
  ];
  for (const [name, base, scope, want] of cases) {
    it(name, () => {
      const r = treeSearch(view, base, scope, '(objectClass=*)');
      assert.equal(r.resultCode, ResultCode.success, r.diagnosticMessage);
      assert.deepEqual(dns(r.entries), want);
    });
  }
});

describe('noSuchObject with matchedDN', () => {
  const { view } = fixture();
  const cases: [string, string][] = [
    [`ou=other,${B}`, BASE],
    [U('nobody'), C.users],
    [G('nogroup'), C.groups],
    [`uid=x,${U('alice')}`, U('alice')],
    [`cn=x,ou=nope,${B}`, BASE],
    ['dc=elsewhere,dc=com', ''],
  ];
  for (const [base, matched] of cases) {
    it(base, () => {
      for (const scope of [0, 1, 2, 3]) {
        const r = treeSearch(view, base, scope, '(objectClass=*)');
        assert.equal(r.resultCode, ResultCode.noSuchObject);
        assert.equal(r.matchedDN, matched);
        assert.deepEqual(r.entries, []);
      }
    });
  }
  it('an existing base whose entries do not match the filter is success with no entries', () => {
    const r = treeSearch(view, U('alice'), 0, '(objectClass=posixGroup)');
    assert.equal(r.resultCode, ResultCode.success);
    assert.deepEqual(r.entries, []);
  });
});

describe('full filter evaluation', () => {
  const { view } = fixture();
  const cases: [string, string[]][] = [
    ['(objectClass=user)', ALL_USERS],
    ['(objectClass=group)', [...ALL_GROUPS, ...ALL_VGROUPS]],
    ['(objectClass=posixGroup)', [...ALL_GROUPS, ...ALL_VGROUPS]],
    ['(objectClass=goauthentik.io/ldap/virtual-group)', ALL_VGROUPS],
    ['(objectClass=person)', []],
    ['(objectClass=top)', [BASE, C.users, C.groups, C.vgroups]],
    ['(|(objectClass=user)(objectClass=group))', [...ALL_USERS, ...ALL_GROUPS, ...ALL_VGROUPS]],
    ['(&(objectClass=user)(!(cn=alice)))', [U('akadmin'), U('bob'), U('carol')]],
    ['(!(objectClass=user))', [BASE, C.users, C.groups, ...ALL_GROUPS, C.vgroups, ...ALL_VGROUPS]],
    ['(cn=ALICE)', [U('alice'), V('alice')]],
    ['(cn=al*)', [U('alice'), V('alice')]],
    ['(cn=a*i*e)', [U('alice'), V('alice')]],
    ['(cn=*o*b)', [U('bob'), V('bob')]],
    ['(&(objectClass=user)(cn=a*k*n))', [U('akadmin')]],
    ['(uidNumber>=2008)', [U('bob'), U('carol')]],
    ['(uidNumber<=2007)', [U('akadmin'), U('alice')]],
    ['(&(objectClass=posixGroup)(gidNumber>=2008)(gidNumber<=2008))', [V('bob')]],
    ['(uidNumber=2007)', [U('alice')]],
    ['(uidNumber=02007)', [U('alice')]],
    ['(loginShell=*)', [U('alice')]],
    ['(ak-active=false)', [U('carol')]],
    ['(ak-superuser=TRUE)', [G('admins')]],
    [`(memberOf=${G('staff')})`, [U('alice'), U('bob')]],
    ['(memberOf=CN=Staff, OU=Groups, DC=ldap, DC=goauthentik, DC=io)', [U('alice'), U('bob')]],
    [`(member=${U('bob')})`, [G('staff'), G('vpn'), V('bob')]],
    [`(&(objectClass=groupOfNames)(member=${U('bob')}))`, [G('staff'), G('vpn'), V('bob')]],
    ['(cn~=bob)', [U('bob'), V('bob')]],
    ['(cn:caseExactMatch:=Bob)', []],
    ['(cn:caseExactMatch:=bob)', [U('bob'), V('bob')]],
    ['(description=*x*)', []],
    [`(entryDN=${U('alice')})`, [U('alice')]],
  ];
  for (const [filter, want] of cases) {
    it(filter, () => {
      const r = treeSearch(view, BASE, 2, filter);
      assert.equal(r.resultCode, ResultCode.success);
      assert.deepEqual(dns(r.entries), want);
    });
  }
  it('gives the same answers without indexes', () => {
    const { d } = fixture();
    const plain = fullView(d, { indexed: false });
    for (const [filter, want] of cases) assert.deepEqual(dns(treeSearch(plain, BASE, 2, filter).entries), want, filter);
  });
});

describe('visibility', () => {
  it('a non-privileged user sees the base, containers, themselves, their virtual group and their groups (§10 item 18)', () => {
    const { d } = fixture();
    const r = treeSearch(selfView(d, 8), BASE, 2, '(objectClass=*)');
    assert.deepEqual(dns(r.entries), [BASE, C.users, U('bob'), C.groups, G('staff'), G('vpn'), C.vgroups, V('bob')]);
    const staff = r.entries.find((e) => e.dn === G('staff'))!;
    assert.deepEqual(staff.get('member'), [U('bob')], 'only themselves as member');
    const bob = r.entries.find((e) => e.dn === U('bob'))!;
    assert.deepEqual(bob.get('memberof'), [G('staff'), G('vpn')]);
  });
  it('others do not exist for them (noSuchObject), and filters cannot reveal them', () => {
    const { d } = fixture();
    const v = selfView(d, 7);
    const r = treeSearch(v, U('akadmin'), 0, '(objectClass=*)');
    assert.equal(r.resultCode, ResultCode.noSuchObject);
    assert.equal(r.matchedDN, C.users);
    assert.deepEqual(dns(treeSearch(v, BASE, 2, '(cn=bob)').entries), []);
    assert.deepEqual(dns(treeSearch(v, BASE, 2, '(objectClass=user)').entries), [U('alice')]);
  });
});

describe('nested memberOf (option)', () => {
  it('off: direct groups only, as authentik', () => {
    const { view } = fixture();
    assert.deepEqual(view.entry('users', 3).get('memberof'), [G('vpn-contractors')]);
    // The child group is a memberOf its parent too (authentik 2025.8+).
    assert.deepEqual(dns(treeSearch(view, BASE, 2, `(memberOf=${G('vpn')})`).entries), [U('bob'), G('vpn-contractors')]);
  });
  it('on: ancestors too', () => {
    const { view } = fixture({ nested: true });
    assert.deepEqual(view.entry('users', 3).get('memberof'), [G('vpn-contractors'), G('vpn')]);
    assert.deepEqual(dns(treeSearch(view, BASE, 2, `(memberOf=${G('vpn')})`).entries), [U('bob'), U('carol'), G('vpn-contractors')]);
    // member lists stay direct: the users, then the child group (authentik 2025.8+)
    assert.deepEqual(treeSearch(view, G('vpn'), 0, '(objectClass=*)').entries[0]!.get('member'), [U('bob'), G('vpn-contractors')]);
    // a group's memberOf is never nested
    assert.deepEqual(treeSearch(view, G('vpn-contractors'), 0, '(objectClass=*)').entries[0]!.get('memberof'), [G('vpn')]);
  });
  it('survives parent cycles', () => {
    const a = apiGroup('a');
    const b = apiGroup('b', { parent: a.pk });
    a.parent = b.pk;
    const c = apiGroup('c', { parent: a.pk });
    const view = fullView(data([a, b, c], [apiUser(1, 'x', [c])]), { nested: true });
    assert.deepEqual(view.entry('users', 0).get('memberof'), [G('c'), G('a'), G('b')]);
  });
  it('several parents (authentik 2024.8+ `parents`): every ancestor once, depth first', () => {
    const root = apiGroup('root');
    const left = apiGroup('left', { parents: [root.pk] });
    const right = apiGroup('right', { parents: [root.pk] });
    const leaf = apiGroup('leaf', { parents: [left.pk, right.pk.toUpperCase()] });
    const view = fullView(data([root, left, right, leaf], [apiUser(1, 'x', [leaf])]), { nested: true });
    assert.deepEqual(view.entry('users', 0).get('memberof'), [G('leaf'), G('left'), G('root'), G('right')]);
    assert.deepEqual(dns(treeSearch(view, BASE, 2, `(memberOf=${G('right')})`).entries), [U('x'), G('leaf')]);
  });
});

describe('limits', () => {
  const { view } = fixture();
  it('sizeLimit: the first N entries and sizeLimitExceeded when more match', () => {
    const r = treeSearch(view, BASE, 2, '(objectClass=user)', { sizeLimit: 2 });
    assert.equal(r.resultCode, ResultCode.sizeLimitExceeded);
    assert.deepEqual(dns(r.entries), [U('akadmin'), U('alice')]);
  });
  it('sizeLimit equal to the match count is success', () => {
    const r = treeSearch(view, BASE, 2, '(objectClass=user)', { sizeLimit: 4 });
    assert.equal(r.resultCode, ResultCode.success);
    assert.equal(r.entries.length, 4);
  });
  it('an expired deadline stops a long scan with timeLimitExceeded and what was found', () => {
    const many = data([], Array.from({ length: 3000 }, (_, i) => apiUser(i + 1, `u${i}`)));
    const r = treeSearch(fullView(many), BASE, 2, '(objectClass=*)', { deadline: performance.now() - 1 });
    assert.equal(r.resultCode, ResultCode.timeLimitExceeded);
    assert.ok(r.entries.length > 0 && r.entries.length < 6004, `${r.entries.length} entries`);
  });
});

describe('kind analysis and index planner', () => {
  it('proves which kinds cannot match', () => {
    const f = (s: string) => prepareFilter(parseFilter(s));
    assert.equal(kindMayMatch(f('(&(objectClass=posixGroup)(cn=x))'), 'users'), false);
    assert.equal(kindMayMatch(f('(&(objectClass=posixGroup)(cn=x))'), 'groups'), true);
    assert.equal(kindMayMatch(f('(objectClass=posixGroup)'), 'vgroups'), true);
    assert.equal(kindMayMatch(f('(|(objectClass=user)(objectClass=group))'), 'users'), true);
    assert.equal(kindMayMatch(f('(!(objectClass=user))'), 'users'), false);
    assert.equal(kindMayMatch(f('(memberOf=cn=x)'), 'vgroups'), false, 'virtual groups have no memberOf');
    assert.equal(kindMayMatch(f('(!(memberOf=cn=x))'), 'vgroups'), true);
    assert.equal(kindMayMatch(f('(loginShell=*)'), 'users'), true, 'custom attributes are unknown');
    assert.equal(kindMayMatch(f('(uidNumber>=abc)'), 'users'), true);
  });

  it('uses an index for an equality and scans for a substring', () => {
    const many = data([], Array.from({ length: 1000 }, (_, i) => apiUser(i + 1, `user${i + 1}`)));
    const view = fullView(many);
    const eq = planCandidates(prepareFilter(parseFilter('(cn=user5)')), 'users', view);
    assert.equal(eq.usedIndex, true);
    assert.deepEqual(eq.candidates, [4]);
    const and = planCandidates(prepareFilter(parseFilter('(&(objectClass=user)(uid=uid-77))')), 'users', view);
    assert.deepEqual(and, { candidates: [76], usedIndex: true });
    const scan = planCandidates(prepareFilter(parseFilter('(description=*x*)')), 'users', view);
    assert.deepEqual(scan, { candidates: 'all', usedIndex: false });
    const or = planCandidates(prepareFilter(parseFilter('(|(cn=user1)(mail=user3@example.com))')), 'users', view);
    assert.deepEqual(or, { candidates: [0, 2], usedIndex: true });
    const none = planCandidates(prepareFilter(parseFilter('(&(objectClass=posixGroup)(cn=user1))')), 'users', view);
    assert.deepEqual(none.candidates, []);
    assert.ok(view.builtIndexes().includes('users:cn'));
  });

  it('index keys never lose a match: spaces and case, integers', () => {
    const d = data([], [apiUser(1, 'Ann  Marie', [], { attributes: { uidNumber: ' 0042 ' } })]);
    const view = fullView(d);
    assert.deepEqual(dns(treeSearch(view, BASE, 2, '(cn=ann marie)').entries), [U('Ann  Marie'), V('Ann  Marie')]);
    assert.deepEqual(dns(treeSearch(view, BASE, 2, '(uidNumber=42)').entries), [U('Ann  Marie')]);
    assert.deepEqual(dns(treeSearch(view, BASE, 2, '(uidNumber=x)').entries), []);
  });
});

describe('routeSearch', () => {
  const providers = [
    { name: 'outer', base_dn: 'DC=example,DC=com' },
    { name: 'inner', base_dn: 'ou=app,dc=example,dc=com' },
    { name: 'other', base_dn: 'dc=other,dc=org' },
    { name: 'broken', base_dn: 'not a dn' },
  ];
  it('picks the longest base DN that equals or contains the search base', () => {
    assert.equal(routeSearch('ou=app,dc=example,dc=com', providers)?.name, 'inner');
    assert.equal(routeSearch('cn=x,ou=users,OU=App,DC=Example,DC=Com', providers)?.name, 'inner');
    assert.equal(routeSearch('ou=users,dc=example,dc=com', providers)?.name, 'outer');
    assert.equal(routeSearch('dc=example, dc=com', providers)?.name, 'outer');
    assert.equal(routeSearch('dc=other,dc=org', providers)?.name, 'other');
  });
  it('is order-independent for nesting and undefined when nothing matches', () => {
    assert.equal(routeSearch('ou=app,dc=example,dc=com', [...providers].reverse())?.name, 'inner');
    assert.equal(routeSearch('dc=com', providers), undefined);
    assert.equal(routeSearch('', providers), undefined);
    assert.equal(routeSearch('not a dn', providers), undefined);
  });
});
