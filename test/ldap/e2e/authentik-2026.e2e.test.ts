// The LDAP outpost against authentik 2024.8+'s API (the development core in 2026.8 mode): search
// rights from the `search_full_directory` permission, connections closed and cached binds
// dropped when authentik ends their core session (SESSION_END), the provider's unbind flow,
// and comma-separated attribute lists.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchOptions } from 'ldapts';
import { ResultCode } from '../../../src/ldap/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { RawClient, isNotice, searchRequest } from '../server/support.ts';
import {
  B,
  PASSWORDS,
  U,
  auth,
  client,
  closeClients,
  dnsOf,
  flowRequests,
  ldapsearch,
  parseLdif,
  run,
  startLdapOutpost,
  testSeed,
  within,
  type LdapOutpost,
} from './support.ts';

const PROVIDER = 'test-ldap-provider';
const SEARCH_FULL_DIRECTORY = 'authentik_providers_ldap.search_full_directory';
const SERVICE_PASSWORD = 'ldapservice-password';
const USERS: SearchOptions = { scope: 'sub', filter: '(objectClass=user)', attributes: ['cn'] };

describe('LDAP outpost: authentik 2024.8+ (devcore 2026.8)', () => {
  let o: LdapOutpost;
  /** The users a bind sees in a whole-subtree search (ldapsearch, a fresh bind each time). */
  const visibleUsers = async (user: string, password = PASSWORDS[user]): Promise<string[]> => {
    const r = await ldapsearch(o.url, [...auth(user, password), '-b', B, '(objectClass=user)', '1.1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return dnsOf(r.stdout);
  };
  const sessionsOf = (user: string) => o.core.admin.listSessions().filter((s) => s.username === user && s.authenticated).map((s) => s.session_key);

  before(async () => {
    const seed = testSeed();
    // A service account holding the permission on the provider, as the demo's ldapservice.
    seed['users']!.push({ username: 'ldapservice', name: 'LDAP Service', password: SERVICE_PASSWORD, permissions: [{ permission: SEARCH_FULL_DIRECTORY, provider: PROVIDER }] });
    seed['flows']!.push({ slug: 'ldap-unbind-flow', designation: 'invalidation', stages: [{ kind: 'user_logout' }] });
    o = await startLdapOutpost({ seed, authentikVersion: '2026.8' });
  });
  after(async () => {
    await closeClients();
    await o?.stop();
  });

  it('speaks the 2024.8+ API: the outpost\'s check_access, no search group', async () => {
    assert.ok(o.outpost.logs.lines.some((l) => l['generation'] === '2024.8'), 'the agent saw a 2024.8+ outpost');
    const since = o.core.admin.requests().length;
    assert.equal((await run('ldapwhoami', ['-H', o.url, ...auth('alice')])).code, 0);
    const paths = o.core.admin.requests().slice(since).map((r) => r.path);
    assert.ok(paths.includes('/api/v3/outposts/ldap/1/check_access/'), paths.join(' '));
    assert.ok(!paths.includes('/api/v3/core/applications/test-ldap-app/check_access/'));
  });

  it('search rights: the permission on the provider (ldapservice) and a superuser (akadmin) see everyone; alice only herself', async () => {
    const everyone = await visibleUsers('akadmin');
    assert.ok(everyone.length >= 12 && everyone.includes(U('ldapservice')) && everyone.includes(U('bob')), everyone.join(' '));
    assert.deepEqual((await visibleUsers('ldapservice', SERVICE_PASSWORD)).sort(), [...everyone].sort());
    assert.deepEqual(await visibleUsers('alice'), [U('alice')]);
  });

  it('a granted permission counts from the next bind, a revoked one is lost at the next bind (an open connection keeps its bind\'s rights)', async (t) => {
    const grants = [
      { username: 'erin', permission: SEARCH_FULL_DIRECTORY },
      { group: 'staff', permission: SEARCH_FULL_DIRECTORY, provider: PROVIDER },
    ];
    t.after(() => {
      for (const g of grants) o.core.admin.revokePermission(g);
      o.core.admin.grantPermission({ username: 'ldapservice', permission: SEARCH_FULL_DIRECTORY, provider: PROVIDER });
    });
    assert.deepEqual(await visibleUsers('erin'), [U('erin')]);
    // Global (erin) and through a group on the provider (alice, in staff).
    for (const g of grants) o.core.admin.grantPermission(g);
    assert.ok((await visibleUsers('erin')).length >= 12, 'erin holds it globally');
    assert.ok((await visibleUsers('alice')).length >= 12, 'alice holds it through staff');
    assert.deepEqual(await visibleUsers('dave', `${PASSWORDS['dave']};stat5678`), [U('dave')], 'dave is in neither');

    const open = client(o.url);
    await open.bind(U('ldapservice'), SERVICE_PASSWORD);
    assert.ok((await open.search(B, USERS)).searchEntries.length >= 12);
    o.core.admin.revokePermission({ username: 'ldapservice', permission: SEARCH_FULL_DIRECTORY, provider: PROVIDER });
    assert.deepEqual(await visibleUsers('ldapservice', SERVICE_PASSWORD), [U('ldapservice')], 'lost at the next bind');
    assert.ok((await open.search(B, USERS)).searchEntries.length >= 12, 'rights are decided at bind time, as authentik does');
    await open.bind(U('ldapservice'), SERVICE_PASSWORD);
    assert.deepEqual((await open.search(B, USERS)).searchEntries.map((e) => e.dn), [U('ldapservice')], 'and lost by a rebind on the open connection');
  });

  it('SESSION_END: every connection bound through the ended sessions gets a Notice of Disconnection and is closed within a second; others stay', async () => {
    const alice1 = await RawClient.connect(o.ldapPort);
    const alice2 = await RawClient.connect(o.ldapsPort, { tls: true });
    const bob = await RawClient.connect(o.ldapPort);
    const anonymous = await RawClient.connect(o.ldapPort);
    for (const c of [alice1, alice2]) assert.equal((await c.bind(1, U('alice'), PASSWORDS['alice']!)).resultCode, ResultCode.success);
    assert.equal((await bob.bind(1, U('erin'), PASSWORDS['erin']!)).resultCode, ResultCode.success);
    assert.equal(sessionsOf('alice').length, 2, 'one core session per direct bind');

    const t0 = performance.now();
    assert.equal(o.core.admin.endSessions('alice'), 2);
    await within(Promise.all([alice1.closed, alice2.closed]), 1500, 'closing alice\'s connections');
    const took = performance.now() - t0;
    assert.ok(took < 1200, `closed ${Math.round(took)} ms after the sessions ended`);
    for (const c of [alice1, alice2]) {
      const notice = c.responses.find(isNotice);
      assert.equal(notice?.resultCode, ResultCode.unavailable);
      assert.equal(notice?.diagnosticMessage, 'the authentik session ended');
    }
    assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'authentik session ended: closed 1 LDAP connection(s)' && l['level'] === 'info'), 'one info line per ended session');

    // Another user's connection and an anonymous one carry on.
    bob.send(2, searchRequest(U('erin'), { scope: 0 }));
    assert.equal((await bob.result(2)).resultCode, ResultCode.success);
    anonymous.send(1, searchRequest('', { scope: 0 }));
    assert.equal((await anonymous.result(1)).resultCode, ResultCode.success);
    bob.close();
    anonymous.close();
    // alice binds again (a new core session).
    assert.equal((await run('ldapwhoami', ['-H', o.url, ...auth('alice')])).code, 0);
  });

  it('unbind runs the provider\'s unbind flow (unbind_flow_slug), not the brand\'s', async (t) => {
    o.core.admin.updateProvider(PROVIDER, { unbind_flow: 'ldap-unbind-flow' });
    await o.refresh();
    t.after(async () => {
      o.core.admin.updateProvider(PROVIDER, { unbind_flow: null });
      await o.refresh();
    });
    const before = new Set(sessionsOf('alice'));
    const c = client(o.url);
    await c.bind(U('alice'), PASSWORDS['alice']!);
    const key = sessionsOf('alice').find((k) => !before.has(k));
    assert.ok(key, 'the bind made a core session');
    const since = o.core.admin.requests().length;
    await c.unbind();
    await waitFor('the core session to end', () => !o.core.admin.listSessions().some((s) => s.session_key === key));
    const flows = flowRequests(o.core, since).map((r) => r.path);
    assert.ok(flows.includes('/api/v3/flows/executor/ldap-unbind-flow/'), flows.join(' '));
    assert.ok(!flows.includes('/api/v3/flows/executor/default-invalidation-flow/'));
  });

  it('a comma-separated attribute list (cn,mail) selects those attributes (authentik 2025.8)', async () => {
    const r = await ldapsearch(o.url, [...auth('alice'), '-b', U('alice'), '-s', 'base', '(objectClass=*)', 'cn,mail', 'sn']);
    assert.equal(r.code, 0, r.stderr);
    const alice = parseLdif(r.stdout).get(U('alice'));
    assert.deepEqual([...(alice?.keys() ?? [])].sort(), ['cn', 'mail', 'sn']);
    assert.deepEqual(alice?.get('mail'), ['alice@example.com']);
  });

  describe('bind_mode cached', () => {
    /** Binds (ldapwhoami) and reports whether the bind flow ran. */
    const bind = async (user: string): Promise<{ code: number; flow: boolean }> => {
      const since = o.core.admin.requests().length;
      const r = await run('ldapwhoami', ['-H', o.url, ...auth(user)]);
      return { code: r.code, flow: flowRequests(o.core, since).some((x) => x.path === '/api/v3/flows/executor/id-password-flow/') };
    };

    before(async () => {
      o.core.admin.updateProvider(PROVIDER, { bind_mode: 'cached' });
      await o.refresh();
    });
    after(async () => {
      o.core.admin.updateProvider(PROVIDER, { bind_mode: 'direct' });
      await o.refresh();
    });

    it('the cached bind keeps its core session: unbind does not end it (a logout would come back as SESSION_END)', async () => {
      // Sessions of earlier direct binds may still be ending in the background.
      await waitFor('erin\'s earlier sessions to end', () => sessionsOf('erin').length === 0);
      assert.deepEqual(await bind('erin'), { code: 0, flow: true });
      const erin = sessionsOf('erin');
      assert.equal(erin.length, 1, 'the session that vouches for the cached bind is alive after the unbind');
      assert.deepEqual(await bind('erin'), { code: 0, flow: false }, 'served from the cache');
      assert.deepEqual(sessionsOf('erin'), erin, 'no new session for a cached bind');
    });

    it('SESSION_END drops the cached bind (the next bind runs the flow) and closes the connections bound from it', async () => {
      assert.equal((await bind('alice')).code, 0);
      assert.deepEqual(await bind('alice'), { code: 0, flow: false });
      const fromCache = await RawClient.connect(o.ldapPort);
      assert.equal((await fromCache.bind(1, U('alice'), PASSWORDS['alice']!)).resultCode, ResultCode.success);
      const lines = o.outpost.logs.lines.length;
      assert.ok(o.core.admin.endSessions('alice') >= 1);
      await within(fromCache.closed, 1500, 'closing the connection bound from the cache');
      assert.equal(fromCache.responses.find(isNotice)?.resultCode, ResultCode.unavailable);
      await waitFor('the cached bind to be dropped', () => o.outpost.logs.lines.slice(lines).some((l) => typeof l['cached_binds'] === 'number' && l['cached_binds'] > 0), 2000);
      assert.deepEqual(await bind('alice'), { code: 0, flow: true }, 'the core decides again');
      assert.deepEqual(await bind('alice'), { code: 0, flow: false });
    });
  });
});
