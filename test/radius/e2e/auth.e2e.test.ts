// The whole RADIUS outpost against the development core, driven by FreeRADIUS's radclient:
// PAP through the provider's flow, MFA codes, the application's access policy, what gets no
// reply, Message-Authenticator in every reply, Proxy-State, metrics, logs, refreshes. The same
// cases against a core of each API generation (2024.4; 2026.8, which has the 2024.8 API), side
// by side. Reply attributes from property mappings are in attributes.e2e.test.ts.
//
// Message-Authenticator *policies* (yes / auto / limit_proxy_state) are in policy.e2e.test.ts;
// this outpost runs with REQUIRE_MESSAGE_AUTHENTICATOR=no so that one test sending a
// Message-Authenticator does not switch 127.0.0.1 to "MA required" for the others (`auto`).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { totpCode } from '../../../src/devcore/index.ts';
import { AttributeType, RadiusCode, decodePacket, textAttribute } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import {
  APP,
  AUTHENTIK_VERSIONS,
  BOB_TOTP_SECRET,
  DROPPED,
  DURATION,
  IGNORED,
  OUTPOST_NAME,
  OUTPOST_TOKEN,
  PASSWORDS,
  PROVIDER,
  REJECTED,
  SECRET,
  UdpClient,
  accessRequest,
  assertNoReply,
  assertReply,
  checkReply,
  flowRequests,
  flowRuns,
  radclient,
  startRadiusOutpost,
  type AuthentikVersion,
  type RadiusOutpost,
} from './support.ts';

const WRONG_PASSWORD = 'Wr0ng-Pa55word-xyzzy';
const NEW_SECRET = 'rotated-radius-secret-42';
/** Every secret a test sends; none may appear in a log line. */
const SECRETS_SENT = new Set<string>([SECRET, NEW_SECRET, WRONG_PASSWORD, ...Object.values(PASSWORDS), 'stat1234', 'stat5678']);

// Each generation's outpost and core run side by side; the tests against each run in order.
describe('the RADIUS outpost', { concurrency: true }, () => {
  for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`authentik ${authentikVersion}`, { concurrency: 1 }, () => suite(authentikVersion));
});

function suite(authentikVersion: AuthentikVersion): void {
  const CODES_SENT = new Set<string>();

  let o: RadiusOutpost;
  let udp: UdpClient;

  before(async () => {
    o = await startRadiusOutpost({
      authentikVersion,
      env: { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'no', AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'no' },
      // bob has a TOTP device; the application admits group vpn only.
      beforeStart: (core) => core.admin.addMember('vpn', 'bob'),
    });
    udp = await UdpClient.open();
  });
  after(async () => {
    await udp?.close();
    await o?.stop();
  });

  const auth = (pairs: string, secret = SECRET) => radclient(o.target, 'auth', secret, pairs);
  const rejected = (reason: string) => o.metric(REJECTED, { outpost_name: OUTPOST_NAME, app: APP, reason });

  describe('PAP through the flow (radclient)', () => {
    it('accepts alice (in vpn) with her password; the reply is MA only', async () => {
      const r = await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`);
      assertReply(r, 'Access-Accept');
      assert.deepEqual(r.attributes.map(([n]) => n), ['Message-Authenticator']);
      assert.equal(r.length, 38, '20-byte header + Message-Authenticator (authentik sends 20 bytes, no MA: deliberate)');
    });

    it('rejects a wrong password (reason flow_error)', async () => {
      const before = await rejected('flow_error');
      const r = await auth(`User-Name=alice,User-Password=${WRONG_PASSWORD}`);
      assertReply(r, 'Access-Reject');
      assert.deepEqual(r.attributes.map(([n]) => n), ['Message-Authenticator'], 'no Reply-Message: the NAS learns nothing');
      assert.equal(await rejected('flow_error'), before + 1);
    });

    it('rejects an unknown user', async () => {
      assertReply(await auth(`User-Name=nobody-here,User-Password=${PASSWORDS.alice}`), 'Access-Reject');
    });

    it('rejects a valid user the application does not admit (reason access_denied)', async () => {
      const before = await rejected('access_denied');
      const r = await auth(`User-Name=erin,User-Password=${PASSWORDS.erin}`);
      assertReply(r, 'Access-Reject');
      assert.equal(await rejected('access_denied'), before + 1);
      assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'Access denied for user' && l['username'] === 'erin'));
    });

    it('rejects when the access check answers an error other than "core unavailable" (reason access_check_fail)', async () => {
      const before = await rejected('access_check_fail');
      o.core.admin.setFaults({ pathPrefix: o.checkAccessPath, failStatus: 403, failCount: 1 });
      try {
        assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`), 'Access-Reject');
      } finally {
        o.core.admin.clearFaults();
      }
      assert.equal(await rejected('access_check_fail'), before + 1);
    });

    it('rejects an inactive user (carol, in vpn, with her right password)', async () => {
      assertReply(await auth(`User-Name=carol,User-Password=${PASSWORDS.carol}`), 'Access-Reject');
    });

    it('MFA: password;TOTP → Accept; a wrong code → Reject; no code → Reject', async () => {
      const good = totpCode(BOB_TOTP_SECRET);
      const wrong = String((Number(good) + 500_000) % 1_000_000).padStart(6, '0');
      CODES_SENT.add(good).add(wrong);
      assertReply(await auth(`User-Name=bob,User-Password="${PASSWORDS.bob};${wrong}"`), 'Access-Reject');
      assertReply(await auth(`User-Name=bob,User-Password=${PASSWORDS.bob}`), 'Access-Reject');
      assertReply(await auth(`User-Name=bob,User-Password="${PASSWORDS.bob};${good}"`), 'Access-Accept');
      // The core refuses a TOTP code twice: proves the code really went to the authenticator stage.
      assertReply(await auth(`User-Name=bob,User-Password="${PASSWORDS.bob};${good}"`), 'Access-Reject');
    });

    it('MFA: password;static token → Accept, and the token is used up', async () => {
      assertReply(await auth(`User-Name=dave,User-Password="${PASSWORDS.dave};stat1234"`), 'Access-Accept');
      assertReply(await auth(`User-Name=dave,User-Password="${PASSWORDS.dave};stat1234"`), 'Access-Reject');
      assertReply(await auth(`User-Name=dave,User-Password="${PASSWORDS.dave};stat5678"`), 'Access-Accept');
    });

    it('CHAP → Access-Reject with a Reply-Message saying only PAP is supported, without asking the core', async () => {
      const since = o.core.admin.requests().length;
      const before = await rejected('unsupported_method');
      const r = await auth(`User-Name=alice,CHAP-Password=${PASSWORDS.alice}`);
      assertReply(r, 'Access-Reject');
      const msg = r.attributes.find(([n]) => n === 'Reply-Message')?.[1] ?? '';
      assert.match(msg, /only PAP is supported/i);
      assert.equal(flowRuns(o.core, since), 0, 'no flow run for a method we cannot check');
      assert.equal(await rejected('unsupported_method'), before + 1);
    });

    it('rejects requests without User-Password or User-Name (no crash)', async () => {
      assertReply(await auth('User-Name=alice,NAS-Identifier=nas1'), 'Access-Reject');
      assertReply(await auth(`User-Password=${PASSWORDS.alice}`), 'Access-Reject');
      assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`), 'Access-Accept');
    });

    it('echoes Proxy-State attributes in order, after the first-placed MA', async () => {
      for (const [pw, code] of [[PASSWORDS.alice, 'Access-Accept'], [WRONG_PASSWORD, 'Access-Reject']] as const) {
        const r = await auth(`User-Name=alice,User-Password=${pw},Message-Authenticator=0x00,Proxy-State=0x01,Proxy-State=0x0203`);
        assertReply(r, code);
        assert.deepEqual(r.attributes.slice(1), [['Proxy-State', '0x01'], ['Proxy-State', '0x0203']]);
      }
    });

    it('flow calls carry the NAS address as X-authentik-remote-ip, the outpost token and the RADIUS query', async () => {
      const since = o.core.admin.requests().length;
      // Sent from 127.0.0.9: the NAS address is what authentik sees as the client.
      assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice},Packet-Src-IP-Address=127.0.0.9`), 'Access-Accept');
      const reqs = flowRequests(o.core, since);
      assert.ok(reqs.length >= 2, `a GET and at least one POST: ${reqs.map((x) => x.method).join(',')}`);
      for (const x of reqs) {
        assert.equal(x.path, '/api/v3/flows/executor/radius-test-flow/');
        assert.equal(x.headers['x-authentik-remote-ip'], '127.0.0.9');
        assert.equal(x.headers['x-authentik-outpost-token'], OUTPOST_TOKEN);
        assert.equal(x.rawQuery, 'query=goauthentik.io%252Foutpost%252Fradius%3Dtrue');
      }
      assert.equal(reqs[0]!.method, 'GET');
      const access = o.core.admin.requests().slice(since).filter((x) => x.path.endsWith('/check_access/'));
      assert.deepEqual(access.map((x) => x.path), [o.checkAccessPath], 'the access check of this generation ran once');
      assert.equal(access[0]!.headers['x-authentik-remote-ip'], '127.0.0.9');
      assert.ok(access[0]!.headers['cookie']?.includes('authentik_session='), 'as the user the flow logged in');
      if (authentikVersion !== '2024.4') assert.deepEqual(access[0]!.query, { app_slug: APP });
    });
  });

  describe('Message-Authenticator in every reply (our codec)', () => {
    it('Accept and Reject, with and without MA in the request, carry a valid MA first and a valid Response Authenticator', async () => {
      for (const messageAuthenticator of [false, true]) {
        for (const [password, code] of [[PASSWORDS.alice, RadiusCode.accessAccept], [WRONG_PASSWORD, RadiusCode.accessReject]] as const) {
          const req = accessRequest({ user: 'alice', password, messageAuthenticator });
          const reply = checkReply(await udp.exchange(req.packet, o.port), req);
          assert.equal(reply.code, code, `MA in request: ${messageAuthenticator}`);
        }
      }
    });

    it('a wrong shared secret without MA → Access-Reject (the password decrypts to garbage), signed with the real secret', async () => {
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice, secret: 'not-the-secret' });
      const reply = checkReply(await udp.exchange(req.packet, o.port), req, SECRET);
      assert.equal(reply.code, RadiusCode.accessReject);
    });
  });

  describe('EAP (not supported)', () => {
    const eapIdentity = { type: AttributeType.eapMessage, value: Buffer.from([2, 1, 0, 10, 1, 0x61, 0x6c, 0x69, 0x63, 0x65]) };

    it('EAP-Message with MA → Access-Reject saying only PAP is supported', async () => {
      const req = accessRequest({ user: 'alice', messageAuthenticator: true, attributes: [eapIdentity] });
      const reply = checkReply(await udp.exchange(req.packet, o.port), req);
      assert.equal(reply.code, RadiusCode.accessReject);
      const msg = reply.attributes.find((a) => a.type === AttributeType.replyMessage)?.value.toString();
      assert.match(msg ?? '', /only PAP is supported/i);
    });

    it('EAP-Message without MA → no reply (RFC 3579), counted as a missing MA even with the policy off', async () => {
      const before = await o.metric(DROPPED, { reason: 'missing_message_authenticator' });
      const req = accessRequest({ user: 'alice', attributes: [eapIdentity] });
      await udp.send(req.packet, o.port);
      await waitFor('the drop', async () => (await o.metric(DROPPED, { reason: 'missing_message_authenticator' })) === before + 1);
      assert.equal(await udp.next(300), undefined);
      assert.equal(await o.metric(DROPPED, { reason: 'proxy_state_without_message_authenticator' }), 0);
    });
  });

  describe('what gets no reply (radclient -r 1 -t 2)', { concurrency: true }, () => {
    it('a wrong shared secret WITH Message-Authenticator → no reply, counted', async () => {
      const before = await o.metric(DROPPED, { reason: 'bad_message_authenticator' });
      assertNoReply(await radclient(o.target, 'auth', 'not-the-secret', `User-Name=alice,User-Password=${PASSWORDS.alice},Message-Authenticator=0x00`, { noReply: true }));
      assert.equal(await o.metric(DROPPED, { reason: 'bad_message_authenticator' }), before + 1);
    });

    it('Accounting-Request → no reply (as authentik), counted as ignored', async () => {
      const before = await o.metric(IGNORED, { code: 'Accounting-Request' });
      assertNoReply(await radclient(o.target, 'acct', SECRET, 'User-Name=alice,Acct-Status-Type=Start,Acct-Session-Id=abc', { noReply: true }));
      assert.equal(await o.metric(IGNORED, { code: 'Accounting-Request' }), before + 1);
      assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'Radius Request' && l['code'] === 'Accounting-Request'), 'logged like authentik does');
    });

    it('Status-Server without Message-Authenticator → no reply (RFC 5997 requires one)', async () => {
      const before = await o.metric(DROPPED, { reason: 'missing_message_authenticator' });
      assertNoReply(await radclient(o.target, 'status', SECRET, 'NAS-Identifier=probe', { noReply: true }));
      assert.equal(await o.metric(DROPPED, { reason: 'missing_message_authenticator' }), before + 1);
    });

    it('Status-Server with Message-Authenticator → Access-Accept (authentik ignores Status-Server: deliberate)', async () => {
      const since = o.core.admin.requests().length;
      const r = await radclient(o.target, 'status', SECRET, 'Message-Authenticator=0x00');
      assertReply(r, 'Access-Accept');
      assert.equal(flowRuns(o.core, since), 0, 'Status-Server does not run a flow');
      assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'Radius Request' && l['code'] === 'Status-Server'));
    });
  });

  describe('metrics', () => {
    it('observe request durations in seconds per app, and rejections by reason', async () => {
      const labels = { outpost_name: OUTPOST_NAME, app: APP };
      const count0 = await o.metric(`${DURATION}_count`, labels);
      const sum0 = await o.metric(`${DURATION}_sum`, labels);
      const t0 = performance.now();
      assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`), 'Access-Accept');
      assertReply(await auth(`User-Name=alice,User-Password=${WRONG_PASSWORD}`), 'Access-Reject');
      const elapsed = (performance.now() - t0) / 1000;
      assert.equal(await o.metric(`${DURATION}_count`, labels), count0 + 2);
      const added = (await o.metric(`${DURATION}_sum`, labels)) - sum0;
      assert.ok(added > 0 && added <= elapsed, `durations in seconds: +${added} s within ${elapsed} s`);
      assert.ok((await o.metric(`${DURATION}_bucket`, { ...labels, le: '+Inf' })) >= 2);
      const text = await (await fetch(`${o.metricsUrl}/metrics`)).text();
      // authentik's labels, exactly: outpost_name, reason, app.
      const sample = text.split('\n').find((l) => l.startsWith(`${REJECTED}{`) && l.includes('reason="flow_error"'));
      assert.ok(sample, text);
      const names = [...sample.matchAll(/(\w+)="/g)].map((m) => m[1]).sort();
      assert.deepEqual(names, ['app', 'outpost_name', 'reason']);
      const ping = await fetch(`${o.metricsUrl}/outpost.goauthentik.io/ping`);
      assert.equal(ping.status, 204);
    });
  });

  describe('provider changes (refresh)', () => {
    const restore = async () => {
      o.core.admin.updateProvider(PROVIDER, { client_networks: '127.0.0.0/8, ::1/128', shared_secret: SECRET, auth_flow: 'radius-test-flow' });
      await o.refresh();
    };

    it('a client outside every client_networks gets no reply, counted and logged', async () => {
      o.core.admin.updateProvider(PROVIDER, { client_networks: '10.0.0.0/8' });
      await o.refresh();
      try {
        const before = await o.metric(DROPPED, { reason: 'unknown_client' });
        const since = o.core.admin.requests().length;
        assertNoReply(await radclient(o.target, 'auth', SECRET, `User-Name=alice,User-Password=${PASSWORDS.alice}`, { noReply: true }));
        assert.equal(await o.metric(DROPPED, { reason: 'unknown_client' }), before + 1);
        assert.equal(flowRuns(o.core, since), 0);
        assert.ok(o.outpost.logs.lines.some((l) => l['event'] === 'No matching prefixes found' && l['ip'] === '127.0.0.1'));
      } finally {
        await restore();
      }
      assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`), 'Access-Accept');
    });

    it('an invalid client_networks entry is logged and skipped; the others still work', async () => {
      o.core.admin.updateProvider(PROVIDER, { client_networks: 'not-a-cidr, 127.0.0.0/8' });
      await o.refresh();
      try {
        const bad = o.outpost.logs.lines.find((l) => l['level'] === 'error' && /Failed to parse CIDR/.test(String(l['event'])));
        assert.ok(bad, 'the bad entry is logged at error level');
        assert.equal(bad['cidr'], 'not-a-cidr');
        assert.equal(bad['provider'], PROVIDER);
        assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`), 'Access-Accept');
      } finally {
        await restore();
      }
    });

    it('a new shared secret works after a refresh, and the old one no longer does', async () => {
      o.core.admin.updateProvider(PROVIDER, { shared_secret: NEW_SECRET });
      await o.refresh();
      try {
        assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`, NEW_SECRET), 'Access-Accept');
        // The old secret: the reply is signed with the new one, so check it with our codec.
        const old = accessRequest({ user: 'alice', password: PASSWORDS.alice, secret: SECRET });
        const reply = checkReply(await udp.exchange(old.packet, o.port), old, NEW_SECRET);
        assert.equal(reply.code, RadiusCode.accessReject, 'the old secret garbles the password');
      } finally {
        await restore();
      }
      assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`), 'Access-Accept');
    });

    it('a flow ending in a deny stage → Reject with reason invalid_credentials', async () => {
      o.core.admin.updateProvider(PROVIDER, { auth_flow: 'deny-flow' });
      await o.refresh();
      try {
        const before = await rejected('invalid_credentials');
        assertReply(await auth(`User-Name=alice,User-Password=${PASSWORDS.alice}`), 'Access-Reject');
        assert.equal(await rejected('invalid_credentials'), before + 1);
      } finally {
        await restore();
      }
    });

    it('a pushed update (websocket) is picked up without an explicit refresh', async () => {
      o.core.admin.updateProvider(PROVIDER, { shared_secret: NEW_SECRET });
      try {
        await waitFor('the pushed secret', async () => {
          const req = accessRequest({ user: 'alice', password: PASSWORDS.alice, secret: NEW_SECRET });
          const reply = await udp.exchange(req.packet, o.port, '127.0.0.1', 1000);
          const d = reply && decodePacket(reply);
          return d && d.ok && d.packet.code === RadiusCode.accessAccept;
        });
      } finally {
        await restore();
      }
    });
  });

  describe('logs', () => {
    it('log every request and never a password, a code or the shared secret', async () => {
      // One more request with attributes that must not be echoed into logs either.
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice, attributes: [textAttribute(AttributeType.nasIdentifier, 'nas-log-test')] });
      checkReply(await udp.exchange(req.packet, o.port), req);
      const raw = o.outpost.logs.raw;
      const requests = o.outpost.logs.lines.filter((l) => l['event'] === 'Radius Request');
      assert.ok(requests.length >= 10, 'one "Radius Request" line per request');
      for (const l of requests) {
        assert.equal(l['logger'], 'authentik.outpost.radius');
        assert.ok(['Access-Request', 'Accounting-Request', 'Status-Server'].includes(String(l['code'])), String(l['code']));
        assert.match(String(l['request']), /^[0-9a-f-]{36}$/);
      }
      for (const s of SECRETS_SENT) {
        const hits = raw.filter((line) => line.includes(s));
        assert.deepEqual(hits, [], `"${s}" appears in the logs`);
      }
      assert.ok(CODES_SENT.size >= 2, 'the MFA test ran first');
      for (const code of CODES_SENT) {
        const re = new RegExp(`(?<![0-9a-fA-F])${code}(?![0-9a-fA-F])`);
        assert.deepEqual(raw.filter((line) => re.test(line)), [], `TOTP code ${code} appears in the logs`);
      }
    });
  });
}
