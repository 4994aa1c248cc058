// The directory against the development core: outpost-level dispatch (root DSE, subschema,
// anonymous, routing), direct mode pushdown checked against the cached mode on one data set,
// core failures turned into LDAP errors at once, and the nested memberOf option.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DevCore } from '../../../src/devcore/index.ts';
import { startDevCore } from '../../../src/devcore/index.ts';
import { CoreApi, createDispatcher } from '../../../src/agent/core-api.ts';
import { ResultCode, type SearchRequest } from '../../../src/ldap/protocol/index.ts';
import type { LdapEntry } from '../../../src/ldap/entry.ts';
import { LdapDirectory, PagingStore, SnapshotRegistry, searchOutpost, type Viewer } from '../../../src/ldap/directory/index.ts';
import { userAgent } from '../../../src/version.ts';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { B, BASE, dns, provider, request, TEST_SEED } from './helpers.ts';

const U = (n: string) => `cn=${n},ou=users,${B}`;
const G = (n: string) => `cn=${n},ou=groups,${B}`;

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`directory against the development core (authentik ${authentikVersion})`, () => {
  let core: DevCore;
  const dispatcher = createDispatcher({ insecure: false });
  let api: CoreApi;
  const registry = new SnapshotRegistry();
  let direct: LdapDirectory;
  let cached: LdapDirectory;
  let directNested: LdapDirectory;
  let cachedNested: LdapDirectory;
  const paging = new PagingStore();

  before(async () => {
    core = await startDevCore({ seed: TEST_SEED, port: 0, authentikVersion });
    api = new CoreApi({ host: new URL(core.url), token: 'test-ldap-token', userAgent: userAgent(), dispatcher, timeoutMs: 2000 });
    // Odd data the differential tests need.
    core.admin.addGroup({ name: 'Mixed Case' });
    core.admin.addGroup({ name: 'a,b' });
    core.admin.addGroup({ name: 'Staff' }); // differs from "staff" only by case
    core.admin.addUser({ username: 'ALLCAPS', name: 'All Caps', email: 'CAPS@Example.com', groups: ['Mixed Case', 'staff'] });
    core.admin.addUser({ username: 'comma,name', name: 'Comma Name', groups: ['a,b'] });
    core.admin.addUser({ username: 'space  name', name: 'Space Name', groups: ['Staff'] });
    core.admin.addUser({ username: 'kevin', name: 'Kevin K', attributes: { mail: 'custom@example.com', cn: 'ignored', loginShell: '/bin/zsh', homeDirectory: '/srv/%s' } });
    core.admin.addUser({ username: '\u212aelvin', name: 'Kelvin Sign' });
    core.admin.addUser({ username: 'Zoë', name: 'Zoe Umlaut', groups: ['vpn-contractors'] });
    // uidNumber/gidNumber attributes as JSON numbers, as strings, and a numeric uidNumber alone.
    core.admin.addUser({ username: 'numids', name: 'Numeric Ids', attributes: { uidNumber: 5000, gidNumber: 6000 } });
    core.admin.addUser({ username: 'strids', name: 'String Ids', attributes: { uidNumber: '7000', gidNumber: '7100' } });
    core.admin.addUser({ username: 'uidonly', name: 'Uid Only', attributes: { uidNumber: 5100 } });
    const mk = (mode: 'direct' | 'cached', nested: boolean) => new LdapDirectory({ provider: provider({ search_mode: mode, base_dn: BASE }), api, registry, nestedMemberOf: nested });
    direct = mk('direct', false);
    cached = mk('cached', false);
    directNested = mk('direct', true);
    cachedNested = mk('cached', true);
    await cached.start();
  });
  after(async () => {
    for (const d of [direct, cached, directNested, cachedNested]) d.close();
    await core.close();
    await dispatcher.close();
  });

  const all: Viewer = { kind: 'all' };
  const run = (dir: LdapDirectory, req: SearchRequest, viewer: Viewer = all) => dir.search({ viewer, request: req, controls: [], paging });

  describe('outpost level', () => {
    const outpost = (req: SearchRequest, bound: boolean, dirs = [direct]) =>
      searchOutpost({ request: req, controls: [], paging, bound, viewerFor: () => (bound ? all : { kind: 'anonymous' }) }, dirs);

    it('root DSE without a bind, base scope only', async () => {
      const r = await outpost(request('', 0, '(objectClass=*)'), false);
      assert.equal(r.result.resultCode, ResultCode.success);
      assert.deepEqual(dns(r.entries), ['']);
      assert.deepEqual(r.entries[0]!.get('namingcontexts'), [B]);
      const one = await outpost(request('', 1, '(objectClass=*)'), false);
      assert.deepEqual([one.result.resultCode, one.entries.length], [0, 0]);
      const sub = await outpost(request('', 2, '(objectClass=*)'), true);
      assert.deepEqual([sub.result.resultCode, sub.entries.length], [0, 0]);
      const filtered = await outpost(request('', 0, '(objectClass=person)'), false);
      assert.deepEqual(filtered.entries, []);
    });

    it('cn=subschema without a bind', async () => {
      const r = await outpost(request('CN=Subschema', 0, '(objectClass=subschema)'), false);
      assert.deepEqual(dns(r.entries), ['cn=subschema']);
      assert.deepEqual((await outpost(request('cn=subschema', 1, '(objectClass=*)'), false)).entries, []);
    });

    it('anything else needs a bind: insufficientAccessRights', async () => {
      for (const base of [BASE, U('alice'), 'dc=nowhere']) {
        const r = await outpost(request(base, 2, '(objectClass=*)'), false);
        assert.equal(r.result.resultCode, ResultCode.insufficientAccessRights, base);
        assert.deepEqual(r.entries, []);
      }
    });

    it('a base no provider serves: noSuchObject; a malformed base: invalidDNSyntax', async () => {
      const r = await outpost(request('dc=nowhere,dc=example', 2, '(objectClass=*)'), true);
      assert.equal(r.result.resultCode, ResultCode.noSuchObject);
      assert.equal(r.result.matchedDN, '');
      assert.equal((await outpost(request('cn=a,,dc=x', 2, '(objectClass=*)'), true)).result.resultCode, ResultCode.invalidDNSyntax);
    });

    it('routes to the provider with the longest base DN', async () => {
      const inner = new LdapDirectory({ provider: provider({ pk: 2, name: 'inner', base_dn: `ou=app,${BASE}` }), api });
      try {
        const r = await outpost(request(`ou=users,ou=app,${B}`, 1, '(cn=alice)'), true, [direct, inner]);
        assert.deepEqual(dns(r.entries), [`cn=alice,ou=users,ou=app,${B}`]);
        const outer = await outpost(request(`ou=users,${B}`, 1, '(cn=alice)'), true, [inner, direct]);
        assert.deepEqual(dns(outer.entries), [U('alice')]);
      } finally {
        inner.close();
      }
    });

    it('a paged search of the root DSE gets an empty cookie', async () => {
      const { encodePagedResultsValue, ControlOid, decodePagedResultsValue } = await import('../../../src/ldap/protocol/index.ts');
      const ctl = { oid: ControlOid.pagedResults, criticality: true, value: encodePagedResultsValue({ size: 10, cookie: Buffer.alloc(0) }) };
      const r = await searchOutpost({ request: request('', 0, '(objectClass=*)'), controls: [ctl], paging, bound: false, viewerFor: () => ({ kind: 'anonymous' }) }, [direct]);
      assert.equal(r.entries.length, 1);
      assert.equal(decodePagedResultsValue(r.controls![0]!.value).cookie.length, 0);
    });
  });

  describe('direct mode gives exactly the cached mode\'s results', () => {
    const table: [string, 0 | 1 | 2 | 3, string][] = [
      [BASE, 2, '(objectClass=*)'],
      [BASE, 2, '(objectClass=user)'],
      [BASE, 2, '(objectClass=posixGroup)'],
      [BASE, 2, '(objectClass=group)'],
      [BASE, 2, '(|(objectClass=user)(objectClass=group))'],
      [BASE, 2, '(cn=alice)'],
      [BASE, 2, '(cn=ALICE)'],
      [BASE, 2, '(cn=Alice*)'],
      [BASE, 2, '(cn=*ice)'],
      [BASE, 2, '(cn=a*c*e)'],
      [BASE, 2, '(cn=allcaps)'],
      [BASE, 2, '(cn=comma,name)'],
      [BASE, 2, '(cn=space name)'],
      [BASE, 2, '(cn=kelvin)'],
      [BASE, 2, '(cn=*elvin)'],
      [BASE, 2, '(cn=zoë)'],
      [BASE, 2, '(cn=ignored)'],
      [BASE, 2, '(sAMAccountName=BOB)'],
      [BASE, 2, '(&(objectClass=user)(cn=bob))'],
      [BASE, 2, '(&(objectClass=posixAccount)(uid=*))'],
      [BASE, 2, '(mail=custom@example.com)'],
      [BASE, 2, '(mail=caps@example.com)'],
      [BASE, 2, '(loginShell=/bin/zsh)'],
      [BASE, 2, `(memberOf=${G('staff')})`],
      [BASE, 2, `(memberOf=CN=STAFF,OU=Groups,${BASE})`],
      [BASE, 2, `(&(objectClass=user)(memberOf=${G('vpn')}))`],
      [BASE, 2, `(&(objectClass=user)(memberOf=${G('mixed case')}))`],
      [BASE, 2, `(&(objectClass=user)(memberOf=cn=a\\5c,b,ou=groups,${B}))`],
      [BASE, 2, `(memberOf=${G('no-such-group')})`],
      [BASE, 2, `(memberOf=cn=alice,ou=virtual-groups,${B})`],
      [BASE, 2, '(memberOf=garbage)'],
      [BASE, 2, `(member=${U('alice')})`],
      [BASE, 2, `(&(objectClass=groupOfNames)(member=${U('ALLCAPS')}))`],
      [BASE, 2, `(&(objectClass=posixGroup)(member=${U('nobody')}))`],
      [BASE, 2, '(&(objectClass=posixGroup)(cn=vpn*))'],
      [BASE, 2, `(member=${G('vpn-contractors')})`],
      [BASE, 2, `(&(cn=vpn)(member=${G('vpn-contractors')}))`],
      [BASE, 2, `(memberOf=${G('vpn')})`],
      [BASE, 2, `(&(objectClass=groupOfNames)(memberOf=${G('vpn')}))`],
      [BASE, 2, '(&(objectClass=posixGroup)(!(objectClass=groupOfNames)))'],
      [G('vpn'), 0, '(objectClass=*)'],
      [G('vpn-contractors'), 0, '(objectClass=*)'],
      [BASE, 2, '(uidNumber>=2005)'],
      [BASE, 2, '(gidNumber=6000)'],
      [BASE, 2, '(gidNumber=5100)'],
      [`cn=numids,ou=virtual-groups,${B}`, 0, '(objectClass=*)'],
      [BASE, 2, '(&(objectClass=user)(!(ak-active=true)))'],
      [BASE, 2, '(|(cn=alice)(cn=bob)(mail=dave@example.com))'],
      [BASE, 1, '(objectClass=*)'],
      [BASE, 0, '(objectClass=*)'],
      [`ou=users,${B}`, 1, '(cn=b*)'],
      [`ou=groups,${B}`, 2, '(objectClass=*)'],
      [`ou=virtual-groups,${B}`, 1, '(cn=carol)'],
      [U('alice'), 0, '(objectClass=*)'],
      [U('Alice'), 0, '(objectClass=posixGroup)'],
      [U('comma\\,name'), 0, '(objectClass=*)'],
      [U('nobody'), 0, '(objectClass=*)'],
      [`cn=staff,ou=groups,${B}`, 0, '(objectClass=*)'],
      [`cn=bob,ou=virtual-groups,${B}`, 2, '(cn=bob)'],
      [`ou=other,${B}`, 2, '(objectClass=*)'],
    ];

    const normalise = (entries: readonly LdapEntry[]) =>
      entries
        .map((e) => JSON.stringify([e.dn, e.attributes.map((a) => [a.type, [...a.values].sort(), a.operational === true]).sort()]))
        .sort();

    for (const [base, scope, filter] of table) {
      it(`${base} scope ${scope} ${filter}`, async () => {
        for (const [d, c] of [[direct, cached], [directNested, cachedNested]] as const) {
          const a = await run(d, request(base, scope, filter));
          const b = await run(c, request(base, scope, filter));
          assert.equal(a.result.resultCode, b.result.resultCode, `${a.result.diagnosticMessage} / ${b.result.diagnosticMessage}`);
          assert.equal(a.result.matchedDN, b.result.matchedDN);
          assert.deepEqual(normalise(a.entries), normalise(b.entries));
        }
      });
    }

    it('substring filters are anchored, in both modes: (cn=li*) and (cn=*lic) do not find alice', async () => {
      for (const d of [direct, cached]) {
        for (const f of ['(cn=li*)', '(cn=*lic)', '(cn=lic*)', '(&(objectClass=user)(cn=*lic))']) {
          assert.deepEqual(dns((await run(d, request(BASE, 2, f))).entries), [], `${d.mode} ${f}`);
        }
        assert.deepEqual(dns((await run(d, request(BASE, 2, '(&(objectClass=user)(cn=ali*)(cn=*ice))'))).entries), [U('alice')], d.mode);
      }
    });

    it('alternative names and OIDs of a type find what its primary name finds, in both modes, and select it', async () => {
      const pairs = [
        ['(cn=alice)', '(commonName=alice)'],
        ['(cn=alice)', '(2.5.4.3=ALICE)'],
        ['(cn=bo*)', '(commonName=bo*)'],
        ['(mail=dave@example.com)', '(rfc822Mailbox=dave@example.com)'],
        ['(&(objectClass=user)(uid=*))', '(&(objectClass=user)(userid=*))'],
        ['(&(objectClass=user)(sn=alice example))', '(&(objectClass=user)(surname=Alice Example))'],
      ];
      for (const d of [direct, cached]) {
        for (const [primary, alias] of pairs) {
          const want = dns((await run(d, request(BASE, 2, primary!))).entries);
          assert.ok(want.length > 0, `${primary} finds something`);
          assert.deepEqual(dns((await run(d, request(BASE, 2, alias!))).entries), want, `${d.mode} ${alias}`);
        }
      }
      // authentik's containers carry `commonName`: it is their cn.
      assert.deepEqual(dns((await run(cached, request(BASE, 1, '(cn=users)'))).entries), [`ou=users,${B}`]);
    });

    it('uidNumber/gidNumber attributes, numbers or strings, set the user\'s numbers and its virtual group\'s gidNumber, in both modes', async () => {
      const alice = await run(cached, request(U('alice'), 0, '(objectClass=*)', { attributes: ['uidNumber'] }));
      const aliceUid = alice.entries[0]!.get('uidnumber')![0]!;
      const cases: [string, string, string][] = [
        ['numids', '5000', '6000'],
        ['strids', '7000', '7100'],
        ['uidonly', '5100', '5100'],
        ['alice', aliceUid, aliceUid],
      ];
      for (const d of [direct, cached]) {
        for (const [name, uid, gid] of cases) {
          const u = (await run(d, request(U(name), 0, '(objectClass=*)'))).entries;
          assert.equal(u.length, 1, `${d.mode} ${name}`);
          assert.deepEqual(u[0]!.get('uidnumber'), [uid], `${d.mode} ${name} uidNumber`);
          assert.deepEqual(u[0]!.get('gidnumber'), [gid], `${d.mode} ${name} gidNumber`);
          const g = (await run(d, request(`cn=${name},ou=virtual-groups,${B}`, 0, '(objectClass=*)'))).entries;
          assert.equal(g.length, 1, `${d.mode} ${name} virtual group`);
          assert.deepEqual(g[0]!.get('gidnumber'), [gid], `${d.mode} ${name} virtual group gidNumber`);
        }
        assert.deepEqual(dns((await run(d, request(BASE, 2, '(gidNumber=6000)'))).entries).sort(), [U('numids'), `cn=numids,ou=virtual-groups,${B}`].sort(), d.mode);
      }
    });

    it('the table is not vacuous: it finds entries of every kind', async () => {
      const r = await run(cached, request(BASE, 2, '(objectClass=*)'));
      assert.ok(r.entries.length > 30);
      const alice = await run(cached, request(BASE, 2, '(cn=ALICE)'));
      assert.deepEqual(dns(alice.entries), [U('alice'), `cn=alice,ou=virtual-groups,${B}`], 'case-insensitive in both modes (authentik direct mode missed it)');
      assert.deepEqual(dns((await run(direct, request(BASE, 2, '(cn=kelvin)'))).entries), [U('\u212aelvin'), `cn=\u212aelvin,ou=virtual-groups,${B}`]);
    });
  });

  describe('direct mode pushdown', () => {
    const calls = async (req: SearchRequest) => {
      core.admin.clearRequests();
      const r = await run(direct, req);
      return { r, reqs: core.admin.requests().filter((x) => x.path.startsWith('/api/v3/core/')) };
    };

    it('(cn=alice) asks for users with search=alice, and no groups', async () => {
      const { r, reqs } = await calls(request(BASE, 2, '(&(objectClass=user)(cn=alice))'));
      assert.deepEqual(dns(r.entries), [U('alice')]);
      assert.deepEqual(reqs.map((x) => [x.path, x.query['search']]), [['/api/v3/core/users/', 'alice']]);
      assert.equal(reqs[0]!.query['username'], undefined, 'never the case-sensitive exact filter');
    });

    it('group-only filters do not fetch users; user-only filters do not fetch groups', async () => {
      // Virtual groups are posixGroups too, so users (their source) are read, with the name pushed.
      // 2024.4 lists no children: a narrowed groups query is completed by the group list
      // without users (no search), to find which groups name a listed one as parent.
      const hierarchy = (reqs: { path: string; query: Record<string, string | undefined> }[]) =>
        reqs.filter((x) => !(authentikVersion === '2024.4' && x.path === '/api/v3/core/groups/' && x.query['search'] === undefined && x.query['include_users'] === 'false'));
      const v = await calls(request(BASE, 2, '(&(objectClass=posixGroup)(cn=vpn))'));
      assert.deepEqual(hierarchy(v.reqs).map((x) => [x.path, x.query['search']]).sort(), [['/api/v3/core/groups/', 'vpn'], ['/api/v3/core/users/', 'vpn']]);
      const g = await calls(request(BASE, 2, '(&(objectClass=posixGroup)(!(objectClass=goauthentik.io/ldap/virtual-group))(cn=vpn))'));
      assert.deepEqual(dns(g.r.entries), [G('vpn')]);
      assert.deepEqual(hierarchy(g.reqs).map((x) => x.path), ['/api/v3/core/groups/']);
      assert.equal(g.reqs.length, authentikVersion === '2024.4' ? 2 : 1);
      const groupsCall = g.reqs.find((x) => x.query['search'] === 'vpn')!;
      assert.deepEqual([groupsCall.query['include_parents'], groupsCall.query['include_children']], ['true', 'true'], 'as the Go outpost lists groups');
      const u = await calls(request(BASE, 2, '(objectClass=posixAccount)'));
      assert.ok(u.reqs.length > 0 && u.reqs.every((x) => x.path === '/api/v3/core/users/'));
    });

    it('memberOf is pushed as groups_by_pk after a case-insensitive name lookup', async () => {
      const { r, reqs } = await calls(request(BASE, 2, `(&(objectClass=user)(memberOf=CN=MIXED CASE,ou=groups,${B}))`));
      assert.deepEqual(dns(r.entries), [U('ALLCAPS')]);
      const usersCall = reqs.find((x) => x.path === '/api/v3/core/users/')!;
      assert.match(usersCall.query['groups_by_pk'] ?? '', /^[0-9a-f-]{36}$/);
      assert.ok(reqs.every((x) => x.queryAll['groups_by_name'] === undefined));
    });

    it('an unknown group in memberOf answers at once with no entries (authentik hung on the 400)', async () => {
      const started = performance.now();
      const { r, reqs } = await calls(request(BASE, 2, `(memberOf=cn=no-such-group,ou=groups,${B})`));
      assert.equal(r.result.resultCode, ResultCode.success);
      assert.deepEqual(r.entries, []);
      assert.ok(performance.now() - started < 1500);
      assert.ok(reqs.every((x) => x.status !== 400 && x.queryAll['groups_by_name'] === undefined && x.queryAll['members_by_username'] === undefined));
      assert.ok(!reqs.some((x) => x.path === '/api/v3/core/users/'), 'no user can match: no user request');
    });

    it('a base-scope lookup of one user fetches only that name', async () => {
      const { r, reqs } = await calls(request(U('bob'), 0, '(objectClass=*)'));
      assert.deepEqual(dns(r.entries), [U('bob')]);
      assert.deepEqual(reqs.map((x) => [x.path, x.query['search']]), [['/api/v3/core/users/', 'bob']]);
    });

    it('a non-privileged viewer costs one request for their own user', async () => {
      core.admin.clearRequests();
      const pk = Number(core.admin.getUser('alice')!['pk']);
      const r = await run(direct, request(BASE, 2, '(objectClass=*)'), { kind: 'self', userPk: pk });
      assert.deepEqual(dns(r.entries), [BASE, `ou=users,${B}`, U('alice'), `ou=groups,${B}`, G('staff'), G('vpn'), `ou=virtual-groups,${B}`, `cn=alice,ou=virtual-groups,${B}`]);
      assert.deepEqual(core.admin.requests().map((x) => x.path), [`/api/v3/core/users/${pk}/`]);
      const staff = r.entries.find((e) => e.dn === G('staff'))!;
      assert.deepEqual(staff.get('member'), [U('alice')]);
    });
  });

  describe('group hierarchy (authentik 2025.8+)', () => {
    it('a child group is a member of its parent, and the parent is its memberOf, in both modes', async () => {
      for (const d of [direct, cached, directNested, cachedNested]) {
        assert.deepEqual(dns((await run(d, request(BASE, 2, `(member=${G('vpn-contractors')})`))).entries), [G('vpn')], d.mode);
        assert.deepEqual(dns((await run(d, request(BASE, 2, `(memberOf=${G('vpn')})`))).entries).filter((dn) => dn.includes('ou=groups')), [G('vpn-contractors')], d.mode);
        const child = (await run(d, request(G('vpn-contractors'), 0, '(objectClass=*)'))).entries[0]!;
        assert.deepEqual(child.get('memberof'), [G('vpn')], d.mode);
        const parent = (await run(d, request(BASE, 2, '(&(objectClass=group)(cn=vpn))'))).entries[0]!;
        assert.equal(parent.get('member')!.at(-1), G('vpn-contractors'), `${d.mode}: users first, then child groups`);
      }
    });
  });

  describe('core failures', () => {
    it('a failing users endpoint is an LDAP error at once, not a hang', async () => {
      core.admin.setFaults({ pathPrefix: '/api/v3/core/users/', failStatus: 500 });
      try {
        const started = performance.now();
        const r = await run(direct, request(BASE, 2, '(objectClass=user)'));
        assert.equal(r.result.resultCode, ResultCode.unavailable);
        assert.match(r.result.diagnosticMessage ?? '', /500/);
        assert.deepEqual(r.entries, []);
        assert.ok(performance.now() - started < 1500);
        // cached mode keeps serving its snapshot
        assert.equal((await run(cached, request(BASE, 2, '(cn=alice)'))).entries.length, 2);
      } finally {
        core.admin.clearFaults();
      }
    });

    it('a body that is not JSON is the core failing: unavailable, not a verdict', async () => {
      core.admin.setFaults({ pathPrefix: '/api/v3/core/groups/', garbage: true });
      try {
        const r = await run(direct, request(`ou=groups,${B}`, 1, '(objectClass=*)'));
        assert.equal(r.result.resultCode, ResultCode.unavailable);
      } finally {
        core.admin.clearFaults();
      }
    });

    it('a slow core against a time limit: timeLimitExceeded without waiting for it', async () => {
      core.admin.setFaults({ pathPrefix: '/api/v3/core/', latencyMs: 1500 });
      try {
        const started = performance.now();
        const r = await run(direct, request(BASE, 2, '(objectClass=user)', { timeLimit: 1 }));
        assert.equal(r.result.resultCode, ResultCode.timeLimitExceeded);
        const took = performance.now() - started;
        assert.ok(took >= 900 && took < 1400, `${took} ms`);
      } finally {
        core.admin.clearFaults();
      }
    });

    it('an abandoned search stops waiting for the core', async () => {
      core.admin.setFaults({ pathPrefix: '/api/v3/core/', latencyMs: 1000 });
      try {
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 50);
        const started = performance.now();
        await direct.search({ viewer: all, request: request(BASE, 2, '(objectClass=user)'), controls: [], paging, signal: ac.signal });
        assert.ok(performance.now() - started < 500);
      } finally {
        core.admin.clearFaults();
      }
    });
  });

  describe('limits through the directory', () => {
    it('client sizeLimit → sizeLimitExceeded with that many entries (§10 item 31, fixed)', async () => {
      for (const d of [direct, cached]) {
        const r = await run(d, request(BASE, 2, '(objectClass=user)', { sizeLimit: 2 }));
        assert.equal(r.result.resultCode, ResultCode.sizeLimitExceeded);
        assert.equal(r.entries.length, 2);
      }
    });
    it('server sizeLimit applies when the client asks for more', async () => {
      const d = new LdapDirectory({ provider: provider({ search_mode: 'cached' }), api, registry, sizeLimit: 3 });
      try {
        const r = await run(d, request(BASE, 2, '(objectClass=user)', { sizeLimit: 10 }));
        assert.equal(r.result.resultCode, ResultCode.sizeLimitExceeded);
        assert.equal(r.entries.length, 3);
        const small = await run(d, request(BASE, 2, '(cn=alice)'));
        assert.equal(small.result.resultCode, ResultCode.success);
      } finally {
        d.close();
      }
    });
  });

  describe('nested memberOf option', () => {
    it('off by default: ivan (in vpn-contractors, child of vpn) is not a memberOf vpn', async () => {
      for (const d of [direct, cached]) {
        const r = await run(d, request(BASE, 2, `(memberOf=${G('vpn')})`));
        assert.ok(!dns(r.entries).includes(U('ivan')));
      }
    });
    it('on: ancestors are listed and matched', async () => {
      for (const d of [directNested, cachedNested]) {
        const r = await run(d, request(U('ivan'), 0, '(objectClass=*)'));
        assert.deepEqual(r.entries[0]!.get('memberof'), [G('vpn-contractors'), G('vpn')]);
        assert.ok(dns((await run(d, request(BASE, 2, `(memberOf=${G('vpn')})`))).entries).includes(U('ivan')));
      }
    });
  });
});
