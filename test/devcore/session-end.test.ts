// Core sessions ending, as the outposts hear of it: in 2026.8 mode SESSION_END (instruction 4)
// to every outpost with the hex SHA-256 of the session key (the `sid` of the session cookie);
// in 2024.4 mode the older provider-specific logout to proxy outposts only, with the same hash.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DevCore } from '../../src/devcore/index.ts';
import { sessionIdOf } from '../../src/flow/session-id.ts';
import { ADMIN_TOKEN, bearer, http, LDAP_TOKEN, loginAs, openOutpostSocket, PROXY_TOKEN, RADIUS_TOKEN, sidOf, startTestCore, until, type OutpostSocket } from './helpers.ts';

const hashOf = (sid: string) => createHash('sha256').update(sid, 'ascii').digest('hex');
const OUTPOSTS: [string, string][] = [
  ['test-ldap', LDAP_TOKEN],
  ['test-radius', RADIUS_TOKEN],
  ['test-proxy', PROXY_TOKEN],
];

function ends(s: OutpostSocket): string[] {
  return s.messages.filter((m) => m.instruction === 4).map((m) => String(m.args['session_id']));
}

describe('SESSION_END (2026.8)', () => {
  let core: DevCore;
  let sockets: OutpostSocket[];
  /** Every outpost socket got exactly these session ends since the last reset. */
  const allGot = async (ids: string[]) => {
    await until(`SESSION_END for ${ids.length} session(s) on every outpost`, () => sockets.every((s) => ends(s).length >= ids.length));
    for (const s of sockets) assert.deepEqual(ends(s).sort(), [...ids].sort());
    for (const s of sockets) for (const m of s.messages.filter((x) => x.instruction === 4)) assert.deepEqual(Object.keys(m.args).sort(), ['session_id', 'type']);
    for (const s of sockets) s.messages.length = 0;
  };

  before(async () => {
    core = await startTestCore({ authentikVersion: '2026.8' });
    sockets = await Promise.all(OUTPOSTS.map(([name, token]) => openOutpostSocket(core, name, token)));
  });
  after(async () => {
    for (const s of sockets) s.close();
    await core.close();
  });

  it('admin endSessions: every outpost hears of each logged-in session, by the hash of its key', async () => {
    const a = await loginAs(core.url, 'alice', 'alice-password');
    const b = await loginAs(core.url, 'alice', 'alice-password');
    const other = await loginAs(core.url, 'erin', 'erin-password');
    const ids = [hashOf(sidOf(a.cookie)), hashOf(sidOf(b.cookie))];
    assert.equal(sessionIdOf(a.cookie ?? ''), ids[0], 'the id the outposts derive from the same cookie');
    assert.equal(core.admin.endSessions('alice'), 2);
    await allGot(ids);
    assert.equal((await a.get('/api/v3/core/users/me/')).status, 403);
    assert.equal((await other.get('/api/v3/core/users/me/')).status, 200, 'other users keep theirs');
  });

  it('the message is authentik\'s: instruction 4, args {type, session_id}; the HTTP admin API ends sessions too', async () => {
    core.admin.addUser({ username: 'hana', password: 'hana-password' });
    const c = await loginAs(core.url, 'hana', 'hana-password');
    const res = await http(core.url, 'DELETE', '/_devcore/sessions?username=hana', { headers: bearer(ADMIN_TOKEN) });
    assert.deepEqual(res.json, { ended: 1 });
    await until('the message', () => sockets.every((s) => ends(s).length === 1));
    for (const s of sockets) {
      assert.deepEqual(s.messages.find((m) => m.instruction === 4), { instruction: 4, args: { type: 'event.session.end', session_id: hashOf(sidOf(c.cookie)) } });
      s.messages.length = 0;
    }
  });

  it('a logout through the invalidation flow ends the session it logs out', async () => {
    const c = await loginAs(core.url, 'alice', 'alice-password');
    const id = hashOf(sidOf(c.cookie));
    const out = await c.get('/api/v3/flows/executor/default-invalidation-flow/');
    assert.equal(out.json.component, 'xak-flow-redirect');
    await allGot([id]);
  });

  it('deleting a user ends its sessions (and they are gone)', async () => {
    core.admin.addUser({ username: 'temp', password: 'temp-password' });
    const c = await loginAs(core.url, 'temp', 'temp-password');
    const id = hashOf(sidOf(c.cookie));
    core.admin.deleteUser('temp');
    await allGot([id]);
    assert.equal(core.admin.listSessions().some((s) => s.username === 'temp'), false);
  });

  it('deactivating a user ends its sessions for good (reactivation does not bring them back)', async () => {
    const c = await loginAs(core.url, 'erin', 'erin-password');
    // Every session of erin's ends (the first test left one open too).
    const ids = core.admin.listSessions().filter((x) => x.username === 'erin' && x.authenticated).map((x) => hashOf(x.session_key));
    assert.ok(ids.includes(hashOf(sidOf(c.cookie))));
    const res = await http(core.url, 'PATCH', '/_devcore/users/erin', { headers: bearer(ADMIN_TOKEN), body: { is_active: false } });
    assert.equal(res.status, 200);
    await allGot(ids);
    core.admin.updateUser('erin', { is_active: true });
    assert.equal((await c.get('/api/v3/core/users/me/')).status, 403);
  });

  it('anonymous sessions ending say nothing; neither does a change that ends no session', async () => {
    core.admin.endSessions();
    await sleep(100);
    for (const s of sockets) s.messages.length = 0;
    await http(core.url, 'GET', '/api/v3/flows/executor/id-embedded-flow/');
    assert.ok(core.admin.listSessions().length > 0);
    core.admin.endSessions();
    core.admin.updateUser('alice', { name: 'Alice Example' });
    await sleep(200);
    for (const s of sockets) assert.deepEqual(ends(s), []);
  });
});

describe('no SESSION_END in 2024.4 mode', () => {
  let core: DevCore;
  let sockets: OutpostSocket[];
  before(async () => {
    core = await startTestCore({ authentikVersion: '2024.4' });
    sockets = await Promise.all(OUTPOSTS.map(([name, token]) => openOutpostSocket(core, name, token)));
  });
  after(async () => {
    for (const s of sockets) s.close();
    await core.close();
  });

  it('session ends reach proxy outposts as a provider-specific logout, by the hash of the key; nothing else', async () => {
    const a = await loginAs(core.url, 'alice', 'alice-password');
    const b = await loginAs(core.url, 'erin', 'erin-password');
    const bSid = sidOf(b.cookie);
    core.admin.endSessions('alice');
    await b.get('/api/v3/flows/executor/default-invalidation-flow/');
    const [ldap, radius, proxy] = sockets as [OutpostSocket, OutpostSocket, OutpostSocket];
    await until('two logouts on the proxy outpost', () => proxy.messages.filter((m) => m.instruction === 3).length === 2);
    assert.deepEqual(
      proxy.messages.filter((m) => m.instruction === 3).map((m) => m.args),
      [sidOf(a.cookie), bSid].map((sid) => ({ type: 'event.provider.specific', sub_type: 'logout', session_id: hashOf(sid) })),
    );
    core.admin.addUser({ username: 'temp', password: 'temp-password' });
    await loginAs(core.url, 'temp', 'temp-password');
    core.admin.deleteUser('temp');
    await sleep(200);
    for (const s of sockets) assert.deepEqual(ends(s), []);
    for (const s of [ldap, radius]) assert.equal(s.messages.some((m) => m.instruction === 3), false);
  });
});
