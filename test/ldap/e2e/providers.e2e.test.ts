// Several LDAP providers on one outpost: a bind through one provider gives nothing in another's
// directory (search and compare alike), and with nested base DNs a bind goes to the innermost
// provider, through its flow and its application's access policy. Both API generations: the
// access check differs (the application's check_access in 2024.4, the provider's since 2024.8).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthentikVersion } from '../../support/outpost.ts';
import {
  AUTHENTIK_VERSIONS,
  B,
  PASSWORDS,
  U,
  auth,
  dnsOf,
  flowRequests,
  ldapsearch,
  resultOf,
  run,
  startLdapOutpost,
  testSeed,
  type LdapOutpost,
} from './support.ts';

/** A second, separate provider (in the seed without an application; given one here). */
const OTHER = 'dc=unlisted,dc=goauthentik,dc=io';
/** A provider nested below test-ldap-provider's base; its name sorts after it, so neither name order nor list order picks it. */
const INNER = `ou=inner,${B}`;
const INNER_PK = 5;
const inUsers = (name: string, base: string) => `cn=${name},ou=users,${base}`;

function seed() {
  const s = testSeed();
  s['applications']!.push(
    { slug: 'test-ldap-app-2', name: 'Test LDAP 2', provider: 'test-ldap-unlisted-provider' },
    // Only members of vpn (alice, not bob) may use the inner provider.
    { slug: 'test-ldap-inner-app', name: 'Test LDAP inner', provider: 'zz-inner-ldap-provider', access_groups: ['vpn'] },
  );
  s['providers']!.push({ type: 'ldap', pk: INNER_PK, name: 'zz-inner-ldap-provider', base_dn: INNER, bind_flow: 'id-embedded-flow', search_group: 'authentik Admins' });
  for (const o of s['outposts'] as { name: string; providers: string[] }[]) if (o.name === 'test-ldap') o.providers.push('zz-inner-ldap-provider');
  return s;
}

function innerCheckAccess(version: AuthentikVersion): string {
  return version === '2024.4' ? '/api/v3/core/applications/test-ldap-inner-app/check_access/' : `/api/v3/outposts/ldap/${INNER_PK}/check_access/`;
}

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`LDAP outpost: several providers (authentik ${authentikVersion})`, () => {
  let o: LdapOutpost;
  const search = (bindDn: string, password: string, base: string, filter = '(objectClass=user)') => ldapsearch(o.url, ['-x', '-D', bindDn, '-w', password, '-b', base, filter, '1.1']);

  before(async () => {
    o = await startLdapOutpost({ seed: seed(), authentikVersion });
  });
  after(() => o?.stop());

  it('a user bound through provider A can neither search nor compare in provider B\'s directory (50)', async () => {
    // akadmin may search all of A's directory; that grants nothing in B.
    for (const user of ['akadmin', 'alice']) {
      const r = await search(U(user), PASSWORDS[user]!, OTHER);
      assert.equal(r.code, 50, `${user}: ${r.stdout}${r.stderr}`);
      assert.deepEqual(dnsOf(r.stdout), []);
      const below = await search(U(user), PASSWORDS[user]!, `ou=users,${OTHER}`, '(objectClass=*)');
      assert.equal(below.code, 50, `${user} below B's base`);
      const cmp = await run('ldapcompare', [...auth(user), '-H', o.url, inUsers(user, OTHER), `cn:${user}`]);
      assert.equal(cmp.code, 50, `${user} compare: ${cmp.stdout}${cmp.stderr}`);
    }
    // The same user bound through B sees B's directory; the same compare is answered.
    const own = await search(inUsers('alice', OTHER), PASSWORDS['alice']!, OTHER);
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(dnsOf(own.stdout), [inUsers('alice', OTHER)]);
    const cmp = await run('ldapcompare', ['-x', '-D', inUsers('alice', OTHER), '-w', PASSWORDS['alice']!, '-H', o.url, inUsers('alice', OTHER), 'cn:alice']);
    assert.equal(cmp.code, 6, cmp.stdout + cmp.stderr);
    // And bound through B, A's directory is closed to her.
    const back = await search(inUsers('alice', OTHER), PASSWORDS['alice']!, B);
    assert.equal(back.code, 50, back.stdout + back.stderr);
  });

  it('a provider that grants no search right shows a bound user only their own entry, whatever they see elsewhere', async (t) => {
    // 2024.4: B has no search group, so nobody searches all of it (akadmin does in A, through
    // its search group). 2024.8+: erin holds search_full_directory on A only.
    const user = authentikVersion === '2024.4' ? 'akadmin' : 'erin';
    if (authentikVersion !== '2024.4') {
      const grant = { username: 'erin', permission: 'authentik_providers_ldap.search_full_directory', provider: 'test-ldap-provider' };
      o.core.admin.grantPermission(grant);
      t.after(() => o.core.admin.revokePermission(grant));
    }
    const inA = await search(U(user), PASSWORDS[user]!, B);
    assert.equal(inA.code, 0, inA.stderr);
    assert.ok(dnsOf(inA.stdout).length >= 10, `${user} sees every user of A`);
    const inB = await search(inUsers(user, OTHER), PASSWORDS[user]!, OTHER, '(objectClass=*)');
    assert.equal(inB.code, 0, inB.stderr);
    const users = dnsOf(inB.stdout).filter((dn) => dn.endsWith(`,ou=users,${OTHER}`));
    assert.deepEqual(users, [inUsers(user, OTHER)], `${user} sees only their own user entry in B`);
    const other = await search(inUsers(user, OTHER), PASSWORDS[user]!, inUsers('bob', OTHER), '(objectClass=*)');
    assert.equal(other.code, 32, 'another user\'s entry does not exist for them');
  });

  it('binds under nested base DNs go to the innermost provider: its bind flow and its access policy', async () => {
    let since = o.core.admin.requests().length;
    const inner = await run('ldapwhoami', ['-H', o.url, '-x', '-D', inUsers('alice', INNER), '-w', PASSWORDS['alice']!]);
    assert.equal(inner.code, 0, inner.stderr);
    assert.equal(inner.stdout.trim(), `dn:${inUsers('alice', INNER)}`);
    const flows = flowRequests(o.core, since).map((r) => r.path);
    assert.ok(flows.includes('/api/v3/flows/executor/id-embedded-flow/'), `the inner provider's flow: ${flows.join(' ')}`);
    assert.ok(!flows.includes('/api/v3/flows/executor/id-password-flow/'), 'not the outer provider\'s');
    assert.ok(o.core.admin.requests().slice(since).some((r) => r.path === innerCheckAccess(authentikVersion)), 'the inner provider\'s access check');

    // The inner application admits vpn members only: erin (in no group) is refused there, after
    // passing its flow, and admitted by the outer provider, whose application admits everyone.
    since = o.core.admin.requests().length;
    const erinInner = await run('ldapwhoami', ['-H', o.url, '-x', '-D', inUsers('erin', INNER), '-w', PASSWORDS['erin']!]);
    assert.equal(erinInner.code, 50, erinInner.stdout + erinInner.stderr);
    assert.ok(o.core.admin.requests().slice(since).some((r) => r.path === innerCheckAccess(authentikVersion)));
    assert.ok(flowRequests(o.core, since).every((r) => r.path === '/api/v3/flows/executor/id-embedded-flow/'));
    const erinOuter = await run('ldapwhoami', ['-H', o.url, ...auth('erin')]);
    assert.equal(erinOuter.code, 0, erinOuter.stderr);
  });

  it('bound through the inner provider, a search sees its directory only; the outer one is another provider\'s (50)', async () => {
    const own = await search(inUsers('alice', INNER), PASSWORDS['alice']!, INNER);
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(dnsOf(own.stdout), [inUsers('alice', INNER)]);
    const outer = await search(inUsers('alice', INNER), PASSWORDS['alice']!, B);
    assert.equal(outer.code, 50, outer.stdout + outer.stderr);
    assert.equal(resultOf(outer.stdout), 50);
    // And the other way round: bound through the outer provider, the inner base is the inner provider's.
    const fromOuter = await search(U('akadmin'), PASSWORDS['akadmin']!, INNER);
    assert.equal(fromOuter.code, 50, fromOuter.stdout + fromOuter.stderr);
  });
});
