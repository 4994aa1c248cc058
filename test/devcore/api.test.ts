// REST API of the development core: authentication, token isolation, pagination and filters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { DevCore } from '../../src/devcore/index.ts';
import { bearer, http, LDAP_TOKEN, PROXY_TOKEN, RADIUS_TOKEN, startTestCore } from './helpers.ts';

describe('REST API', () => {
  let core: DevCore;
  const get = (path: string, token?: string) => http(core.url, 'GET', path, token ? { headers: bearer(token) } : {});
  const names = (res: { json: { results: { username?: string; name?: string }[] } }): string[] => res.json.results.map((r) => r.username ?? r.name ?? '');

  before(async () => {
    core = await startTestCore();
  });
  after(() => core.close());

  describe('authentication', () => {
    it('no credentials: 403 with DRF\'s message', async () => {
      const res = await get('/api/v3/outposts/instances/');
      assert.equal(res.status, 403);
      assert.deepEqual(res.json, { detail: 'Authentication credentials were not provided.' });
    });

    it('unknown token: 403 Token invalid/expired, even on open endpoints', async () => {
      for (const path of ['/api/v3/outposts/instances/', '/api/v3/root/config/', '/api/v3/core/brands/current/']) {
        const res = await get(path, 'not-a-token');
        assert.equal(res.status, 403, path);
        assert.deepEqual(res.json, { detail: 'Token invalid/expired' });
      }
    });

    it('another scheme is refused', async () => {
      const res = await http(core.url, 'GET', '/api/v3/outposts/instances/', { headers: { authorization: 'Basic YWxpY2U6eA==' } });
      assert.equal(res.status, 403);
      assert.deepEqual(res.json, { detail: 'Unsupported authentication type' });
    });

    it('root config and the current brand need no credentials', async () => {
      assert.equal((await get('/api/v3/root/config/')).status, 200);
      const brand = await get('/api/v3/core/brands/current/');
      assert.equal(brand.status, 200);
      assert.equal(brand.json.flow_invalidation, 'default-invalidation-flow');
      assert.equal(brand.json.matched_domain, 'authentik-default');
    });
  });

  describe('token isolation', () => {
    it('each token sees only its own outpost', async () => {
      for (const [token, name] of [
        [LDAP_TOKEN, 'test-ldap'],
        [RADIUS_TOKEN, 'test-radius'],
        [PROXY_TOKEN, 'test-proxy'],
      ] as const) {
        const res = await get('/api/v3/outposts/instances/', token);
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.results.map((o: { name: string }) => o.name), [name]);
        const o = res.json.results[0];
        assert.equal(o.token_identifier, `ak-outpost-${o.pk}-api`);
        assert.equal('refresh_interval_s' in o, false, 'refresh_interval_s came after 2024.4');
        assert.equal(o.config.log_level, 'debug');
      }
    });

    it('provider lists hold only the token\'s providers that have an application', async () => {
      const ldap = await get('/api/v3/outposts/ldap/', LDAP_TOKEN);
      assert.deepEqual(ldap.json.results.map((p: { name: string }) => p.name), ['test-ldap-provider']);
      const p = ldap.json.results[0];
      assert.equal(p.bind_flow_slug, 'id-password-flow');
      assert.equal(p.application_slug, 'test-ldap-app');
      assert.match(p.search_group, /^[0-9a-f-]{36}$/);
      assert.match(p.certificate, /^[0-9a-f-]{36}$/);
      assert.equal((await get('/api/v3/outposts/radius/', LDAP_TOKEN)).json.results.length, 0);
      const radius = await get('/api/v3/outposts/radius/', RADIUS_TOKEN);
      assert.deepEqual(radius.json.results, [
        { pk: 2, name: 'test-radius-provider', application_slug: 'test-radius-app', auth_flow_slug: 'radius-test-flow', client_networks: '127.0.0.0/8, ::1/128', shared_secret: 'test-radius-secret', mfa_support: true },
      ]);
      const proxy = await get('/api/v3/outposts/proxy/', PROXY_TOKEN);
      assert.equal(proxy.json.results[0].external_host, 'http://localhost:9000');
      assert.equal(proxy.json.results[0].mode, 'proxy');
      assert.equal(proxy.json.results[0].access_token_validity, 86400);
    });

    it('health of another outpost is 404', async () => {
      const radius = (await get('/api/v3/outposts/instances/', RADIUS_TOKEN)).json.results[0];
      assert.equal((await get(`/api/v3/outposts/instances/${radius.pk}/health/`, LDAP_TOKEN)).status, 404);
      assert.deepEqual((await get(`/api/v3/outposts/instances/${radius.pk}/health/`, RADIUS_TOKEN)).json, []);
    });

    it('only an LDAP outpost can view users and groups; others get an empty list (internal service account)', async () => {
      const users = await get('/api/v3/core/users/', RADIUS_TOKEN);
      assert.equal(users.status, 200);
      assert.equal(users.json.pagination.count, 0);
      assert.equal((await get('/api/v3/core/groups/', RADIUS_TOKEN)).json.results.length, 0);
      const alice = core.admin.getUser('alice') as { pk: number };
      assert.equal((await get(`/api/v3/core/users/${alice.pk}/`, RADIUS_TOKEN)).status, 404);
      assert.equal((await get(`/api/v3/core/users/${alice.pk}/`, LDAP_TOKEN)).json.username, 'alice');
    });

    it('certificates: visible to the outpost whose provider uses them', async () => {
      const pk = (await get('/api/v3/outposts/ldap/', LDAP_TOKEN)).json.results[0].certificate;
      const kp = await get(`/api/v3/crypto/certificatekeypairs/${pk}/`, LDAP_TOKEN);
      assert.equal(kp.status, 200);
      assert.match(kp.json.fingerprint_sha256, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
      assert.match(kp.json.fingerprint_sha1, /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
      assert.equal(kp.json.cert_subject, 'CN=ldap.test.local');
      assert.equal(kp.json.private_key_type, 'ecdsa');
      const cert = await get(`/api/v3/crypto/certificatekeypairs/${pk}/view_certificate/`, LDAP_TOKEN);
      const x = new X509Certificate(cert.json.data);
      assert.equal(x.fingerprint256.toLowerCase(), kp.json.fingerprint_sha256);
      assert.match(x.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      const key = await get(`/api/v3/crypto/certificatekeypairs/${pk}/view_private_key/`, LDAP_TOKEN);
      assert.match(key.json.data, /^-----BEGIN PRIVATE KEY-----/);
      const dl = await get(`/api/v3/crypto/certificatekeypairs/${pk}/view_certificate/?download`, LDAP_TOKEN);
      assert.match(String(dl.headers['content-disposition']), /attachment/);
      assert.equal((await get(`/api/v3/crypto/certificatekeypairs/${pk}/`, RADIUS_TOKEN)).status, 404);
    });
  });

  describe('pagination', () => {
    it('page_size and page are honoured; next/previous are page numbers or 0', async () => {
      const all = await get('/api/v3/core/users/', LDAP_TOKEN);
      const count = all.json.pagination.count;
      assert.ok(count >= 14);
      const p1 = await get('/api/v3/core/users/?page_size=5', LDAP_TOKEN);
      assert.equal(p1.json.results.length, 5);
      assert.deepEqual(p1.json.pagination, { next: 2, previous: 0, count, current: 1, total_pages: Math.ceil(count / 5), start_index: 1, end_index: 5 });
      const last = Math.ceil(count / 5);
      const pl = await get(`/api/v3/core/users/?page_size=5&page=${last}`, LDAP_TOKEN);
      assert.equal(pl.json.pagination.next, 0);
      assert.equal(pl.json.pagination.previous, last - 1);
      assert.equal(pl.json.pagination.end_index, count);
      const walked: string[] = [];
      for (let page = 1; page > 0; ) {
        const res = await get(`/api/v3/core/users/?page_size=4&page=${page}`, LDAP_TOKEN);
        walked.push(...names(res));
        page = res.json.pagination.next;
      }
      assert.deepEqual(walked, names(all));
      assert.deepEqual([...walked].sort(), walked, 'ordered by username');
    });

    it('an out-of-range or malformed page is 404 Invalid page.', async () => {
      for (const q of ['page=999', 'page=0', 'page=abc']) {
        const res = await get(`/api/v3/core/users/?${q}`, LDAP_TOKEN);
        assert.equal(res.status, 404, q);
        assert.deepEqual(res.json, { detail: 'Invalid page.' });
      }
    });

    it('an empty list still has one page', async () => {
      const res = await get('/api/v3/core/users/?username=nobody', LDAP_TOKEN);
      assert.deepEqual(res.json.pagination, { next: 0, previous: 0, count: 0, current: 1, total_pages: 1, start_index: 0, end_index: 0 });
    });
  });

  describe('user filters', () => {
    const users = (q: string) => get(`/api/v3/core/users/?${q}`, LDAP_TOKEN);

    it('username, name and email are exact and case-sensitive', async () => {
      assert.deepEqual(names(await users('username=alice')), ['alice']);
      assert.deepEqual(names(await users('username=Alice')), []);
      assert.deepEqual(names(await users('name=Bob%20Example')), ['bob']);
      assert.deepEqual(names(await users('email=carol%40example.com')), ['carol']);
    });

    it('is_active, groups_by_name (direct members, repeatable), groups_by_pk', async () => {
      assert.deepEqual(names(await users('is_active=false')), ['carol']);
      assert.deepEqual(names(await users('groups_by_name=staff')), ['alice', 'bob', 'carol']);
      assert.deepEqual(names(await users('groups_by_name=staff&groups_by_name=authentik%20Admins')), ['akadmin', 'alice', 'bob', 'carol']);
      const vpn = (await get('/api/v3/core/groups/?name=vpn', LDAP_TOKEN)).json.results[0];
      const byPk = names(await users(`groups_by_pk=${vpn.pk}`));
      assert.deepEqual(byPk, names(await users('groups_by_name=vpn')));
      assert.ok(!byPk.includes('ivan'), 'members of child groups are not direct members');
    });

    it('unknown groups_by_name is a 400 like DRF', async () => {
      const res = await users('groups_by_name=staff&groups_by_name=nope');
      assert.equal(res.status, 400);
      assert.deepEqual(res.json, { groups_by_name: ['Select a valid choice. nope is not one of the available choices.'] });
      assert.equal((await users('groups_by_pk=not-a-uuid')).status, 400);
    });

    it('search, include_groups, is_superuser', async () => {
      assert.deepEqual(names(await users('search=alice%20example')), ['alice']);
      const noGroups = await users('username=alice&include_groups=false');
      assert.equal(noGroups.json.results[0].groups_obj, null);
      assert.equal(noGroups.json.results[0].groups.length, 2);
      const withGroups = await users('username=alice');
      assert.deepEqual(withGroups.json.results[0].groups_obj.map((g: { name: string }) => g.name).sort(), ['staff', 'vpn']);
      assert.deepEqual(names(await users('is_superuser=true')), ['akadmin']);
      const a = withGroups.json.results[0];
      assert.equal(a.is_superuser, false);
      assert.match(a.uid, /^[0-9a-f]{64}$/);
      assert.equal(a.attributes.homeDirectory, '/home/alice');
    });
  });

  describe('group filters', () => {
    const groups = (q: string) => get(`/api/v3/core/groups/?${q}`, LDAP_TOKEN);

    it('name, members_by_username, members_by_pk, include_users', async () => {
      assert.deepEqual(names(await groups('members_by_username=alice')), ['staff', 'vpn']);
      const alice = core.admin.getUser('alice') as { pk: number };
      assert.deepEqual(names(await groups(`members_by_pk=${alice.pk}`)), ['staff', 'vpn']);
      const staff = (await groups('name=staff')).json.results[0];
      assert.deepEqual(staff.users_obj.map((u: { username: string }) => u.username).sort(), ['alice', 'bob', 'carol']);
      assert.deepEqual(staff.attributes, { department: 'engineering' });
      assert.equal((await groups('name=staff&include_users=false')).json.results[0].users_obj, null);
      const child = (await groups('name=vpn-contractors')).json.results[0];
      assert.equal(child.parent_name, 'vpn');
      assert.equal(String(child.num_pk), BigInt(`0x${child.pk.replace(/-/g, '')}`).toString().slice(0, 5));
    });

    it('unknown members_by_username is a 400', async () => {
      const res = await groups('members_by_username=nobody');
      assert.equal(res.status, 400);
      assert.deepEqual(res.json, { members_by_username: ['Select a valid choice. nobody is not one of the available choices.'] });
    });
  });

  describe('routing', () => {
    it('unknown paths are 404 JSON; a missing trailing slash redirects; other methods are 405', async () => {
      assert.deepEqual((await get('/api/v3/nope/', LDAP_TOKEN)).json, { detail: 'Not found.' });
      const noSlash = await get('/api/v3/core/users?page=1', LDAP_TOKEN);
      assert.equal(noSlash.status, 301);
      assert.equal(noSlash.headers['location'], '/api/v3/core/users/?page=1');
      const post = await http(core.url, 'POST', '/api/v3/core/users/', { headers: bearer(LDAP_TOKEN), body: {} });
      assert.equal(post.status, 405);
      assert.deepEqual(post.json, { detail: 'Method "POST" not allowed.' });
    });

    it('bodies over 1 MiB are refused with 413', async () => {
      const res = await http(core.url, 'POST', '/api/v3/flows/executor/id-embedded-flow/', { rawBody: `{"x":"${'a'.repeat(1024 * 1024)}"}`, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 413);
    });
  });
});
