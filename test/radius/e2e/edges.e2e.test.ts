// Requests at the edges of what the outpost serves, read back with FreeRADIUS's radclient and
// our codec: the Access-Reject to an EAP request carries EAP-Failure (RFC 3579 §2.6.3);
// an Access-Request with two User-Names or two passwords is malformed and dropped (RFC 2865,
// RFC 3579), never authenticated for one name while the NAS reads another; Disconnect- and
// CoA-Requests (RFC 5176), which only a NAS serves, are authenticated, logged and counted.
// authentik's outpost sends no EAP-Message in that Reject, takes the first User-Name and
// password of whatever arrives, and logs Disconnect/CoA as "Radius Request" only. None of this
// asks the core anything: one generation suffices.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AttributeType, RadiusCode, encodeRequest, textAttribute, userPasswordAttribute } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { DROPPED, IGNORED, PASSWORDS, SECRET, UdpClient, accessRequest, assertNoReply, assertReply, checkReply, flowRuns, radclient, startRadiusOutpost, type RadiusOutpost } from './support.ts';

/** An EAP-Response/Identity "alice" with EAP Identifier 0x2a. */
const EAP_IDENTITY = '0x022a000a01616c696365';

let o: RadiusOutpost;
before(async () => {
  // No `auto`: these tests send Message-Authenticators from 127.0.0.1 and want no side effect.
  o = await startRadiusOutpost({ env: { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'no', AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'no' } });
});
after(() => o?.stop());

describe('EAP (not served)', () => {
  it('the Access-Reject carries EAP-Failure for the request\'s EAP Identifier, after the Message-Authenticator (radclient)', async () => {
    const since = o.core.admin.requests().length;
    const r = await radclient(o.target, 'auth', SECRET, `User-Name=alice,EAP-Message=${EAP_IDENTITY},Message-Authenticator=0x00`);
    assertReply(r, 'Access-Reject');
    assert.deepEqual(r.attributes.filter(([n]) => n === 'EAP-Message'), [['EAP-Message', '0x042a0004']], r.stdout);
    assert.match(r.attributes.find(([n]) => n === 'Reply-Message')?.[1] ?? '', /only PAP is supported/i);
    assert.equal(flowRuns(o.core, since), 0);
  });

  it('the same with our codec, with the EAP packet split over two EAP-Messages', async () => {
    const udp = await UdpClient.open();
    try {
      const eap = Buffer.from(EAP_IDENTITY.slice(2), 'hex');
      eap[1] = 0xc3;
      const req = accessRequest({
        user: 'alice',
        messageAuthenticator: true,
        attributes: [
          { type: AttributeType.eapMessage, value: eap.subarray(0, 3) },
          { type: AttributeType.eapMessage, value: eap.subarray(3) },
        ],
      });
      const reply = checkReply(await udp.exchange(req.packet, o.port), req);
      assert.equal(reply.code, RadiusCode.accessReject);
      assert.deepEqual(
        reply.attributes.filter((a) => a.type === AttributeType.eapMessage).map((a) => a.value.toString('hex')),
        ['04c30004'],
        'one EAP-Message: EAP-Failure, identifier 0xc3, length 4',
      );
    } finally {
      await udp.close();
    }
  });

  it('a PAP Reject carries no EAP-Message', async () => {
    const r = await radclient(o.target, 'auth', SECRET, 'User-Name=alice,User-Password=wrong-password');
    assertReply(r, 'Access-Reject');
    assert.deepEqual(r.attributes.filter(([n]) => n === 'EAP-Message'), []);
  });
});

describe('credentials allowed once only (RFC 2865)', () => {
  it('two User-Names, two User-Passwords, or User-Password with CHAP-Password → no reply, no flow, counted and logged without the values', async () => {
    const udp = await UdpClient.open('127.0.0.2');
    try {
      const since = o.core.admin.requests().length;
      const before = await o.metric(DROPPED, { reason: 'multiple_credentials' });
      const auth = Buffer.alloc(16, 0x5a);
      const cases = [
        accessRequest({ user: 'alice', password: PASSWORDS.alice, authenticator: auth, identifier: 1, attributes: [textAttribute(AttributeType.userName, 'mallory')] }),
        accessRequest({ user: 'alice', password: PASSWORDS.alice, authenticator: auth, identifier: 2, attributes: [userPasswordAttribute('second-password', SECRET, auth)] }),
        accessRequest({ user: 'alice', password: PASSWORDS.alice, authenticator: auth, identifier: 3, attributes: [{ type: AttributeType.chapPassword, value: Buffer.alloc(17, 1) }] }),
      ];
      for (const c of cases) await udp.send(c.packet, o.port);
      await waitFor('three drops', async () => (await o.metric(DROPPED, { reason: 'multiple_credentials' })) === before + 3);
      assert.equal(await udp.next(300), undefined, 'no reply to any');
      assert.equal(flowRuns(o.core, since), 0, 'nothing was authenticated');
      const line = o.outpost.logs.lines.find((l) => l['reason'] === 'multiple_credentials' && l['ip'] === '127.0.0.2');
      assert.ok(line, 'a warning names the reason and the client');
      assert.match(String(line['event']), /^malformed Access-Request dropped: 2 User-Name attributes/);
      assert.ok(!o.outpost.logs.raw.some((l) => l.includes('mallory') || l.includes('second-password')), 'no value is logged');
      // One of each is served as usual.
      const good = accessRequest({ user: 'alice', password: PASSWORDS.alice });
      assert.equal(checkReply(await udp.exchange(good.packet, o.port), good).code, RadiusCode.accessAccept);
    } finally {
      await udp.close();
    }
  });

  it('radclient with two User-Names gets no reply', async () => {
    const before = await o.metric(DROPPED, { reason: 'multiple_credentials' });
    assertNoReply(await radclient(o.target, 'auth', SECRET, `User-Name=alice,User-Name=bob,User-Password=${PASSWORDS.alice}`, { noReply: true }));
    assert.equal(await o.metric(DROPPED, { reason: 'multiple_credentials' }), before + 1);
  });
});

describe('Dynamic Authorization (RFC 5176), which only a NAS serves', () => {
  for (const [code, name] of [[RadiusCode.disconnectRequest, 'Disconnect-Request'], [RadiusCode.coaRequest, 'CoA-Request']] as const) {
    it(`${name}: authentic → logged ("Radius Request" and a warning that nothing happened), counted, no reply; a forged one → dropped`, async () => {
      const udp = await UdpClient.open('127.0.0.3');
      try {
        const ignored0 = await o.metric(IGNORED, { code: name });
        const bad0 = await o.metric(DROPPED, { reason: 'bad_request_authenticator' });
        const attributes = [textAttribute(AttributeType.userName, 'alice'), textAttribute(AttributeType.acctSessionId, 'sess-1')];
        await udp.send(encodeRequest({ code, identifier: 9, secret: SECRET, attributes }), o.port);
        await udp.send(encodeRequest({ code, identifier: 10, secret: 'not-the-secret', attributes }), o.port);
        await waitFor('counted', async () => (await o.metric(IGNORED, { code: name })) === ignored0 + 1 && (await o.metric(DROPPED, { reason: 'bad_request_authenticator' })) === bad0 + 1);
        assert.equal(await udp.next(300), undefined, 'no reply');
        const lines = o.outpost.logs.lines;
        assert.ok(lines.some((l) => l['event'] === 'Radius Request' && l['code'] === name && l['client'] === '127.0.0.3'), 'authentik\'s line');
        const warning = lines.find((l) => l['level'] === 'warning' && l['code'] === name && l['ip'] === '127.0.0.3');
        assert.ok(warning, 'a warning that nothing was done');
        assert.match(String(warning['event']), new RegExp(`^${name} ignored: this outpost does not serve Dynamic Authorization`));
      } finally {
        await udp.close();
      }
    });
  }
});
