// authentik 2024.8+'s outpost access checks in 2026.8 mode: LDAP's has_search_permission from
// RBAC grants (object, global, through groups, superuser), RADIUS's attributes packet from
// property mappings (decoded here independently: by hand and with the `radius` package), and
// the admin API that changes both.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import radius from 'radius';
import { loadSeedFile, parseSeed, type DevCore } from '../../src/devcore/index.ts';
import { ADMIN_TOKEN, bearer, http, LDAP_TOKEN, loginAs, RADIUS_TOKEN, startTestCore, TEST_SEED, type FlowClient } from './helpers.ts';

const LDAP_CHECK = '/api/v3/outposts/ldap/1/check_access/?app_slug=test-ldap-app';
const RADIUS_CHECK = '/api/v3/outposts/radius/2/check_access/?app_slug=test-radius-app';
const SEARCH = 'authentik_providers_ldap.search_full_directory';

interface Packet {
  code: number;
  identifier: number;
  length: number;
  authenticator: Buffer;
  attributes: [number, Buffer][];
}

/** RFC 2865 §3 by hand: header, then type-length-value attributes. */
function parsePacket(b64: string): Packet {
  const b = Buffer.from(b64, 'base64');
  assert.ok(b.length >= 20, 'a packet has a 20-octet header');
  const length = b.readUInt16BE(2);
  assert.equal(length, b.length, 'the length field is the packet length');
  const attributes: [number, Buffer][] = [];
  for (let i = 20; i < length; ) {
    const len = b[i + 1] as number;
    assert.ok(len >= 2 && i + len <= length, `attribute at ${i} has a sane length`);
    attributes.push([b[i] as number, b.subarray(i + 2, i + len)]);
    i += len;
  }
  return { code: b[0] as number, identifier: b[1] as number, length, authenticator: b.subarray(4, 20), attributes };
}

describe('outpost check_access (2026.8)', () => {
  let core: DevCore;
  const admin = (method: string, path: string, body?: unknown) => http(core.url, method, `/_devcore${path}`, { headers: bearer(ADMIN_TOKEN), ...(body !== undefined ? { body } : {}) });
  const sessions = new Map<string, FlowClient>();
  /** A logged-in session per user, reused (grants are read on every check, not at login). */
  const as = async (username: string): Promise<FlowClient> => {
    let c = sessions.get(username);
    if (!c) sessions.set(username, (c = await loginAs(core.url, username, `${username}-password`)));
    return c;
  };
  const ldap = async (username: string, path = LDAP_CHECK) => (await (await as(username)).get(path)).json;

  before(async () => {
    const seed = loadSeedFile(TEST_SEED);
    core = await startTestCore({
      authentikVersion: '2026.8',
      seed: {
        ...seed,
        groups: [...seed.groups, { name: 'searchers', permissions: [{ permission: 'search_full_directory', provider: 'test-ldap-provider' }] }, { name: 'searchers-child', parent: 'searchers' }],
        users: [
          ...seed.users,
          { username: 'obj', password: 'obj-password', permissions: [{ permission: 'search_full_directory', provider: 'test-ldap-provider' }] },
          { username: 'glob', password: 'glob-password', permissions: [SEARCH] },
          { username: 'other', password: 'other-password', permissions: [{ permission: SEARCH, provider: 'test-ldap-unlisted-provider' }] },
          { username: 'grouped', password: 'grouped-password', groups: ['searchers-child'] },
          { username: 'vince', password: 'vince-password', groups: ['vpn-contractors'] },
        ],
        property_mappings: [
          {
            name: 'vlan',
            type: 'radius',
            groups: ['vpn'],
            attributes: [
              { name: 'Tunnel-Type', value: 'VLAN' },
              { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
              { name: 'Tunnel-Private-Group-Id', value: 42 },
            ],
          },
          {
            name: 'common',
            type: 'radius',
            attributes: [
              { name: 'Reply-Message', value: 'Welcome' },
              { name: 'Session-Timeout', value: 3600 },
              { vendor: 14122, vendor_type: 1, value: 'wispr' },
              { type: 200, hex: 'cafe' },
            ],
          },
        ],
        // Attached in this order; authentik evaluates them by name.
        providers: seed.providers.map((p) => (p.type === 'radius' ? { ...p, property_mappings: ['vlan', 'common'] } : p)),
      },
    });
  });
  after(() => core.close());

  describe('LDAP has_search_permission', () => {
    it('an object grant on the provider, a global grant, a parent group\'s grant, a superuser: yes', async () => {
      for (const u of ['obj', 'glob', 'grouped']) {
        assert.deepEqual(await ldap(u), { has_search_permission: true, access: { passing: true, messages: [], log_messages: [] } }, u);
      }
      const akadmin = await loginAs(core.url, 'akadmin', 'akadmin');
      assert.equal((await akadmin.get(LDAP_CHECK)).json.has_search_permission, true, 'superusers hold every permission');
    });

    it('no grant, or one on another provider: no (that provider is found without permission filtering)', async () => {
      assert.equal((await ldap('alice')).has_search_permission, false);
      assert.equal((await ldap('other')).has_search_permission, false);
      assert.equal((await ldap('other', '/api/v3/outposts/ldap/4/check_access/?app_slug=test-ldap-app')).has_search_permission, true);
    });

    it('access is the application\'s policy for the user', async () => {
      assert.equal((await ldap('erin', '/api/v3/outposts/ldap/1/check_access/?app_slug=test-radius-app')).access.passing, false);
      assert.equal((await ldap('alice', '/api/v3/outposts/ldap/1/check_access/?app_slug=test-radius-app')).access.passing, true);
    });

    it('grants and revokes over the admin API (in process and HTTP), for users and groups', async () => {
      core.admin.grantPermission({ username: 'alice', permission: 'search_full_directory', provider: 'test-ldap-provider' });
      assert.equal((await ldap('alice')).has_search_permission, true);
      core.admin.revokePermission({ username: 'alice', permission: SEARCH, provider: 'test-ldap-provider' });
      assert.equal((await ldap('alice')).has_search_permission, false, 'with or without the app label: the same grant');

      assert.equal((await admin('POST', '/permissions', { username: 'alice', permission: SEARCH })).status, 200);
      assert.equal((await ldap('alice')).has_search_permission, true);
      assert.equal((await admin('DELETE', '/permissions', { username: 'alice', permission: SEARCH })).status, 204);
      assert.equal((await ldap('alice')).has_search_permission, false);

      assert.equal((await admin('POST', '/permissions', { group: 'staff', permission: SEARCH, provider: 'test-ldap-provider' })).status, 200);
      assert.equal((await ldap('alice')).has_search_permission, true, 'alice is in staff');
      assert.equal((await admin('DELETE', '/permissions', { group: 'staff', permission: SEARCH, provider: 'test-ldap-provider' })).status, 204);
      assert.equal((await ldap('alice')).has_search_permission, false);

      core.admin.revokePermission({ group: 'searchers', permission: 'search_full_directory', provider: 'test-ldap-provider' });
      assert.equal((await ldap('grouped')).has_search_permission, false);
      core.admin.grantPermission({ group: 'searchers', permission: 'search_full_directory', provider: 'test-ldap-provider' });
      assert.equal((await ldap('grouped')).has_search_permission, true);
    });

    it('the admin API names what is wrong: unknown user, group or provider (404), a bad body (400)', async () => {
      const cases: [unknown, number, RegExp][] = [
        [{ username: 'nobody', permission: SEARCH }, 404, /unknown user "nobody"/],
        [{ group: 'nogroup', permission: SEARCH }, 404, /unknown group "nogroup"/],
        [{ username: 'alice', permission: SEARCH, provider: 'nope' }, 404, /unknown provider "nope"/],
        [{ username: 'alice', group: 'staff', permission: SEARCH }, 400, /exactly one of username and group/],
        [{ permission: SEARCH }, 400, /exactly one of username and group/],
        [{ username: 'alice', permission: 'search_full_directory' }, 400, /a global permission is "app_label\.codename"/],
        [{ username: 'alice', permission: 'authentik_providers_radius.search_full_directory', provider: 'test-ldap-provider' }, 400, /not of authentik_providers_ldap/],
        [{ username: 'alice', permission: SEARCH, colour: 'red' }, 400, /colour/],
      ];
      for (const [body, status, message] of cases) {
        const res = await admin('POST', '/permissions', body);
        assert.equal(res.status, status, JSON.stringify(body));
        assert.match(res.json.detail, message);
      }
      assert.throws(() => core.admin.grantPermission({ username: 'nobody', permission: SEARCH }), /unknown user "nobody"/);
    });

    it('the seed\'s grants are validated', () => {
      const base = { flows: [{ slug: 'f' }], providers: [{ type: 'ldap' as const, name: 'l', bind_flow: 'f' }] };
      assert.throws(() => parseSeed({ ...base, users: [{ username: 'u', permissions: [{ permission: SEARCH, provider: 'x' }] }] }), /users\.0\.permissions\.0\.provider: unknown provider "x"/);
      assert.throws(() => parseSeed({ ...base, groups: [{ name: 'g', permissions: ['search'] }] }), /groups\.0\.permissions\.0: a global permission is "app_label\.codename"/);
      assert.throws(() => parseSeed({ ...base, users: [{ username: 'u', permissions: [42] }] }), /users\.0\.permissions\.0: must be "app_label\.codename" or \{permission, provider\}/);
      assert.doesNotThrow(() => parseSeed({ ...base, users: [{ username: 'u', permissions: [SEARCH, { permission: 'search_full_directory', provider: 'l' }] }] }));
    });

    it('errors: unknown provider or application (404 with Django\'s message), no app_slug (500), anonymous (403)', async () => {
      const alice = await as('alice');
      const noProvider = await alice.get('/api/v3/outposts/ldap/999/check_access/?app_slug=test-ldap-app');
      assert.equal(noProvider.status, 404);
      assert.deepEqual(noProvider.json, { detail: 'No LDAPProvider matches the given query.' });
      assert.equal((await alice.get('/api/v3/outposts/ldap/2/check_access/?app_slug=test-ldap-app')).status, 404, 'pk 2 is a RADIUS provider');
      const noApp = await alice.get('/api/v3/outposts/ldap/1/check_access/?app_slug=nope');
      assert.deepEqual([noApp.status, noApp.json], [404, { detail: 'No Application matches the given query.' }]);
      assert.equal((await alice.get('/api/v3/outposts/ldap/1/check_access/')).status, 500);
      const anonymous = await http(core.url, 'GET', LDAP_CHECK);
      assert.deepEqual([anonymous.status, anonymous.json], [403, { detail: 'Authentication credentials were not provided.' }]);
      assert.equal((await http(core.url, 'POST', LDAP_CHECK, { headers: bearer(LDAP_TOKEN) })).status, 405);
    });

    it('a bearer token works too: the outpost\'s service account, with no grant', async () => {
      const res = await http(core.url, 'GET', LDAP_CHECK, { headers: bearer(LDAP_TOKEN) });
      assert.deepEqual(res.json, { has_search_permission: false, access: { passing: true, messages: [], log_messages: [] } });
    });
  });

  describe('RADIUS attributes', () => {
    it('a whole Access-Request packet: the applying mappings by name, their attributes in order', async () => {
      const res = await (await as('alice')).get(RADIUS_CHECK);
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.json), ['attributes', 'access']);
      assert.deepEqual(res.json.access, { passing: true, messages: [], log_messages: [] });
      const p = parsePacket(res.json.attributes);
      assert.equal(p.code, 1);
      assert.equal(p.identifier, 0);
      assert.equal(p.authenticator.length, 16);
      assert.deepEqual(
        p.attributes.map(([t, v]) => [t, v.toString('hex')]),
        [
          [18, Buffer.from('Welcome').toString('hex')], // common (sorts before vlan)
          [27, '00000e10'],
          [26, `0000372a0107${Buffer.from('wispr').toString('hex')}`],
          [200, 'cafe'],
          [64, '00' + '00000d'], // tag 0, VLAN (13) in three octets
          [65, '00' + '000006'], // tag 0, IEEE-802
          [81, Buffer.from('42').toString('hex')], // no tag given: none written
        ],
      );
      const decoded = radius.decode_without_secret({ packet: Buffer.from(res.json.attributes, 'base64') });
      assert.equal(decoded.code, 'Access-Request');
      assert.equal(decoded.attributes['Reply-Message'], 'Welcome');
      assert.equal(decoded.attributes['Session-Timeout'], 3600);
      assert.deepEqual(decoded.attributes['Tunnel-Type'], [0, 'VLAN']);
      assert.deepEqual(decoded.attributes['Tunnel-Medium-Type'], [0, 'IEEE-802']);
      assert.equal(decoded.attributes['Tunnel-Private-Group-Id'], '42');
      const other = parsePacket((await (await as('alice')).get(RADIUS_CHECK)).json.attributes);
      assert.notDeepEqual(other.authenticator, p.authenticator, 'a random authenticator each time');
    });

    it('group mappings reach members of child groups; others get only what applies to everybody', async () => {
      const vince = parsePacket((await (await as('vince')).get(RADIUS_CHECK)).json.attributes);
      assert.deepEqual(vince.attributes.map(([t]) => t), [18, 27, 26, 200, 64, 65, 81]);
      core.admin.setApplicationAccess('test-radius-app', null);
      try {
        const erin = parsePacket((await (await as('erin')).get(RADIUS_CHECK)).json.attributes);
        assert.deepEqual(erin.attributes.map(([t]) => t), [18, 27, 26, 200]);
        core.admin.setPropertyMapping('common', { type: 'radius', groups: ['staff'], attributes: [{ name: 'Reply-Message', value: 'staff only' }] });
        const none = parsePacket((await (await as('erin')).get(RADIUS_CHECK)).json.attributes);
        assert.equal(none.length, 20, 'passing with no mapping that applies: a bare header');
        assert.deepEqual(none.attributes, []);
      } finally {
        core.admin.setApplicationAccess('test-radius-app', ['vpn']);
      }
    });

    it('no access: attributes null (authentik computes them only for a passing check)', async () => {
      const res = await (await as('erin')).get(RADIUS_CHECK);
      assert.deepEqual(res.json, { attributes: null, access: { passing: false, messages: [], log_messages: [] } });
    });

    it('tags, vendor integers and raw packets; mappings set over HTTP and attached with a provider patch', async () => {
      const put = await admin('PUT', '/property-mappings/tagged', {
        type: 'radius',
        attributes: [
          { name: 'Tunnel-Type', value: 13, tag: 3 },
          { name: 'Tunnel-Private-Group-Id', value: 'blue', tag: 3 },
          { name: 'Framed-IP-Address', value: '10.1.2.3' },
          { vendor: 9, vendor_type: 2, value: 7 },
        ],
      });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      assert.equal((await admin('PATCH', '/providers/test-radius-provider', { property_mappings: ['tagged'] })).status, 200);
      const p = parsePacket((await (await as('alice')).get(RADIUS_CHECK)).json.attributes);
      assert.deepEqual(
        p.attributes.map(([t, v]) => [t, v.toString('hex')]),
        [
          [64, '03' + '00000d'],
          [81, '03' + Buffer.from('blue').toString('hex')],
          [8, '0a010203'],
          [26, '00000009' + '0206' + '00000007'],
        ],
      );
      const decoded = radius.decode_without_secret({ packet: Buffer.from((await (await as('alice')).get(RADIUS_CHECK)).json.attributes, 'base64') });
      assert.deepEqual(decoded.attributes['Tunnel-Private-Group-Id'], [3, 'blue']);
      assert.equal(decoded.attributes['Framed-IP-Address'], '10.1.2.3');

      assert.equal((await admin('PUT', '/property-mappings/raw', { type: 'radius', raw_packet_base64: 'not base64 at all' })).status, 200);
      core.admin.updateProvider('test-radius-provider', { property_mappings: ['tagged', 'raw'] });
      assert.equal((await (await as('alice')).get(RADIUS_CHECK)).json.attributes, 'not base64 at all', 'served exactly');
      core.admin.updateProvider('test-radius-provider', { property_mappings: ['vlan', 'common'] });
    });

    it('the admin API refuses what cannot be encoded or does not exist, naming it', async () => {
      const bad: [unknown, RegExp][] = [
        [{ type: 'radius', attributes: [{ name: 'Tunnel-Typo', value: 13 }] }, /unknown attribute "Tunnel-Typo"/],
        [{ type: 'radius', attributes: [{ name: 'Reply-Message', value: 'x', tag: 1 }] }, /Reply-Message takes no tag/],
        [{ type: 'radius', attributes: [{ name: 'Tunnel-Type', value: 0x1000000 }] }, /Tunnel-Type: 16777216 is not a whole number from 0 to 16777215/],
        [{ type: 'radius', attributes: [{ name: 'Tunnel-Type', value: 'VLAM' }] }, /"VLAM" is not a number nor a known value/],
        [{ type: 'radius', attributes: [{ name: 'Framed-IP-Address', value: '10.1.2' }] }, /not an IPv4 address/],
        [{ type: 'radius', attributes: [{ name: 'Reply-Message', value: 'x'.repeat(254) }] }, /254 octets, RADIUS allows 1 to 253/],
        [{ type: 'radius', attributes: [{ type: 300, hex: '00' }] }, /attributes\.0/],
        [{ type: 'radius', attributes: [{ type: 30, hex: 'abc' }] }, /attributes\.0\.hex: must be an even number of hex digits/],
        [{ type: 'radius', attributes: [{ value: 'x' }] }, /attributes\.0: must be \{name, value, tag\?\}, \{vendor, vendor_type, value\} or \{type, hex\}/],
        [{ type: 'ldap', attributes: [] }, /type/],
      ];
      for (const [body, message] of bad) {
        const res = await admin('PUT', '/property-mappings/broken', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match(res.json.detail, message);
      }
      const unknownGroup = await admin('PUT', '/property-mappings/broken', { type: 'radius', groups: ['nope'], attributes: [] });
      assert.deepEqual([unknownGroup.status, unknownGroup.json.detail], [404, 'unknown group "nope"']);
      const unknownMapping = await admin('PATCH', '/providers/test-radius-provider', { property_mappings: ['nope'] });
      assert.deepEqual([unknownMapping.status, unknownMapping.json.detail], [404, 'unknown property mapping "nope"']);
      assert.equal((await admin('PATCH', '/providers/test-ldap-provider', { property_mappings: [] })).status, 400, 'LDAP providers take none here');
      assert.throws(() => parseSeed({ flows: [{ slug: 'f' }], providers: [{ type: 'radius', name: 'r', auth_flow: 'f', shared_secret: 's', property_mappings: ['m'] }] }), /providers\.0\.property_mappings\.0: unknown property mapping "m"/);
      assert.throws(() => parseSeed({ property_mappings: [{ name: 'm', type: 'radius', groups: ['g'] }] }), /property_mappings\.0\.groups\.0: unknown group "g"/);
    });

    it('errors: unknown provider or application (404), anonymous (403); a bearer token is its account', async () => {
      const alice = await as('alice');
      assert.deepEqual((await alice.get('/api/v3/outposts/radius/1/check_access/?app_slug=test-radius-app')).json, { detail: 'No RadiusProvider matches the given query.' });
      assert.deepEqual((await alice.get('/api/v3/outposts/radius/2/check_access/?app_slug=nope')).json, { detail: 'No Application matches the given query.' });
      assert.equal((await http(core.url, 'GET', RADIUS_CHECK)).status, 403);
      const token = await http(core.url, 'GET', RADIUS_CHECK, { headers: bearer(RADIUS_TOKEN) });
      assert.deepEqual(token.json, { attributes: null, access: { passing: false, messages: [], log_messages: [] } }, 'the service account is in no group');
    });
  });
});
