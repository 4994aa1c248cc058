// Admin operations of the development core: the HTTP admin API, fault injection, listener
// outages, recorded requests, bench users, and seed validation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { parseSeed, SeedError, type DevCore } from '../../src/devcore/index.ts';
import { ADMIN_TOKEN, bearer, FlowClient, http, LDAP_TOKEN, startTestCore } from './helpers.ts';

describe('admin', () => {
  let core: DevCore;
  const admin = (method: string, path: string, body?: unknown, token = ADMIN_TOKEN) =>
    http(core.url, method, `/_devcore${path}`, { headers: token ? bearer(token) : {}, ...(body !== undefined ? { body } : {}) });

  before(async () => {
    core = await startTestCore();
  });
  after(() => core.close());

  describe('HTTP admin API', () => {
    it('needs the admin token', async () => {
      assert.equal((await admin('GET', '/', undefined, '')).status, 401);
      assert.equal((await admin('GET', '/', undefined, LDAP_TOKEN)).status, 403);
      const ok = await admin('GET', '/');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json.outposts.map((o: { name: string }) => o.name).sort(), ['test-ldap', 'test-proxy', 'test-radius']);
    });

    it('creates, changes and deletes users; the new password works in a flow', async () => {
      const created = await admin('POST', '/users', { username: 'zed', password: 'zed-password', groups: ['vpn'], email: 'zed@example.com' });
      assert.equal(created.status, 201);
      assert.equal(typeof created.json.pk, 'number');
      const login = async (password: string) => {
        const c = new FlowClient(core.url);
        const url = '/api/v3/flows/executor/id-embedded-flow/';
        await c.get(url);
        let res = await c.post(url, { component: 'ak-stage-identification', uid_field: 'zed', password });
        while (res.status === 302) res = await c.get(url);
        return res.json.component as string;
      };
      assert.equal(await login('zed-password'), 'xak-flow-redirect');
      assert.equal((await admin('PATCH', '/users/zed', { password: 'new-password', name: 'Zed' })).status, 200);
      assert.equal(await login('zed-password'), 'ak-stage-identification');
      assert.equal(await login('new-password'), 'xak-flow-redirect');
      assert.equal((await admin('GET', '/users/zed')).json.name, 'Zed');
      assert.equal((await admin('PUT', '/users/zed/groups', { groups: ['staff'] })).status, 200);
      assert.deepEqual((await admin('GET', '/users/zed')).json.groups_obj.map((g: { name: string }) => g.name), ['staff']);
      assert.equal((await admin('DELETE', '/users/zed')).status, 204);
      assert.equal((await admin('GET', '/users/zed')).status, 404);
    });

    it('validates bodies with clear messages', async () => {
      const bad = await admin('POST', '/users', { username: 'x', is_active: 'yes' });
      assert.equal(bad.status, 400);
      assert.match(bad.json.detail, /is_active/);
      const unknownKey = await admin('POST', '/users', { username: 'x', colour: 'red' });
      assert.equal(unknownKey.status, 400);
      assert.match(unknownKey.json.detail, /colour/);
      const badJson = await http(core.url, 'POST', '/_devcore/users', { headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' }, rawBody: '{nope' });
      assert.equal(badJson.status, 400);
      assert.match(badJson.json.detail, /^JSON parse error - /);
      assert.equal((await admin('PATCH', '/users/nobody', { name: 'x' })).status, 404);
      assert.equal((await admin('POST', '/users', { username: 'alice' })).status, 409);
      const provider = await admin('PATCH', '/providers/test-radius-provider', { base_dn: 'dc=x' });
      assert.equal(provider.status, 400, 'radius providers have no base_dn');
    });

    it('groups, members, devices and application access', async () => {
      assert.equal((await admin('POST', '/groups', { name: 'auditors', parent: 'staff' })).status, 201);
      assert.equal((await admin('POST', '/groups/auditors/members', { username: 'erin' })).status, 200);
      const members = await http(core.url, 'GET', '/api/v3/core/groups/?name=auditors', { headers: bearer(LDAP_TOKEN) });
      assert.deepEqual(members.json.results[0].users_obj.map((u: { username: string }) => u.username), ['erin']);
      assert.equal((await admin('DELETE', '/groups/auditors/members/erin')).status, 204);
      assert.equal((await admin('DELETE', '/groups/auditors')).status, 204);
      const dev = await admin('POST', '/users/erin/devices', { type: 'static', tokens: ['erincode'] });
      assert.equal(dev.status, 201);
      assert.equal((await admin('PUT', '/applications/test-radius-app/access', { groups: null })).status, 200);
      assert.equal((await admin('PUT', '/applications/test-radius-app/access', { groups: ['vpn'] })).status, 200);
    });

    it('pushes to and drops outpost websockets; a data change sends TRIGGER_UPDATE', async () => {
      const pk = core.admin.outpost('test-ldap').pk;
      const ws = new WebSocket(`${core.url.replace(/^http/, 'ws')}/ws/outpost/${pk}/`, { headers: bearer(LDAP_TOKEN) });
      await once(ws, 'open');
      const received: unknown[] = [];
      ws.on('message', (d) => received.push(JSON.parse(d.toString())));
      assert.deepEqual((await admin('PATCH', '/users/alice', { name: 'Alice Renamed' })).json, { ok: true });
      assert.deepEqual((await admin('POST', '/outposts/test-ldap/push', { instruction: 3, args: { hello: 1 } })).json, { sent: 1 });
      await waitFor(() => received.length >= 2);
      assert.deepEqual(received, [{ instruction: 2, args: {} }, { instruction: 3, args: { hello: 1 } }]);
      const conns = await admin('GET', '/outposts/test-ldap/websockets');
      assert.ok(conns.json.some((c: { closedAt?: number }) => c.closedAt === undefined));
      const closed = once(ws, 'close');
      assert.deepEqual((await admin('POST', '/outposts/test-ldap/drop')).json, { dropped: 1 });
      await closed;
      await admin('PATCH', '/users/alice', { name: 'Alice Example' });
    });

    it('adds flows and replaces their stages', async () => {
      assert.equal((await admin('POST', '/flows', { slug: 'made-by-test', stages: [{ kind: 'identification', password_stage: true }, { kind: 'user_login' }] })).status, 201);
      const c = new FlowClient(core.url);
      assert.equal((await c.get('/api/v3/flows/executor/made-by-test/')).json.component, 'ak-stage-identification');
      assert.equal((await admin('PUT', '/flows/made-by-test/stages', { stages: [{ kind: 'deny', message: 'closed' }] })).status, 200);
      const fresh = await new FlowClient(core.url).get('/api/v3/flows/executor/made-by-test/');
      assert.equal(fresh.json.component, 'ak-stage-access-denied');
      assert.equal(fresh.json.error_message, 'closed');
      const bad = await admin('PUT', '/flows/made-by-test/stages', { stages: [{ kind: 'teleport' }] });
      assert.equal(bad.status, 400);
    });

    it('rotates a certificate: new fingerprint, TRIGGER_UPDATE to its outpost', async () => {
      const before = core.admin.certificate('test-ldap-cert');
      const res = await admin('POST', '/certificates/test-ldap-cert/rotate');
      assert.equal(res.status, 200);
      assert.notEqual(res.json.fingerprint_sha256, before.fingerprint_sha256);
      const kp = await http(core.url, 'GET', `/api/v3/crypto/certificatekeypairs/${before.pk}/`, { headers: bearer(LDAP_TOKEN) });
      assert.equal(kp.json.fingerprint_sha256, res.json.fingerprint_sha256);
    });
  });

  describe('recorded requests', () => {
    it('records method, path, query and lower-case headers, but not admin calls', async () => {
      core.admin.clearRequests();
      await http(core.url, 'GET', '/api/v3/core/users/?page=2&page_size=3&groups_by_name=vpn&groups_by_name=staff', { headers: { ...bearer(LDAP_TOKEN), 'X-Custom': 'yes' } });
      await admin('GET', '/');
      const reqs = core.admin.requests();
      assert.equal(reqs.length, 1);
      const r = reqs[0];
      assert.equal(r?.method, 'GET');
      assert.equal(r?.path, '/api/v3/core/users/');
      assert.equal(r?.query['page'], '2');
      assert.deepEqual(r?.queryAll['groups_by_name'], ['vpn', 'staff']);
      assert.equal(r?.headers['authorization'], `Bearer ${LDAP_TOKEN}`);
      assert.equal(r?.headers['x-custom'], 'yes');
      assert.equal(r?.status, 200);
      assert.ok(typeof r?.at === 'number');
      const viaHttp = await admin('GET', '/requests');
      assert.equal(viaHttp.json.length, 1);
    });
  });

  describe('events', () => {
    it('keeps what outposts post, readable and clearable by action', async () => {
      core.admin.clearEvents();
      const post = (body: unknown, token = LDAP_TOKEN) => http(core.url, 'POST', '/api/v3/events/events/', { headers: token ? bearer(token) : {}, body });
      assert.equal((await post({ action: 'configuration_error', app: 'authentik.providers.proxy', context: { message: 'm' } })).status, 201);
      assert.equal((await post({ action: 'custom_', app: 'x' })).status, 201);
      assert.equal((await post({ action: 'login', app: 'x' }, '')).status, 403);
      assert.equal((await post({ app: 'x' })).status, 400);
      assert.deepEqual(core.admin.events().map((e) => e.action), ['configuration_error', 'custom_']);
      const first = core.admin.events()[0]!;
      assert.deepEqual([first.user, first.context, first.client_ip, first.brand], [{}, { message: 'm' }, null, {}]);
      assert.ok(Date.parse(first.expires) > Date.parse(first.created));
      const viaHttp = await admin('GET', '/events?action=configuration_error');
      assert.deepEqual(viaHttp.json, [first]);
      assert.equal((await admin('DELETE', '/events')).status, 200);
      assert.deepEqual(core.admin.events(), []);
    });
  });

  describe('faults', () => {
    it('latency on a path prefix only', async () => {
      core.admin.setFaults({ latencyMs: 250, pathPrefix: '/api/v3/root/' });
      try {
        let t = performance.now();
        assert.equal((await http(core.url, 'GET', '/api/v3/root/config/')).status, 200);
        assert.ok(performance.now() - t >= 240);
        t = performance.now();
        await http(core.url, 'GET', '/api/v3/core/brands/current/');
        assert.ok(performance.now() - t < 200);
      } finally {
        core.admin.clearFaults();
      }
    });

    it('failStatus for the next N matching requests, with a detail body', async () => {
      core.admin.setFaults({ pathPrefix: '/api/v3/outposts/', failStatus: 503, failCount: 2 });
      try {
        for (let i = 0; i < 2; i++) {
          const res = await http(core.url, 'GET', '/api/v3/outposts/instances/', { headers: bearer(LDAP_TOKEN) });
          assert.equal(res.status, 503);
          assert.equal(typeof res.json.detail, 'string');
        }
        assert.equal((await http(core.url, 'GET', '/api/v3/outposts/instances/', { headers: bearer(LDAP_TOKEN) })).status, 200);
      } finally {
        core.admin.clearFaults();
      }
    });

    it('garbage: 200 with a body that is not JSON; set over HTTP too', async () => {
      assert.equal((await admin('POST', '/faults', { pathPrefix: '/api/v3/root/config/', garbage: true, failCount: 1 })).status, 200);
      const res = await http(core.url, 'GET', '/api/v3/root/config/');
      assert.equal(res.status, 200);
      assert.equal(res.json, undefined);
      assert.throws(() => JSON.parse(res.text));
      assert.equal((await http(core.url, 'GET', '/api/v3/root/config/')).json.cache_timeout_flows, 300);
      assert.equal((await admin('POST', '/faults', { failStatus: 42 })).status, 400);
      assert.equal((await admin('DELETE', '/faults')).status, 200);
    });

    it('stopListening / startListening: refused, then the same port again with the state kept', async () => {
      core.admin.addUser({ username: 'survivor', password: 'x' });
      await core.admin.stopListening();
      try {
        // A pooled keep-alive connection may first see "other side closed"; then connects are refused.
        await assert.rejects(http(core.url, 'GET', '/api/v3/root/config/'));
        await assert.rejects(http(core.url, 'GET', '/api/v3/root/config/'), (err: Error & { code?: string }) => err.code === 'ECONNREFUSED');
      } finally {
        await core.admin.startListening();
      }
      const res = await http(core.url, 'GET', '/api/v3/core/users/?username=survivor', { headers: bearer(LDAP_TOKEN) });
      assert.equal(res.json.pagination.count, 1);
    });

    it('an outage requested over HTTP ends by itself', async () => {
      assert.equal((await admin('POST', '/listener/outage', { ms: 300 })).status, 202);
      await waitFor(async () => {
        try {
          await http(core.url, 'GET', '/api/v3/root/config/');
          return false;
        } catch {
          return true;
        }
      });
      await waitFor(async () => {
        try {
          return (await http(core.url, 'GET', '/api/v3/root/config/')).status === 200;
        } catch {
          return false;
        }
      }, 3000);
    });
  });
});

describe('DEMO_USERS bench users', () => {
  let core: DevCore;
  before(async () => {
    core = await startTestCore({ extraUsers: 100_000 });
  });
  after(() => core.close());
  const get = (q: string) => http(core.url, 'GET', `/api/v3/core/users/?${q}`, { headers: bearer(LDAP_TOKEN) });

  it('adds 100000 users in group1..group100 and vpn', async () => {
    const all = await get('page_size=1');
    assert.ok(all.json.pagination.count >= 100_000);
    const g7 = await get('groups_by_name=group7&page_size=100');
    assert.equal(g7.json.pagination.count, 1000);
    assert.equal(g7.json.pagination.total_pages, 10);
    const u = (await get('username=user12345')).json.results[0];
    assert.deepEqual(u.groups_obj.map((g: { name: string }) => g.name).sort(), ['group46', 'vpn']);
    assert.equal(u.email, 'user12345@example.com');
    const vpn = await get('groups_by_name=vpn&page_size=1');
    assert.ok(vpn.json.pagination.count >= 100_000);
  });

  it('paginates through them in username order', async () => {
    const p1 = await get('groups_by_name=group1&page_size=100&page=1');
    const p10 = await get('groups_by_name=group1&page_size=100&page=10');
    assert.equal(p1.json.pagination.next, 2);
    assert.equal(p10.json.pagination.next, 0);
    const names = [...p1.json.results, ...p10.json.results].map((r: { username: string }) => r.username);
    assert.deepEqual([...names].sort(), names);
    const last = await get('page_size=1000&page=last');
    assert.equal(last.json.pagination.next, 0);
  });

  it('bench users log in with the shared password', async () => {
    const c = new FlowClient(core.url);
    const url = '/api/v3/flows/executor/id-embedded-flow/';
    await c.get(url);
    let res = await c.post(url, { component: 'ak-stage-identification', uid_field: 'user99999', password: 'bench-pass' });
    while (res.status === 302) res = await c.get(url);
    assert.equal(res.json.component, 'xak-flow-redirect');
  });
});

describe('seed validation', () => {
  it('names the offending field', () => {
    assert.throws(
      () => parseSeed({ groups: [{ name: 'a' }], users: [{ username: 'u', groups: ['nope'] }] }),
      (err: Error) => err instanceof SeedError && /users\.0\.groups\.0: unknown group "nope"/.test(err.message),
    );
    assert.throws(() => parseSeed({ users: [{ username: 'u', pasword: 'x' }] }), /pasword/);
    assert.throws(
      () => parseSeed({ flows: [{ slug: 'f', stages: [] }], providers: [{ type: 'radius', name: 'r', auth_flow: 'missing', shared_secret: 's' }] }),
      /providers\.0\.auth_flow: unknown flow "missing"/,
    );
    assert.throws(
      () =>
        parseSeed({
          flows: [{ slug: 'f' }],
          providers: [{ type: 'radius', name: 'r', auth_flow: 'f', shared_secret: 's' }],
          outposts: [{ name: 'o', type: 'ldap', token: 't', providers: ['r'] }],
        }),
      /outposts\.0\.providers\.0: provider "r" is of type radius/,
    );
  });

  it('accepts an empty seed with defaults', () => {
    const seed = parseSeed({});
    assert.equal(seed.admin_token, 'devcore-admin');
    assert.equal(seed.root_config.cache_timeout_flows, 300);
    assert.equal(seed.mfa.duo_delay_ms, 200);
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}
