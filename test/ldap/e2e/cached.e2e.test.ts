// The LDAP outpost end to end in its cached modes: `bind_mode: cached` (what is served from
// the cache, what never is, a core that is down, deactivation, expiry) and `search_mode:
// cached` (same answers as direct mode, new data only after a refresh).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { totpCode } from '../../../src/devcore/index.ts';
import { waitFor } from '../../support/wait.ts';
import {
  AUTHENTIK_VERSIONS,
  B,
  BOB_TOTP_SECRET,
  PASSWORDS,
  U,
  auth,
  closeClients,
  flowRequests,
  ldapsearch,
  parseLdif,
  run,
  startLdapOutpost,
  type LdapOutpost,
} from './support.ts';

after(closeClients);

const PROVIDER = 'test-ldap-provider';

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`LDAP outpost: bind_mode cached (authentik ${authentikVersion})`, () => {
  let o: LdapOutpost;
  const whoami = (user: string, password?: string) => run('ldapwhoami', ['-H', o.url, ...auth(user, password)]);
  /** Binds and reports whether the core was asked (flow, access check or users/me). */
  const bind = async (user: string, password?: string): Promise<{ code: number; core: boolean }> => {
    const since = o.core.admin.requests().length;
    const r = await whoami(user, password);
    // ldapwhoami unbinds; a bind that ran a flow gets its session ended by the logout flow: ignore that one.
    const asked = o.core.admin
      .requests()
      .slice(since)
      .some((x) => (x.path.startsWith('/api/v3/flows/executor/') && !x.path.includes('invalidation') && !x.rawQuery.includes('ldap-warmup')) || x.path.endsWith('/check_access/') || x.path === '/api/v3/core/users/me/');
    return { code: r.code, core: asked };
  };

  before(async () => {
    o = await startLdapOutpost({ authentikVersion });
    o.core.admin.updateProvider(PROVIDER, { bind_mode: 'cached' });
    await o.refresh();
  });
  after(() => o?.stop());

  it('the second bind is served from the cache without asking the core', async () => {
    assert.deepEqual(await bind('alice'), { code: 0, core: true });
    assert.deepEqual(await bind('alice'), { code: 0, core: false });
    assert.ok(o.outpost.logs.has(/authenticated from session/));
    // Another DN form of the same user is another cache key: the core decides.
    assert.deepEqual(await bind(`uid=alice,ou=users,${B}`, PASSWORDS['alice']), { code: 0, core: true });
  });

  it('a wrong password is never served from the cache (and drops the cached bind)', async () => {
    assert.deepEqual(await bind('alice'), { code: 0, core: false });
    assert.deepEqual(await bind('alice', 'wrong-password'), { code: 49, core: true });
    assert.deepEqual(await bind('alice', 'wrong-password'), { code: 49, core: true }, 'failures are not cached');
    assert.deepEqual(await bind('alice'), { code: 0, core: true }, 'the next good bind asks the core again');
  });

  it('a password change: the old password keeps working until expiry (as authentik), the new one replaces it', async (t) => {
    t.after(() => o.core.admin.updateUser('alice', { password: PASSWORDS['alice']! }));
    assert.equal((await bind('alice')).code, 0);
    o.core.admin.updateUser('alice', { password: 'alice-new-password' });
    await o.refresh();
    assert.deepEqual(await bind('alice'), { code: 0, core: false }, 'cache hit (bounded by the TTL)');
    assert.deepEqual(await bind('alice', 'alice-new-password'), { code: 0, core: true });
    assert.deepEqual(await bind('alice'), { code: 49, core: true }, 'the old password is no longer cached');
  });

  it('deactivating the user, then a refresh, drops the cached bind', async (t) => {
    t.after(() => o.core.admin.updateUser('dave', { is_active: true }));
    // dave needs no code for a cached bind, but his first bind does.
    assert.deepEqual(await bind('dave', `${PASSWORDS['dave']};stat5678`), { code: 0, core: true });
    assert.deepEqual(await bind('dave', `${PASSWORDS['dave']};stat5678`), { code: 0, core: false });
    o.core.admin.updateUser('dave', { is_active: false });
    await o.refresh();
    assert.deepEqual(await bind('dave', `${PASSWORDS['dave']};stat5678`), { code: 49, core: true });
  });

  it('a provider change that binds do not depend on keeps the cache; a new bind flow drops it', async (t) => {
    t.after(() => o.core.admin.updateProvider(PROVIDER, { bind_flow: 'id-password-flow', search_mode: 'direct' }));
    assert.equal((await bind('alice')).code, 0);
    o.core.admin.updateProvider(PROVIDER, { search_mode: 'cached' });
    await o.refresh();
    assert.deepEqual(await bind('alice'), { code: 0, core: false }, 'carried over (as authentik, by provider pk)');
    o.core.admin.updateProvider(PROVIDER, { bind_flow: 'id-embedded-flow' });
    await o.refresh();
    const since = o.core.admin.requests().length;
    assert.deepEqual(await bind('alice'), { code: 0, core: true }, 'binds made through the old flow are not trusted');
    assert.ok(flowRequests(o.core, since).some((r) => r.path === '/api/v3/flows/executor/id-embedded-flow/'));
    o.core.admin.updateProvider(PROVIDER, { bind_flow: 'id-password-flow', search_mode: 'direct' });
    await o.refresh();
  });

  it('a cached bind keeps the core session that vouches for it until it leaves the cache (here: a failed bind)', async () => {
    const sessions = () => o.core.admin.listSessions().filter((s) => s.username === 'erin' && s.authenticated).length;
    await waitFor('no session of erin', () => sessions() === 0);
    assert.deepEqual(await bind('erin'), { code: 0, core: true });
    assert.equal(sessions(), 1, 'the unbind did not end it: the cache owns it');
    assert.deepEqual(await bind('erin'), { code: 0, core: false });
    assert.deepEqual(await bind('erin', 'wrong-password'), { code: 49, core: true });
    await waitFor('the dropped bind\'s session to end', () => sessions() === 0);
  });

  it('core down: a cached bind still succeeds; anything else is unavailable (52), never a success', async (t) => {
    assert.equal((await bind('alice')).code, 0);
    assert.equal((await bind('alice')).core, false);
    await o.core.admin.stopListening();
    t.after(() => o.core.admin.startListening());
    assert.equal((await whoami('alice')).code, 0, 'from the cache');
    const never = await whoami('erin');
    assert.equal(never.code, 52, never.stdout + never.stderr);
    assert.match(never.stderr, /Server is unavailable \(52\)/);
    const wrong = await whoami('alice', 'wrong-password');
    assert.equal(wrong.code, 52, 'a wrong password cannot be checked: unavailable, not success');
    // Bound from the cache, a direct-mode search needs the core: unavailable too.
    const search = await ldapsearch(o.url, [...auth('alice'), '-b', B, '(objectClass=user)', '1.1']);
    assert.equal(search.code, 52, search.stdout + search.stderr);
    await o.core.admin.startListening();
    assert.equal((await whoami('erin')).code, 0);
  });

  it('renaming the user, then a refresh, drops the cached bind (the old name no longer binds)', async (t) => {
    o.core.admin.addUser({ username: 'renee', password: 'renee-password' });
    t.after(() => o.core.admin.deleteUser('renee-renamed'));
    assert.deepEqual(await bind('renee', 'renee-password'), { code: 0, core: true });
    assert.deepEqual(await bind('renee', 'renee-password'), { code: 0, core: false });
    o.core.admin.updateUser('renee', { username: 'renee-renamed' });
    await o.refresh();
    assert.deepEqual(await bind('renee', 'renee-password'), { code: 49, core: true });
    assert.deepEqual(await bind('renee-renamed', 'renee-password'), { code: 0, core: true });
  });

  it('deleting the user, then a refresh, drops the cached bind', async () => {
    o.core.admin.addUser({ username: 'dora', password: 'dora-password' });
    assert.deepEqual(await bind('dora', 'dora-password'), { code: 0, core: true });
    assert.deepEqual(await bind('dora', 'dora-password'), { code: 0, core: false });
    o.core.admin.deleteUser('dora');
    await o.refresh();
    assert.deepEqual(await bind('dora', 'dora-password'), { code: 49, core: true });
  });
});

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`LDAP outpost: cached binds through an outage longer than the TTL (authentik ${authentikVersion})`, () => {
  // TTL 1 s, outage grace 1 h (the default): the outage below outlasts the TTL.
  let o: LdapOutpost;
  const whoami = (user: string, password?: string) => run('ldapwhoami', ['-H', o.url, ...auth(user, password)]);
  const graceLines = () => o.outpost.logs.lines.filter((l) => /serving cached binds past their TTL/.test(String(l['event'])));
  const ttl = 1000;

  before(async () => {
    o = await startLdapOutpost({ authentikVersion, env: { AUTHENTIK_LDAP__BIND_CACHE_TTL: '1s' }, beforeStart: (core) => core.admin.updateProvider(PROVIDER, { bind_mode: 'cached' }) });
  });
  after(async () => {
    await o?.core.admin.startListening();
    await o?.stop();
  });

  it('authentik unreachable: a bind cached before the outage is served past its TTL, with one warning; anything else is unavailable', async (t) => {
    const code = totpCode(BOB_TOTP_SECRET);
    const otherCode = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    assert.equal((await whoami('alice')).code, 0);
    assert.equal((await whoami('bob', `${PASSWORDS['bob']!};${code}`)).code, 0);
    await sleep(ttl + 100);
    await o.core.admin.stopListening();
    t.after(() => o.core.admin.startListening());
    const first = await whoami('alice');
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal((await whoami('alice')).code, 0);
    // `password;code` is the cached password as a whole: the same string replays, another code is another password.
    assert.equal((await whoami('bob', `${PASSWORDS['bob']!};${code}`)).code, 0);
    assert.equal((await whoami('bob', `${PASSWORDS['bob']!};${otherCode}`)).code, 52);
    assert.equal((await whoami('alice', 'wrong-password')).code, 52, 'a password the cache does not hold cannot be checked');
    assert.equal((await whoami('erin')).code, 52, 'never bound: unavailable');
    const lines = graceLines();
    assert.equal(lines.length, 1, 'one line when the grace starts being used');
    assert.equal(lines[0]!['level'], 'warning');
    assert.equal(lines[0]!['grace_ms'], 3_600_000);

    await o.core.admin.startListening();
    const since = o.core.admin.requests().length;
    assert.equal((await whoami('alice')).code, 0);
    assert.ok(flowRequests(o.core, since).length > 0, 'authentik reachable again: past the TTL, the core decides');
    assert.ok(o.outpost.logs.has(/authentik answers binds again/));
  });

  it('not when authentik answers: past the TTL, a password authentik refuses is refused', async (t) => {
    t.after(() => o.core.admin.updateUser('alice', { password: PASSWORDS['alice']! }));
    assert.equal((await whoami('alice')).code, 0);
    await sleep(ttl + 100);
    o.core.admin.updateUser('alice', { password: 'alice-new-password' });
    assert.equal((await whoami('alice')).code, 49);
    // And that refusal dropped it: an outage now does not bring the old password back.
    await o.core.admin.stopListening();
    t.after(() => o.core.admin.startListening());
    assert.equal((await whoami('alice')).code, 52);
  });
});

describe('LDAP outpost: AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE=0', () => {
  let o: LdapOutpost;

  before(async () => {
    o = await startLdapOutpost({ env: { AUTHENTIK_LDAP__BIND_CACHE_TTL: '1s', AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE: '0' }, beforeStart: (core) => core.admin.updateProvider(PROVIDER, { bind_mode: 'cached' }) });
  });
  after(async () => {
    await o?.core.admin.startListening();
    await o?.stop();
  });

  it('turns the grace off: past its TTL, a cached bind is unavailable while authentik is', async () => {
    const whoami = () => run('ldapwhoami', ['-H', o.url, ...auth('alice')]);
    assert.equal((await whoami()).code, 0);
    await o.core.admin.stopListening();
    assert.equal((await whoami()).code, 0, 'within the TTL: from the cache');
    await sleep(1100);
    assert.equal((await whoami()).code, 52);
  });
});

describe('LDAP outpost: bind cache expiry (AUTHENTIK_LDAP__BIND_CACHE_TTL=1s)', () => {
  let o: LdapOutpost;

  before(async () => {
    o = await startLdapOutpost({ env: { AUTHENTIK_LDAP__BIND_CACHE_TTL: '1s' }, beforeStart: (core) => core.admin.updateProvider(PROVIDER, { bind_mode: 'cached' }) });
  });
  after(() => o?.stop());

  it('an entry older than the TTL asks the core again', async () => {
    const flows = async () => {
      const since = o.core.admin.requests().length;
      const r = await run('ldapwhoami', ['-H', o.url, ...auth('alice')]);
      assert.equal(r.code, 0, r.stderr);
      return flowRequests(o.core, since).filter((x) => x.path.includes('id-password-flow')).length;
    };
    assert.ok((await flows()) > 0);
    assert.equal(await flows(), 0, 'cached');
    await sleep(1100);
    assert.ok((await flows()) > 0, 'expired');
  });
});

// One generation only (the devcore's default, 2026.8): the table costs ~4 s, and the same
// differential runs for both generations without processes in test/ldap/directory/search.e2e.
describe('LDAP outpost: search_mode cached', () => {
  let o: LdapOutpost;
  const FILTERS = [
    '(objectClass=*)',
    '(objectClass=user)',
    '(objectClass=group)',
    '(objectClass=posixGroup)',
    '(|(objectClass=user)(objectClass=group))',
    '(cn=alice)',
    '(cn=ALICE)',
    '(cn=a*)',
    '(cn=a*li*e)',
    '(mail=*@example.com)',
    `(memberOf=cn=staff,ou=groups,${B})`,
    `(member=${U('alice')})`,
    '(uidNumber>=2005)',
    '(&(objectClass=user)(!(ak-active=true)))',
    '(ak-superuser=true)',
    '(gidNumber=*)',
  ];
  const snapshot = async (user: string, base = B) => {
    const out: Record<string, unknown> = {};
    for (const f of FILTERS) {
      const r = await ldapsearch(o.url, [...auth(user), '-b', base, f]);
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
      const entries = parseLdif(r.stdout);
      out[f] = [...entries.entries()].map(([dn, attrs]) => [dn, [...attrs.entries()].sort()]).sort();
    }
    return out;
  };

  before(async () => {
    o = await startLdapOutpost();
  });
  after(async () => {
    o?.core.admin.refuseWebsockets(false);
    await o?.stop();
  });

  it('answers exactly as direct mode for a table of filters (akadmin and alice)', async () => {
    /** Directory reads from the core (not the binds' users/me). */
    const listings = (since: number) => o.core.admin.requests().slice(since).filter((r) => /^\/api\/v3\/core\/(users|groups)\/(\d+\/)?$/.test(r.path)).length;
    let since = o.core.admin.requests().length;
    const directAdmin = await snapshot('akadmin');
    const directAlice = await snapshot('alice');
    assert.ok(listings(since) >= FILTERS.length, 'direct mode reads the core on every search');
    assert.ok((directAdmin['(objectClass=*)'] as unknown[]).length > 30, 'the table is not trivially empty');
    o.core.admin.updateProvider(PROVIDER, { search_mode: 'cached' });
    await o.refresh();
    since = o.core.admin.requests().length;
    assert.deepEqual(await snapshot('akadmin'), directAdmin);
    assert.deepEqual(await snapshot('alice'), directAlice);
    assert.equal(listings(since), 0, 'cached mode answers from its snapshot');
  });

  it('a user added in the core appears only after a refresh', async () => {
    // The devcore pushes a refresh on every data change; real authentik does not for users
    // (spec §5.2). Cut the websocket so only our explicit refresh counts.
    o.core.admin.refuseWebsockets(true);
    o.core.admin.dropWebsockets('test-ldap');
    await waitFor('the websocket to close', () => o.core.admin.websocketConnections('test-ldap').every((c) => c.closedAt !== undefined));
    o.core.admin.addUser({ username: 'newbie', password: 'newbie-password', name: 'New Bie', groups: ['staff'] });
    const find = async () => {
      const r = await ldapsearch(o.url, [...auth('akadmin'), '-b', B, '(cn=newbie)', '1.1']);
      assert.equal(r.code, 0, r.stderr);
      return [...parseLdif(r.stdout).keys()];
    };
    assert.deepEqual(await find(), []);
    // The new user can bind (binds always go to the core) and sees their own entry at once.
    const self = await ldapsearch(o.url, [...auth('newbie', 'newbie-password'), '-b', B, '(objectClass=user)', '1.1']);
    assert.equal(self.code, 0, self.stderr);
    assert.deepEqual([...parseLdif(self.stdout).keys()], [U('newbie')]);
    await o.refresh();
    assert.deepEqual(await find(), [U('newbie'), `cn=newbie,ou=virtual-groups,${B}`]);
  });
});
