// Reply attributes from the provider's property mappings (authentik 2024.8+): the outpost
// check_access answers them as a base64 RADIUS packet whose attributes go into the
// Access-Accept, in order, read back here by FreeRADIUS's radclient. Per user (a mapping can
// apply to a group only), never on a Reject, never a Message-Authenticator or Proxy-State from
// the core, and failing closed (Access-Reject) on anything that is not a usable packet. A
// 2024.4 core has no mappings: its Accept carries none.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DevCore } from '../../../src/devcore/index.ts';
import { APP, OUTPOST_NAME, PASSWORDS, PROVIDER, REJECTED, SECRET, assertReply, devcoreAdmin, radclient, startRadiusOutpost, type RadclientResult, type RadiusOutpost } from './support.ts';

/** A user the application admits (through `staff`) who is not in `vpn`. */
const PAT = { username: 'pat', password: 'pat-password' } as const;
const ALICE = `User-Name=alice,User-Password=${PASSWORDS.alice}`;
const PATS = `User-Name=${PAT.username},User-Password=${PAT.password}`;

/** For everybody: a Cisco AV-pair, Class, Session-Timeout, Filter-Id, Reply-Message. */
const NAS_DEFAULTS = {
  type: 'radius',
  attributes: [
    { vendor: 9, vendor_type: 1, value: 'shell:priv-lvl=15' },
    { name: 'Class', value: 'staff-class' },
    { name: 'Session-Timeout', value: 3600 },
    { name: 'Filter-Id', value: 'acl-staff' },
    { name: 'Reply-Message', value: 'Welcome' },
  ],
};
/** Members of vpn: VLAN 42 (RFC 3580), tagged 1. */
const VLAN_42 = {
  type: 'radius',
  groups: ['vpn'],
  attributes: [
    { name: 'Tunnel-Type', value: 'VLAN', tag: 1 },
    { name: 'Tunnel-Medium-Type', value: 'IEEE-802', tag: 1 },
    { name: 'Tunnel-Private-Group-Id', value: '42', tag: 1 },
  ],
};
/** What radclient prints for them (mappings run in name order, as authentik runs them). */
const NAS_DEFAULTS_PRINTED = [
  ['Cisco-AVPair', '"shell:priv-lvl=15"'],
  ['Class', `0x${Buffer.from('staff-class').toString('hex')}`],
  ['Session-Timeout', '3600'],
  ['Filter-Id', '"acl-staff"'],
  ['Reply-Message', '"Welcome"'],
];
const VLAN_42_PRINTED = [
  ['Tunnel-Type:1', 'VLAN'],
  ['Tunnel-Medium-Type:1', 'IEEE-802'],
  ['Tunnel-Private-Group-Id:1', '"42"'],
];

/** Mappings of raw attributes totalling `bytes` on the wire (Class, 255 bytes at most each). */
function rawMapping(bytes: number): object {
  const attributes: { type: number; hex: string }[] = [];
  for (let left = bytes; left > 0; ) {
    const size = left > 255 && left - 255 < 3 ? 200 : Math.min(255, left);
    attributes.push({ type: 25, hex: 'ab'.repeat(size - 2) });
    left -= size;
  }
  return { type: 'radius', attributes };
}

async function setMappings(core: DevCore, mappings: Record<string, object>, onProvider = Object.keys(mappings)): Promise<void> {
  for (const [name, mapping] of Object.entries(mappings)) await devcoreAdmin(core, 'PUT', `/property-mappings/${encodeURIComponent(name)}`, mapping);
  await devcoreAdmin(core, 'PATCH', `/providers/${encodeURIComponent(PROVIDER)}`, { property_mappings: onProvider });
}

async function prepare(core: DevCore): Promise<void> {
  core.admin.addUser({ username: PAT.username, password: PAT.password, groups: ['staff'] });
  core.admin.setApplicationAccess(APP, ['vpn', 'staff']);
  await setMappings(core, { 'nas-defaults': NAS_DEFAULTS, 'vlan-42': VLAN_42 });
}

/** The reply's attributes after the first (asserted to be our Message-Authenticator). */
const mapped = (r: RadclientResult) => r.attributes.slice(1).map(([n, v]) => [n, v]);

// The two outposts run side by side; the tests against each one run in order.
describe('reply attributes from property mappings', { concurrency: true }, () => {
  describe('authentik 2026.8', { concurrency: 1 }, () => {
    let o: RadiusOutpost;
    before(async () => {
      o = await startRadiusOutpost({ authentikVersion: '2026.8', beforeStart: prepare });
    });
    after(() => o?.stop());

    const auth = (pairs: string) => radclient(o.target, 'auth', SECRET, pairs);
    const rejected = (reason: string) => o.metric(REJECTED, { outpost_name: OUTPOST_NAME, app: APP, reason });
    const restore = () => setMappings(o.core, { 'nas-defaults': NAS_DEFAULTS, 'vlan-42': VLAN_42 });

    it('alice (in vpn): VLAN 42 with its tags, the Cisco AV-pair and the rest, in order, after our Message-Authenticator', async () => {
      const r = await auth(ALICE);
      assertReply(r, 'Access-Accept');
      assert.deepEqual(mapped(r), [...NAS_DEFAULTS_PRINTED, ...VLAN_42_PRINTED]);
      const access = o.core.admin.requests().filter((x) => x.path.endsWith('/check_access/'));
      assert.ok(access.length > 0 && access.every((x) => x.path === o.checkAccessPath), 'the provider\'s access check, not the application\'s');
    });

    it('per user: pat (admitted, not in vpn) gets the mapping for everybody and no VLAN', async () => {
      const r = await auth(PATS);
      assertReply(r, 'Access-Accept');
      assert.deepEqual(mapped(r), NAS_DEFAULTS_PRINTED);
    });

    it('a user the application refuses gets a bare Reject: attributes never go on a Reject', async () => {
      const before = await rejected('access_denied');
      const r = await auth(`User-Name=erin,User-Password=${PASSWORDS.erin}`);
      assertReply(r, 'Access-Reject');
      assert.deepEqual(mapped(r), []);
      assert.equal(await rejected('access_denied'), before + 1);
    });

    it('a Message-Authenticator or Proxy-State from a mapping is left out (and logged); the request\'s Proxy-State is echoed', async () => {
      await setMappings(o.core, { sneaky: { type: 'radius', attributes: [{ type: 80, hex: '00'.repeat(16) }, { type: 33, hex: 'abcd' }, { name: 'Filter-Id', value: 'kept' }] } });
      try {
        const r = await auth(`${ALICE},Proxy-State=0x01`);
        assertReply(r, 'Access-Accept');
        assert.deepEqual(mapped(r), [['Filter-Id', '"kept"'], ['Proxy-State', '0x01']]);
        const warned = o.outpost.logs.lines.find((l) => l['event'] === 'left out attributes from core that only the server may set');
        assert.deepEqual(warned?.['ignored'], ['Message-Authenticator', 'Proxy-State']);
      } finally {
        await restore();
      }
    });

    it('attributes that are not base64 → Access-Reject (reason attribute_decode_failed), one warning without the value', async () => {
      const raw = 'VLAN=42 (not base64!)';
      await setMappings(o.core, { broken: { type: 'radius', attributes: [], raw_packet_base64: raw } });
      try {
        const before = await rejected('attribute_decode_failed');
        const lines = o.outpost.logs.lines.length;
        const r = await auth(ALICE);
        assertReply(r, 'Access-Reject');
        assert.deepEqual(mapped(r), []);
        assert.equal(await rejected('attribute_decode_failed'), before + 1);
        const logged = o.outpost.logs.lines.slice(lines).filter((l) => l['event'] === 'failed to decode attributes from core');
        assert.equal(logged.length, 1);
        assert.equal(logged[0]!['username'], 'alice');
        assert.equal(logged[0]!['reason'], 'attribute_decode_failed');
        assert.deepEqual(o.outpost.logs.raw.filter((l) => l.includes(raw)), [], 'the value is not logged');
      } finally {
        await restore();
      }
    });

    it('base64 of something that is not a RADIUS packet → Access-Reject (reason attribute_parse_failed)', async () => {
      const raw = Buffer.from('Tunnel-Private-Group-Id=42').toString('base64');
      await setMappings(o.core, { broken: { type: 'radius', attributes: [], raw_packet_base64: raw } });
      try {
        const before = await rejected('attribute_parse_failed');
        const r = await auth(ALICE);
        assertReply(r, 'Access-Reject');
        assert.equal(await rejected('attribute_parse_failed'), before + 1);
        assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'failed to parse attributes from core' && l['username'] === 'alice'));
        assert.deepEqual(o.outpost.logs.raw.filter((l) => l.includes(raw)), []);
      } finally {
        await restore();
      }
    });

    it('a property mapping that fails on the core (attributes null, access passing) → Access-Reject (reason attributes_missing)', async () => {
      await setMappings(o.core, { 'nas-defaults': NAS_DEFAULTS, 'vlan-42': { ...VLAN_42, error: 'NameError: name "vlan" is not defined' } });
      try {
        const before = await rejected('attributes_missing');
        assertReply(await auth(ALICE), 'Access-Reject');
        assert.equal(await rejected('attributes_missing'), before + 1);
        assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'no attributes from core: a property mapping failed' && l['username'] === 'alice'));
        // The failing mapping is vpn's only: pat, outside vpn, still gets the working one.
        assertReply(await auth(PATS), 'Access-Accept');
      } finally {
        await restore();
      }
    });

    it('mappings that make a 4096-byte Accept are sent whole; 7 bytes more → Access-Reject (reason attributes_too_large)', async () => {
      // The Accept is 20 (header) + 18 (Message-Authenticator) + the mapped attributes.
      await setMappings(o.core, { big: rawMapping(4096 - 38) });
      try {
        const r = await auth(ALICE);
        assertReply(r, 'Access-Accept');
        assert.equal(r.length, 4096);
        assert.equal(mapped(r).length, 16);
        assert.ok(mapped(r).every(([n]) => n === 'Class'));
      } finally {
        await restore();
      }
      await setMappings(o.core, { bigger: rawMapping(4096 - 38 + 7) });
      try {
        const before = await rejected('attributes_too_large');
        const r = await auth(ALICE);
        assertReply(r, 'Access-Reject');
        assert.deepEqual(mapped(r), []);
        assert.equal(await rejected('attributes_too_large'), before + 1);
        assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'attributes from core do not fit in an Access-Accept' && l['reason'] === 'attributes_too_large'));
      } finally {
        await restore();
      }
      assert.deepEqual(mapped(await auth(ALICE)), [...NAS_DEFAULTS_PRINTED, ...VLAN_42_PRINTED], 'served again once the mappings fit');
    });
  });

  describe('authentik 2024.4 (no property mappings in its API)', { concurrency: 1 }, () => {
    let o: RadiusOutpost;
    before(async () => {
      o = await startRadiusOutpost({ authentikVersion: '2024.4', beforeStart: prepare });
    });
    after(() => o?.stop());

    it('the same mappings configured: the Accept carries none (the application\'s access check answers no attributes)', async () => {
      for (const pairs of [ALICE, PATS]) {
        const r = await radclient(o.target, 'auth', SECRET, pairs);
        assertReply(r, 'Access-Accept');
        assert.deepEqual(mapped(r), []);
        assert.equal(r.length, 38);
      }
      const access = o.core.admin.requests().filter((x) => x.path.endsWith('/check_access/'));
      assert.ok(access.length > 0 && access.every((x) => x.path === `/api/v3/core/applications/${APP}/check_access/`));
    });
  });
});
