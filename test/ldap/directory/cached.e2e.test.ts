// search_mode: cached against the development core: one shared snapshot per core, atomic
// refresh, a failed refresh keeps the last good snapshot, non-privileged viewers created after
// the last refresh, and a 10,000-user directory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DevCore } from '../../../src/devcore/index.ts';
import { startDevCore } from '../../../src/devcore/index.ts';
import { CoreApi, createDispatcher } from '../../../src/agent/core-api.ts';
import { ResultCode, type SearchRequest } from '../../../src/ldap/protocol/index.ts';
import { LdapDirectory, PagingStore, SnapshotRegistry, type Viewer } from '../../../src/ldap/directory/index.ts';
import { userAgent } from '../../../src/version.ts';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { B, BASE, dns, provider, request, TEST_SEED } from './helpers.ts';

const all: Viewer = { kind: 'all' };
const paging = new PagingStore();
const run = (dir: LdapDirectory, req: SearchRequest, viewer: Viewer = all) => dir.search({ viewer, request: req, controls: [], paging });
const listCalls = (core: DevCore, path: string) => core.admin.requests().filter((r) => r.path === path).length;

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`cached mode (authentik ${authentikVersion})`, () => {
  let core: DevCore;
  const dispatcher = createDispatcher({ insecure: false });
  let api: CoreApi;
  let registry: SnapshotRegistry;

  before(async () => {
    core = await startDevCore({ seed: TEST_SEED, port: 0, authentikVersion });
    api = new CoreApi({ host: new URL(core.url), token: 'test-ldap-token', userAgent: userAgent(), dispatcher, timeoutMs: 2000 });
  });
  after(async () => {
    await core.close();
    await dispatcher.close();
  });

  const cachedDir = (base = BASE, extra: Partial<Parameters<typeof provider>[0]> = {}) =>
    new LdapDirectory({ provider: provider({ search_mode: 'cached', base_dn: base, ...extra }), api, registry });

  it('two providers of one core share one snapshot, each with its own DNs', async () => {
    registry = new SnapshotRegistry();
    core.admin.clearRequests();
    const a = cachedDir();
    const b = cachedDir('dc=second,dc=example', { pk: 2, name: 'second', uid_start_number: 5000 });
    try {
      assert.equal(a.cache, b.cache);
      assert.equal(registry.size, 1);
      await Promise.all([a.start(), b.start()]);
      assert.equal(listCalls(core, '/api/v3/core/users/'), 1, 'one load for both');
      assert.equal(a.cache!.snapshot, b.cache!.snapshot);
      const ra = await run(a, request(BASE, 2, '(cn=alice)'));
      const rb = await run(b, request('dc=second,dc=example', 2, '(&(objectClass=user)(cn=alice))'));
      assert.deepEqual(dns(ra.entries), [`cn=alice,ou=users,${B}`, `cn=alice,ou=virtual-groups,${B}`]);
      assert.deepEqual(dns(rb.entries), ['cn=alice,ou=users,dc=second,dc=example']);
      assert.notDeepEqual(ra.entries[0]!.get('uidnumber'), rb.entries[0]!.get('uidnumber'));
      await a.refresh();
      assert.equal(listCalls(core, '/api/v3/core/users/'), 2, 'a refresh reloads once for both');
      assert.equal(a.cache!.snapshot, b.cache!.snapshot);
    } finally {
      a.close();
      b.close();
    }
    assert.equal(registry.size, 0, 'released when the last provider closes');
  });

  it('shows changes only after a refresh; the swap is atomic', async () => {
    registry = new SnapshotRegistry();
    const dir = cachedDir();
    try {
      await dir.start();
      const before = (await run(dir, request(`ou=users,${B}`, 1, '(objectClass=*)'))).entries.length;
      core.admin.addUser({ username: 'newcomer', name: 'New Comer', groups: ['staff'] });
      assert.deepEqual((await run(dir, request(BASE, 2, '(cn=newcomer)'))).entries, [], 'not before the refresh (§10 item 42)');

      // While the refresh is loading, searches still see the complete old snapshot.
      const old = dir.cache!.snapshot;
      core.admin.setFaults({ pathPrefix: '/api/v3/core/users/', latencyMs: 400 });
      const refreshing = dir.refresh();
      await new Promise((r) => setTimeout(r, 150));
      const during = await run(dir, request(`ou=users,${B}`, 1, '(objectClass=*)'));
      assert.equal(during.entries.length, before);
      assert.equal(dir.cache!.snapshot, old, 'still the old snapshot while loading');
      await refreshing;
      core.admin.clearFaults();
      assert.notEqual(dir.cache!.snapshot, old);

      const after = await run(dir, request(`ou=users,${B}`, 1, '(objectClass=*)'));
      assert.equal(after.entries.length, before + 1);
      const staff = await run(dir, request(`cn=staff,ou=groups,${B}`, 0, '(objectClass=*)'));
      assert.ok(staff.entries[0]!.get('member')!.includes(`cn=newcomer,ou=users,${B}`));
    } finally {
      core.admin.clearFaults();
      dir.close();
    }
  });

  it('a failed refresh keeps the last good snapshot', async () => {
    registry = new SnapshotRegistry();
    const dir = cachedDir();
    try {
      await dir.start();
      const snap = dir.cache!.snapshot;
      core.admin.addUser({ username: 'latecomer' });
      // The groups load, the users fail: nothing of the new load becomes visible.
      core.admin.setFaults({ pathPrefix: '/api/v3/core/users/', failStatus: 503 });
      await assert.rejects(dir.refresh());
      assert.equal(dir.cache!.snapshot, snap);
      const r = await run(dir, request(BASE, 2, '(cn=alice)'));
      assert.equal(r.result.resultCode, ResultCode.success);
      assert.equal(r.entries.length, 2);
      assert.deepEqual((await run(dir, request(BASE, 2, '(cn=latecomer)'))).entries, []);
      core.admin.clearFaults();
      await dir.refresh();
      assert.equal((await run(dir, request(BASE, 2, '(cn=latecomer)'))).entries.length, 2);
    } finally {
      core.admin.clearFaults();
      dir.close();
    }
  });

  it('no snapshot yet and the core is down: unavailable, then it loads once the core is back', async () => {
    registry = new SnapshotRegistry();
    const dir = cachedDir();
    try {
      core.admin.setFaults({ pathPrefix: '/api/v3/core/', failStatus: 502 });
      const r = await run(dir, request(BASE, 2, '(cn=alice)'));
      assert.equal(r.result.resultCode, ResultCode.unavailable);
      core.admin.clearFaults();
      assert.equal((await run(dir, request(BASE, 2, '(cn=alice)'))).entries.length, 2);
    } finally {
      core.admin.clearFaults();
      dir.close();
    }
  });

  it('a non-privileged user created after the last refresh is read from the core', async () => {
    registry = new SnapshotRegistry();
    const dir = cachedDir();
    try {
      await dir.start();
      const pk = core.admin.addUser({ username: 'fresh', name: 'Fresh User', groups: ['vpn'] });
      core.admin.clearRequests();
      const r = await run(dir, request(BASE, 2, '(objectClass=*)'), { kind: 'self', userPk: pk });
      assert.equal(r.result.resultCode, ResultCode.success);
      assert.deepEqual(dns(r.entries), [BASE, `ou=users,${B}`, `cn=fresh,ou=users,${B}`, `ou=groups,${B}`, `cn=vpn,ou=groups,${B}`, `ou=virtual-groups,${B}`, `cn=fresh,ou=virtual-groups,${B}`]);
      assert.deepEqual(core.admin.requests().map((x) => x.path), [`/api/v3/core/users/${pk}/`]);
      // A user in the snapshot costs no request.
      core.admin.clearRequests();
      const alicePk = Number(core.admin.getUser('alice')!['pk']);
      const a = await run(dir, request(`ou=users,${B}`, 1, '(objectClass=*)'), { kind: 'self', userPk: alicePk });
      assert.deepEqual(dns(a.entries), [`cn=alice,ou=users,${B}`]);
      assert.deepEqual(core.admin.requests(), []);
    } finally {
      dir.close();
    }
  });

  it('uses an index for (cn=...) lookups', async () => {
    registry = new SnapshotRegistry();
    const dir = cachedDir();
    try {
      await dir.start();
      const r = await run(dir, request(BASE, 2, '(&(objectClass=posixAccount)(cn=bob))'));
      assert.deepEqual(dns(r.entries), [`cn=bob,ou=users,${B}`]);
      const view = dir.cache!.snapshot!.view(dir.layout, false);
      assert.ok((view.indexHits.get('users:cn') ?? 0) > 0);
      assert.ok(view.builtIndexes().includes('users:cn'));
      // A refresh rebuilds the indexes in use before the swap.
      await dir.refresh();
      assert.ok(dir.cache!.snapshot!.view(dir.layout, false).builtIndexes().includes('users:cn'));
    } finally {
      dir.close();
    }
  });
});

describe('cached mode with 10,000 users', () => {
  let core: DevCore;
  const dispatcher = createDispatcher({ insecure: false });
  before(async () => {
    core = await startDevCore({ seed: TEST_SEED, port: 0, extraUsers: 10_000 });
  });
  after(async () => {
    await core.close();
    await dispatcher.close();
  });

  it('loads and answers lookups and a full search', async () => {
    const api = new CoreApi({ host: new URL(core.url), token: 'test-ldap-token', userAgent: userAgent(), dispatcher, timeoutMs: 10_000 });
    const dir = new LdapDirectory({ provider: provider({ search_mode: 'cached' }), api, registry: new SnapshotRegistry() });
    try {
      await dir.start();
      assert.ok(dir.cache!.snapshot!.data.users.length >= 10_000);
      const one = await run(dir, request(BASE, 2, '(cn=user5000)'));
      assert.deepEqual(dns(one.entries), [`cn=user5000,ou=users,${B}`, `cn=user5000,ou=virtual-groups,${B}`]);
      const users = await run(dir, request(`ou=users,${B}`, 1, '(objectClass=user)'));
      assert.equal(users.entries.length, dir.cache!.snapshot!.data.users.length);
      const group = await run(dir, request(BASE, 2, `(memberOf=cn=group7,ou=groups,${B})`));
      assert.equal(group.entries.length, 100);
    } finally {
      dir.close();
    }
  });
});
